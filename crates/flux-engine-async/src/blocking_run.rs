//! The blocking run: the kernel's [`Engine`] trait, so that code generic
//! over engines takes the tokio engine too. It drives the async run to its
//! end on a runtime the engine owns.

use flux_core::{Engine, ExecutionPlan, Runnable};
use tokio::runtime::{Handle, Runtime};

use crate::{AsyncEngine, RunError, RunErrorKind, RunReport};

/// The runtime an engine's blocking runs go on: given
/// ([`AsyncEngine::with_runtime`]), or built for the first one and kept
/// for the next. Shut down without waiting when the engine is dropped, so
/// that dropping an engine never blocks, also inside async code (where a
/// runtime's plain drop panics).
pub(crate) struct OwnRuntime(Option<Runtime>);

impl OwnRuntime {
    /// A multi-thread runtime with its drivers on, as `flux-cli` builds
    /// its own, and tokio's default of a worker per core.
    fn build() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        Ok(OwnRuntime(Some(runtime)))
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.as_ref().expect("taken only on drop").block_on(future)
    }
}

impl std::fmt::Debug for OwnRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flavor = self.0.as_ref().map(|runtime| runtime.handle().runtime_flavor());
        f.debug_tuple("OwnRuntime").field(&flavor).finish()
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl AsyncEngine {
    /// Gives the engine the runtime its blocking runs go on
    /// ([`Engine::run`]): one built to suit, such as a current-thread
    /// runtime on tokio's paused time for tests. Without one, the engine
    /// builds a multi-thread runtime (a worker per core) for its first
    /// blocking run, and keeps it for the next. Either is shut down,
    /// without waiting, when the engine is dropped. The async
    /// [`run`](AsyncEngine::run) does not use it: it runs on the runtime
    /// it is awaited on.
    ///
    /// # Examples
    ///
    /// ```
    /// use flux_core::{Engine, Runnable};
    /// use flux_engine_async::AsyncEngine;
    /// use flux_plan::Planner;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?;
    /// let mut engine = AsyncEngine::new().with_runtime(runtime);
    /// let out = VecSink::new();
    /// let pipeline = flux_core::Pipeline::from_source(IterSource::new(1..=3u32)).sink(out.clone());
    /// let plan = Planner::new().plan(pipeline.describe())?;
    /// let report = Engine::run(&mut engine, &plan, pipeline)?;
    /// assert_eq!(out.payloads(), [1, 2, 3]);
    /// assert_eq!(report.elapsed, std::time::Duration::ZERO, "paused time: nothing waited");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(OwnRuntime(Some(runtime)));
        self
    }
}

/// The tokio engine as a blocking engine: the same run as the async
/// [`run`](AsyncEngine::run), driven to its end on the engine's own
/// runtime ([`AsyncEngine::with_runtime`]), from a thread outside every
/// tokio runtime. It reports as the async run does.
///
/// Which `run` a method call means depends on the receiver: on an
/// `AsyncEngine` (or `&AsyncEngine`) `engine.run(..)` is the async one,
/// but on a `&mut AsyncEngine` with [`Engine`] in scope it is this one (an
/// `.await` after it then fails to compile). Say which:
/// `Engine::run(&mut engine, ..)`, or `AsyncEngine::run(&engine, ..)`.
///
/// # Examples
///
/// The same generic function runs a pipeline on either engine:
///
/// ```
/// use flux_core::{Engine, Pipeline, Runnable};
/// use flux_engine_async::AsyncEngine;
/// use flux_engine_sync::SyncEngine;
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// fn tenfold<E: Engine>(engine: &mut E) -> Vec<u32> {
///     let out = VecSink::new();
///     let pipeline = Pipeline::from_source(IterSource::new(1..=4u32)).map(|n| n * 10).sink(out.clone());
///     let plan = Planner::new().plan(pipeline.describe()).unwrap();
///     engine.run(&plan, pipeline).unwrap();
///     out.payloads()
/// }
///
/// assert_eq!(tenfold(&mut SyncEngine::new()), [10, 20, 30, 40]);
/// assert_eq!(tenfold(&mut AsyncEngine::new()), [10, 20, 30, 40]);
/// ```
impl Engine for AsyncEngine {
    type Report = RunReport;
    type Error = RunError;

    /// Runs `pipeline` as `plan` says on the engine's runtime, blocking
    /// this thread until the run has ended.
    ///
    /// # Errors
    ///
    /// As the async [`run`](AsyncEngine::run); and, before anything runs
    /// (the pipeline is dropped unread), [`RunErrorKind::InsideRuntime`]
    /// when this thread is inside a tokio runtime, or
    /// [`RunErrorKind::Runtime`] when the runtime could not be built.
    ///
    /// Inside a runtime it refuses rather than blocks. tokio panics when a
    /// runtime's `block_on` is called there, and
    /// `tokio::task::block_in_place`, the usual way around it, panics on a
    /// current-thread runtime (`#[tokio::test]`'s and many `main`s') and on
    /// a multi-thread one holds a worker's thread for the whole run, where
    /// awaiting the async `run` holds none. tokio does not say whether a
    /// thread that has its context may block (a `spawn_blocking` task's
    /// may), so every such thread is refused: there, await the async
    /// `run`, or `Handle::block_on` it from a `spawn_blocking` task.
    fn run<P: Runnable>(&mut self, plan: &ExecutionPlan, pipeline: P) -> Result<RunReport, RunError> {
        if Handle::try_current().is_ok() {
            return Err(RunError::new(RunErrorKind::InsideRuntime, None));
        }
        let runtime = match self.runtime.take() {
            Some(runtime) => runtime,
            None => OwnRuntime::build().map_err(|error| RunError::new(RunErrorKind::Runtime(error), None))?,
        };
        let outcome = runtime.block_on(AsyncEngine::run(self, plan, pipeline));
        self.runtime = Some(runtime);
        outcome
    }
}

//! The trait every engine implements.

use crate::{ExecutionPlan, Runnable};

/// Runs a planned pipeline.
///
/// The same pipeline value runs on every engine with no change to user code:
/// an engine assembles it against the plan (see [`Runnable::assemble`]),
/// drives its segments, and returns a report that includes the ledger.
///
/// What an engine does, in order (as `flux-engine-sync`, the reference
/// engine, does on one thread with a virtual clock):
///
/// 1. assembles the pipeline with its own [`Channels`](crate::Channels),
///    one channel per boundary of the plan;
/// 2. steps the segments ([`Segment::step`](crate::Segment::step), through
///    [`catch_step`](crate::catch_step) so that a panic in user code is
///    settled at its stage), collecting what they divert in its
///    [`Diversions`](crate::Diversions);
/// 3. moves its [`Clock`](crate::Clock) to the next deadline or source
///    wait when nothing can run, and fires timers there;
/// 4. once a segment's input has ended, fires the deadlines it must wait
///    for at the end, then finishes it (which closes its channel, and
///    lets the next segment end);
/// 5. on a failure ([`Context::fail`](crate::Context::fail)), stops
///    pulling from the source and still finishes every segment, so sinks
///    close and nothing held is lost silently;
/// 6. at stop, takes every stage's ledger ([`Segment::visit`](crate::Segment::visit)),
///    checks that it balances, and checks its watched pools
///    ([`LeakCheck`](crate::LeakCheck)).
///
/// # Examples
///
/// The smallest engine: it runs plans without boundaries or waits, on the
/// calling thread, and reports the dead letters.
///
/// ```
/// use flux_core::*;
/// use flux_steps::Steps;
/// use flux_test::{Diverted, IterSource, VecSink};
///
/// struct Inline;
///
/// #[derive(Debug)]
/// struct Stopped(String);
///
/// impl std::fmt::Display for Stopped {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str(&self.0)
///     }
/// }
///
/// impl std::error::Error for Stopped {}
///
/// struct NoChannels;
/// impl Channels for NoChannels {
///     fn open<T: Send + 'static>(&mut self, _: usize, _: &EdgeSpec)
///         -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) { unreachable!("checked: no boundaries") }
/// }
///
/// impl Engine for Inline {
///     type Report = Diverted;
///     type Error = Stopped;
///
///     fn run<P: Runnable>(&mut self, plan: &ExecutionPlan, pipeline: P) -> Result<Diverted, Stopped> {
///         if plan.segments().len() != 1 {
///             return Err(Stopped("this engine runs plans without boundaries".into()));
///         }
///         let mut segments = pipeline.assemble(plan, &mut NoChannels).map_err(|e| Stopped(e.to_string()))?;
///         let mut diverted = Diverted::default();
///         let mut cx = Context::new(Instant::ZERO, &mut diverted);
///         loop {
///             match catch_step(&mut *segments[0], &mut cx) {
///                 Ok(Step::Progress) => {}
///                 Ok(Step::Exhausted) => break,
///                 Ok(Step::Failed(error)) => {
///                     cx.fail(error);
///                     break;
///                 }
///                 Ok(_) => return Err(Stopped("this engine has no clock to wait on".into())),
///                 Err(_) => return Err(Stopped("the source panicked".into())),
///             }
///         }
///         segments[0].finish(&mut cx); // also after a failure: the sink is closed
///         match diverted.failures.first() {
///             Some(failure) => Err(Stopped(failure.to_string())),
///             None => Ok(diverted),
///         }
///     }
/// }
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(["4", "x", "6"]))
///     .try_map(|s: &str| s.parse::<u32>())
///     .named("parse")
///     .sink(out.clone());
/// let plan = ExecutionPlan::draft(pipeline.describe());
/// let report = Inline.run(&plan, pipeline)?;
/// assert_eq!(out.payloads(), vec![4, 6]);
/// assert_eq!(report.dead_letters[0].error.to_string(), "stage `parse` failed at sequence 1");
/// # Ok::<(), Stopped>(())
/// ```
pub trait Engine {
    /// What a successful run reports: at least every stage's ledger, and
    /// the dead letters and side outputs (or their counts).
    type Report;
    /// Why a run failed: a plan that does not fit, the first failure, an
    /// unbalanced ledger or a leak. A failed run's error may carry the
    /// report as it stood, as the sync engine's does.
    type Error: std::error::Error;

    /// Runs `pipeline` as `plan` says, until its source ends or it fails.
    ///
    /// The plan must have been made from this pipeline's
    /// [`describe`](Runnable::describe) (by a planner, or
    /// [`ExecutionPlan::draft`]); assembly refuses any other.
    ///
    /// # Errors
    ///
    /// The plan does not fit the pipeline, a stage failed fatally, the
    /// ledger does not balance, or a buffer leaked.
    fn run<P: Runnable>(&mut self, plan: &ExecutionPlan, pipeline: P) -> Result<Self::Report, Self::Error>;
}

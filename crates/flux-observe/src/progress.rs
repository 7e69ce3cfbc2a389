//! `Progress`: how far a run has come, for a progress bar.

use core::fmt;
use core::time::Duration;
use std::sync::{Mutex, PoisonError};

use flux_core::{ExecutionPlan, Instant, Observer, StageId, StageLedger};

/// An [`Observer`] that follows what the source has read and the sink has
/// written, for an application to poll while the run goes ([`Progress::now`]):
/// counts, rates per second of real time and, given the input's size in
/// records ([`Progress::of`]) or in bytes ([`Progress::with_bytes`], for a
/// file whose record count is not known before it is read), the share done
/// and the time left.
///
/// Figures move once per engine step (a source's read of up to 1,024
/// envelopes), so polling a few times a second is plenty.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// use flux_core::{Pipeline, Runnable};
/// use flux_engine_sync::SyncEngine;
/// use flux_observe::Progress;
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// let progress = Arc::new(Progress::of(10_000));
/// let pipeline = Pipeline::from_source(IterSource::new(0..10_000u32)).filter(|n| n % 2 == 0).sink(VecSink::new());
/// let plan = Planner::new().plan(pipeline.describe())?;
/// let _report = SyncEngine::new().with_observer(progress.clone()).run(&plan, pipeline)?;
///
/// let done = progress.now();
/// assert_eq!((done.read, done.written, done.share_done()), (10_000, 5_000, Some(1.0)));
/// assert!(done.finished);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct Progress {
    total: Option<u64>,
    bytes: Option<KnownBytes>,
    /// Told the figures whenever they move.
    listener: Option<Box<dyn Fn(ProgressFigures) + Send + Sync>>,
    /// Held while the listener is told, so that engine threads tell it in
    /// the order the figures moved.
    telling: Mutex<()>,
    state: Mutex<State>,
}

/// The input's size in bytes, and how to read how many the source has read.
struct KnownBytes {
    total: u64,
    read: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("total", &self.total)
            .field("bytes_total", &self.bytes.as_ref().map(|bytes| bytes.total))
            .field("listener", &self.listener.is_some())
            .field("state", &self.state)
            .finish()
    }
}

#[derive(Debug, Default)]
struct State {
    source: Option<StageId>,
    sink: Option<StageId>,
    read: u64,
    written: u64,
    started: Option<std::time::Instant>,
    ended: Option<std::time::Instant>,
}

impl Progress {
    /// Progress of an input of unknown size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Progress of an input of `records` records: with a share done and
    /// the time left.
    pub fn of(records: u64) -> Self {
        Progress { total: Some(records), ..Self::default() }
    }

    /// Follows the bytes read of an input of `total` bytes, as `read`
    /// reports them (a framed source's `stats().get().bytes_read`, say):
    /// the share done and the time left then come from bytes, which a file
    /// knows before it is read, rather than records, which it does not.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// use flux_observe::Progress;
    ///
    /// let read = Arc::new(AtomicU64::new(0));
    /// let counter = read.clone();
    /// let progress = Progress::new().with_bytes(1_000, move || counter.load(Ordering::Relaxed));
    /// read.store(250, Ordering::Relaxed);
    /// let now = progress.now();
    /// assert_eq!((now.bytes_read, now.bytes_total, now.share_done()), (Some(250), Some(1_000), Some(0.25)));
    /// ```
    #[must_use]
    pub fn with_bytes(mut self, total: u64, read: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.bytes = Some(KnownBytes { total, read: Box::new(read) });
        self
    }

    /// Calls `listener` with the figures each time they move (after an
    /// engine step that read or wrote something, and at the end), from the
    /// engine's thread: for an application that would rather be told than
    /// poll (a progress bar's `set_position`, a channel's `send`). Keep it
    /// short; the run waits for it.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_engine_sync::SyncEngine;
    /// use flux_observe::Progress;
    /// use flux_plan::Planner;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let told = Arc::new(Mutex::new(Vec::new()));
    /// let log = told.clone();
    /// let progress = Progress::of(3_000).subscribe(move |now| log.lock().unwrap().push((now.read, now.finished)));
    /// let pipeline = Pipeline::from_source(IterSource::new(0..3_000u32)).sink(VecSink::new());
    /// let plan = Planner::new().plan(pipeline.describe())?;
    /// let _report = SyncEngine::new().with_observer(Arc::new(progress)).run(&plan, pipeline)?;
    ///
    /// let told = told.lock().unwrap();
    /// assert_eq!(told.first(), Some(&(1_024, false)), "after the first step");
    /// assert_eq!(told.last(), Some(&(3_000, true)), "and at the end");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn subscribe(mut self, listener: impl Fn(ProgressFigures) + Send + Sync + 'static) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// Tells the listener, if there is one, the figures now.
    fn tell(&self) {
        if let Some(listener) = &self.listener {
            let _in_order = self.telling.lock().unwrap_or_else(PoisonError::into_inner);
            listener(self.now());
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How far the run has come.
    pub fn now(&self) -> ProgressFigures {
        let state = self.state();
        let elapsed = match (state.started, state.ended) {
            (Some(started), Some(ended)) => ended.duration_since(started),
            (Some(started), None) => wall_clock().duration_since(started),
            (None, _) => Duration::ZERO,
        };
        ProgressFigures {
            read: state.read,
            written: state.written,
            total: self.total,
            bytes_read: self.bytes.as_ref().map(|bytes| (bytes.read)()),
            bytes_total: self.bytes.as_ref().map(|bytes| bytes.total),
            elapsed,
            finished: state.ended.is_some(),
        }
    }
}

impl Observer for Progress {
    fn on_start(&self, plan: &ExecutionPlan) {
        let mut state = self.state();
        *state = State {
            source: plan.stages.first().map(|stage| stage.id.clone()),
            sink: plan.stages.last().map(|stage| stage.id.clone()),
            started: Some(wall_clock()),
            ..State::default()
        };
    }

    fn on_counts(&self, stage: &StageId, counted: &StageLedger, _now: Instant) {
        let moved = {
            let mut state = self.state();
            let before = (state.read, state.written);
            if state.source.as_ref() == Some(stage) {
                state.read = counted.created;
            }
            if state.sink.as_ref() == Some(stage) {
                state.written = counted.consumed;
            }
            (state.read, state.written) != before
        };
        // Told with the lock released: the listener may poll too.
        if moved {
            self.tell();
        }
    }

    fn on_stop(&self, _now: Instant) {
        self.state().ended = Some(wall_clock());
        self.tell();
    }
}

/// Real time, for rates and the time left: never a stage's time.
#[allow(clippy::disallowed_methods, reason = "a progress bar's real time, not a stage's")]
fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}

/// How far a run has come ([`Progress::now`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProgressFigures {
    /// Records the source has read.
    pub read: u64,
    /// Records the sink has written.
    pub written: u64,
    /// The input's size in records, when known.
    pub total: Option<u64>,
    /// Bytes the source has read, when followed ([`Progress::with_bytes`]).
    pub bytes_read: Option<u64>,
    /// The input's size in bytes, when followed.
    pub bytes_total: Option<u64>,
    /// Real time since the run started (to its end, once ended).
    pub elapsed: Duration,
    /// Whether the run has ended.
    pub finished: bool,
}

impl ProgressFigures {
    /// Records read per second of real time, over the run so far.
    pub fn read_per_second(&self) -> f64 {
        self.read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Records written per second of real time, over the run so far.
    pub fn written_per_second(&self) -> f64 {
        self.written as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The share of the input read, 0.0 to 1.0, when its size is known:
    /// in bytes when they are followed, else in records.
    pub fn share_done(&self) -> Option<f64> {
        let (done, total) = self.done_of_total()?;
        Some(if total == 0 { 1.0 } else { (done as f64 / total as f64).min(1.0) })
    }

    /// What the share is figured from: bytes read of their total, or
    /// records read of theirs.
    fn done_of_total(&self) -> Option<(u64, u64)> {
        match (self.bytes_read, self.bytes_total) {
            (Some(read), Some(total)) => Some((read, total)),
            _ => self.total.map(|total| (self.read, total)),
        }
    }

    /// The time left at the rate so far, when the input's size is known
    /// and something has been read.
    pub fn time_left(&self) -> Option<Duration> {
        let (done, total) = self.done_of_total()?;
        let left = total.saturating_sub(done);
        if left == 0 {
            return Some(Duration::ZERO);
        }
        let per_unit = self.elapsed.as_secs_f64() / done.max(1) as f64;
        (done > 0).then(|| Duration::from_secs_f64(left as f64 * per_unit))
    }
}

impl fmt::Display for ProgressFigures {
    /// `4096 of 10000 read (41%), 4096 written, 1.2e6 a second, 3 s left`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.bytes_read, self.bytes_total, self.total, self.share_done()) {
            (Some(bytes), Some(of), _, Some(share)) => {
                let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
                write!(
                    f,
                    "{:.1} of {:.1} MiB read ({:.0}%), {} records",
                    mib(bytes),
                    mib(of),
                    share * 100.0,
                    self.read
                )?;
            }
            (_, _, Some(total), Some(share)) => write!(f, "{} of {total} read ({:.0}%)", self.read, share * 100.0)?,
            _ => write!(f, "{} read", self.read)?,
        }
        write!(f, ", {} written, {:.3e} a second", self.written, self.read_per_second())?;
        match (self.finished, self.time_left()) {
            (true, _) => write!(f, ", done in {:.1} s", self.elapsed.as_secs_f64()),
            (false, Some(left)) => write!(f, ", {:.0} s left", left.as_secs_f64().ceil()),
            (false, None) => Ok(()),
        }
    }
}

//! Decision points, the hook that makes them, and the trace that records them.

use flux_core::Instant;

/// A point where the engine chose what happens next.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Decision {
    /// The source segment was stepped (it pulls up to a step's budget of envelopes).
    Pull {
        /// Engine time.
        at: Instant,
    },
    /// A batch was sent across the boundary after stage `junction`.
    Send {
        /// The junction.
        junction: usize,
        /// Envelopes in the batch.
        envelopes: usize,
        /// Batches queued after the send, including this one.
        depth: usize,
        /// Engine time.
        at: Instant,
    },
    /// The segment after the boundary `junction` received a batch (or the close).
    Receive {
        /// The junction.
        junction: usize,
        /// Engine time.
        at: Instant,
    },
    /// Nothing could run at this instant: segments fired what was due and
    /// flushed half-full batches before time moved on.
    Idle {
        /// Engine time.
        at: Instant,
    },
    /// The clock moved to the instant the source asked to be pulled again
    /// (or, on event time, the event time of the next envelope it read),
    /// with no timer due then.
    Wake {
        /// Engine time.
        at: Instant,
    },
    /// Timers fired.
    Timer {
        /// The deadline that fired (the engine time).
        at: Instant,
    },
    /// The run began to stop (a failure): the source is not pulled again,
    /// and what is inside the pipeline drains to the sinks.
    Stop {
        /// Engine time.
        at: Instant,
    },
}

/// Chooses which runnable segment steps next, and sees every decision.
///
/// The default, [`DownstreamFirst`], always steps the segment closest to
/// the sink, which keeps every queue as short as possible. A schedule
/// controller can choose otherwise to explore interleavings; since the run
/// is otherwise deterministic, the same choices replay the same run.
pub trait ScheduleHook: Send {
    /// Picks one of `runnable` (segment indexes in pipeline order, never empty).
    fn choose(&mut self, runnable: &[usize], now: Instant) -> usize;

    /// Sees each decision as it is made.
    fn observe(&mut self, decision: &Decision) {
        let _ = decision;
    }
}

/// Steps the most downstream runnable segment first.
#[derive(Clone, Copy, Debug, Default)]
pub struct DownstreamFirst;

impl ScheduleHook for DownstreamFirst {
    fn choose(&mut self, runnable: &[usize], _now: Instant) -> usize {
        runnable[runnable.len() - 1]
    }
}

/// Steps the most upstream runnable segment first: queues fill up to (and
/// past) their capacity, which shows backpressure in the counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct UpstreamFirst;

impl ScheduleHook for UpstreamFirst {
    fn choose(&mut self, runnable: &[usize], _now: Instant) -> usize {
        runnable[0]
    }
}

/// Chooses pseudo-randomly from a seed: the same seed replays the same schedule.
///
/// The generator is SplitMix64, chosen because it is tiny, has no state
/// beyond one word, and is good enough to spread choices.
#[derive(Clone, Copy, Debug)]
pub struct Seeded {
    state: u64,
}

impl Seeded {
    /// A schedule drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Seeded { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl ScheduleHook for Seeded {
    fn choose(&mut self, runnable: &[usize], _now: Instant) -> usize {
        let len = runnable.len() as u64;
        runnable[(self.next() % len) as usize]
    }
}

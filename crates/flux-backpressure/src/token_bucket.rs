//! Rate shaping: at most so many envelopes per second, with a burst.

use core::time::Duration;

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

/// Shapes a boundary to `rate` envelopes per second of engine time,
/// letting `burst` envelopes through at once after a quiet spell.
///
/// Each batch reserves its envelopes' share of time when it is offered
/// (the generic cell-rate form of a token bucket); one that would go over
/// the rate is held until the instant it fits, and the segment before the
/// boundary waits meanwhile. On the sync engine that time is virtual: a
/// shaped run of an hour takes no real time, and the instants are exact.
///
/// # Examples
///
/// ```
/// use flux_backpressure::TokenBucket;
/// use flux_core::{Admission, BackpressurePolicy, Instant, Pressure};
///
/// // 1,000 envelopes a second, bursts of 100: batches of 100 go every 100 ms.
/// let mut bucket = TokenBucket::per_second(1_000, 100);
/// let idle = Pressure::default();
/// assert_eq!(bucket.admit(100, &idle, Instant::ZERO), Admission::Now);
/// assert_eq!(bucket.admit(100, &idle, Instant::ZERO), Admission::At(Instant::from_millis(100)));
/// assert_eq!(bucket.admit(100, &idle, Instant::ZERO), Admission::At(Instant::from_millis(200)));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    /// Engine time one envelope takes at the rate.
    per_envelope: Duration,
    /// How far ahead of now the reservations may run before a batch waits.
    burst: Duration,
    /// When the reservations made so far end.
    reserved_until: Instant,
    edge: EdgeSpec,
}

impl TokenBucket {
    /// At most `rate` envelopes a second (at least one), `burst` of them at
    /// once (at least one batch's worth is always let through: a batch is
    /// never split).
    pub fn per_second(rate: u64, burst: u64) -> Self {
        let per_envelope = Duration::from_nanos(1_000_000_000 / rate.max(1));
        let batch_size = EdgeSpec::default().batch_size.min(usize::try_from(burst.max(1)).unwrap_or(usize::MAX));
        TokenBucket {
            per_envelope,
            burst: per_envelope.saturating_mul(u32::try_from(burst).unwrap_or(u32::MAX)),
            reserved_until: Instant::ZERO,
            edge: EdgeSpec { batch_size, ..EdgeSpec::default() },
        }
    }
}

impl BackpressurePolicy for TokenBucket {
    fn name(&self) -> &'static str {
        "token-bucket"
    }

    fn edge(&self) -> EdgeSpec {
        self.edge
    }

    fn admit(&mut self, batch: usize, _pressure: &Pressure, now: Instant) -> Admission {
        let start = self.reserved_until.max(now);
        let cost = self.per_envelope.saturating_mul(u32::try_from(batch).unwrap_or(u32::MAX));
        self.reserved_until = start + cost;
        // The batch may go once its reservation ends within a burst of now.
        let go = Instant::from_nanos((start + cost).as_nanos().saturating_sub(duration_nanos(self.burst)));
        match go > now {
            true => Admission::At(go),
            false => Admission::Now,
        }
    }
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

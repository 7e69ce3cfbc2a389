//! Time as the engine sees it.
//!
//! Stages never read the wall clock: they read [`Context::now`](crate::Context::now),
//! which the engine fills from its [`Clock`]. The sync engine's clock is
//! virtual and moves only when the engine advances it, so a thirty-minute
//! TTL runs in no real time and every run replays exactly.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in engine time, in nanoseconds since the engine started.
///
/// It is deliberately not `std::time::Instant`: engine time is a plain number
/// that a virtual clock can set, compare and print deterministically.
///
/// Stages get it from [`Context::now`](crate::Context::now) and use it for
/// deadlines ([`Push::next_deadline`](crate::Push::next_deadline)) and
/// waits ([`Pull::Wait`](crate::Pull::Wait)). Event time, the time a
/// record carries, uses the same type ([`Meta::event_time`](crate::Meta::event_time))
/// but is a separate clock: the engine never sets it.
///
/// Arithmetic with a [`Duration`] saturates instead of overflowing, so a
/// timeout of `Duration::MAX` is simply "never".
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use flux_core::Instant;
///
/// let start = Instant::from_millis(1_500);
/// let deadline = start + Duration::from_secs(30);
/// assert_eq!(deadline, Instant::from_millis(31_500));
/// assert_eq!(deadline.saturating_since(start), Duration::from_secs(30));
/// assert_eq!(start.saturating_since(deadline), Duration::ZERO);
/// assert_eq!(start.to_string(), "t+1.5s");
/// assert_eq!(start + Duration::MAX, Instant::from_nanos(u64::MAX), "saturates");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Instant(u64);

impl Instant {
    /// The engine's start.
    pub const ZERO: Instant = Instant(0);

    /// The instant `nanos` nanoseconds after the engine's start.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// The instant `millis` milliseconds after the engine's start,
    /// saturating at the largest representable instant (about 584 years).
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// The instant `secs` seconds after the engine's start, saturating like
    /// [`Instant::from_millis`].
    pub const fn from_secs(secs: u64) -> Self {
        Instant(secs.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds since the engine's start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later: how
    /// long a group has been open, say, when `earlier` is its first
    /// fragment's arrival.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the largest representable instant (about 584 years).
    fn add(self, rhs: Duration) -> Instant {
        let nanos = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// Saturates at [`Instant::ZERO`].
    fn sub(self, rhs: Duration) -> Instant {
        let nanos = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_sub(nanos))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{:?}", Duration::from_nanos(self.0))
    }
}

/// The source of engine time.
///
/// The sync engine implements it with a virtual clock it advances itself;
/// the async engine with a monotonic wall clock. Implementations must be
/// monotonic: `now` never goes backwards.
///
/// Only engines read a clock: they read it once per call into a segment
/// and pass the reading to the stages in the [`Context`](crate::Context),
/// so every stage in one step sees the same time.
///
/// # Examples
///
/// A clock that moves only when told to, as the sync engine's does:
///
/// ```
/// use std::time::Duration;
/// use flux_core::{Clock, Context, Instant};
/// use flux_test::Diverted;
///
/// struct Manual(Instant);
///
/// impl Clock for Manual {
///     fn now(&self) -> Instant {
///         self.0
///     }
/// }
///
/// let mut clock = Manual(Instant::ZERO);
/// clock.0 = clock.0 + Duration::from_secs(1_800); // thirty minutes, in no real time
/// let mut diverted = Diverted::default();
/// let cx = Context::new(clock.now(), &mut diverted);
/// assert_eq!(cx.now(), Instant::from_secs(1_800));
/// ```
pub trait Clock {
    /// The current engine time; never earlier than the last reading.
    fn now(&self) -> Instant;
}

//! The accumulation policy: every choice explicit, every default documented.

mod choices;
mod error;

use core::time::Duration;

pub(crate) use choices::Expiries;
pub use choices::{
    AtEnd, BytesBound, CloseAfter, ClosedKeys, Eviction, Expiry, Forget, KeyLimit, KeyStorage, NoKey, OnExpiry,
    OnMergeError, OnNewKey, SpillAt, Timer, TimerClock, TimerStart, Ttl, Watermark,
};
pub use error::PolicyError;

/// How an accumulating stage groups, completes, expires and flushes.
///
/// A policy is built with [`Policy::builder`] and checked once by
/// [`PolicyBuilder::build`], so a stage never runs with a limit of zero.
/// Every setting is optional; [`Policy::default`] is: emit a group when
/// the accumulator says it is complete, no size or time limits, flush
/// open groups at end of input, copy each group's key when it opens,
/// dead-letter fragments with no key, skip
/// fragments whose merge fails, let a completed key start a new group,
/// emit a group whose timer runs out at its exact deadline, and keep other
/// keys' groups open when a new key arrives.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use flux_accumulate::{Policy, TimerStart};
///
/// let policy = Policy::builder()
///     .max_items(100)
///     .ttl(Duration::from_secs(30), TimerStart::LastFragment)
///     .max_live_keys(10_000)
///     .build()
///     .unwrap();
/// assert_eq!(policy.max_items(), Some(100));
///
/// // Limits of zero are rejected when the pipeline is built.
/// assert!(Policy::builder().max_items(0).build().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub(crate) complete_at: f32,
    pub(crate) max_items: Option<u64>,
    pub(crate) max_bytes: Option<u64>,
    pub(crate) bytes_bound: BytesBound,
    pub(crate) max_latency: Option<Duration>,
    pub(crate) ttl: Option<Ttl>,
    pub(crate) timer_clock: TimerClock,
    pub(crate) check_every: Option<Duration>,
    pub(crate) expiry: Expiries,
    pub(crate) on_expiry: OnExpiry,
    pub(crate) watermark: Option<Watermark>,
    pub(crate) key_limit: Option<KeyLimit>,
    pub(crate) closed_keys: Option<ClosedKeys>,
    pub(crate) at_end: AtEnd,
    pub(crate) no_key: NoKey,
    pub(crate) on_merge_error: OnMergeError,
    pub(crate) on_new_key: OnNewKey,
    pub(crate) spill: Option<SpillAt>,
    pub(crate) key_storage: KeyStorage,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            complete_at: 1.0,
            max_items: None,
            max_bytes: None,
            bytes_bound: BytesBound::AtLeast,
            max_latency: None,
            ttl: None,
            timer_clock: TimerClock::Engine,
            check_every: None,
            expiry: Expiries::all(Expiry::AtDeadline),
            on_expiry: OnExpiry::Emit,
            watermark: None,
            key_limit: None,
            closed_keys: None,
            at_end: AtEnd::Flush,
            no_key: NoKey::DeadLetter,
            on_merge_error: OnMergeError::SkipFragment,
            on_new_key: OnNewKey::KeepOthers,
            spill: None,
            key_storage: KeyStorage::Copy,
        }
    }
}

impl Policy {
    /// A builder starting from [`Policy::default`].
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder { policy: Policy::default() }
    }

    /// The completeness score at which a group is emitted as complete.
    pub fn complete_at(&self) -> f32 {
        self.complete_at
    }

    /// The item limit per group.
    pub fn max_items(&self) -> Option<u64> {
        self.max_items
    }

    /// The fragment-byte limit per group.
    pub fn max_bytes(&self) -> Option<u64> {
        self.max_bytes
    }

    /// Whether the byte limit is reached (the default) or never passed.
    pub fn bytes_bound(&self) -> BytesBound {
        self.bytes_bound
    }

    /// The latency limit since a group's first fragment.
    pub fn max_latency(&self) -> Option<Duration> {
        self.max_latency
    }

    /// The completeness TTL.
    pub fn ttl(&self) -> Option<Ttl> {
        self.ttl
    }

    /// The clock group timers run on.
    pub fn timer_clock(&self) -> TimerClock {
        self.timer_clock
    }

    /// The period on which group timers are checked (none: exactly).
    pub fn check_every(&self) -> Option<Duration> {
        self.check_every
    }

    /// The deadline rule of `timer`.
    pub fn expiry_of(&self, timer: Timer) -> Expiry {
        self.expiry.of(timer)
    }

    /// What a group's TTL or latency limit does when it runs out.
    pub fn on_expiry(&self) -> OnExpiry {
        self.on_expiry
    }

    /// The event-time windows.
    pub fn watermark(&self) -> Option<Watermark> {
        self.watermark
    }

    /// The soft limit on live keys.
    pub fn key_limit(&self) -> Option<KeyLimit> {
        self.key_limit
    }

    /// Whether and how keys close.
    pub fn closed_keys(&self) -> Option<ClosedKeys> {
        self.closed_keys
    }

    /// What happens to open groups at end of input.
    pub fn at_end(&self) -> AtEnd {
        self.at_end
    }

    /// Where fragments with no key go.
    pub fn no_key(&self) -> &NoKey {
        &self.no_key
    }

    /// What a merge error does.
    pub fn on_merge_error(&self) -> OnMergeError {
        self.on_merge_error
    }

    /// What a new key's first fragment does to the other open groups.
    pub fn on_new_key(&self) -> OnNewKey {
        self.on_new_key
    }

    /// When cold groups spill.
    pub fn spill(&self) -> Option<SpillAt> {
        self.spill
    }

    /// How an open group keeps its key.
    pub fn key_storage(&self) -> KeyStorage {
        self.key_storage
    }

    /// The longest a fragment may wait in the stage on the engine's clock,
    /// as far as the policy bounds it (for the planner's latency hint).
    ///
    /// A [`TimerStart::Periodic`] TTL counts as its period, which bounds
    /// the wait of a stage with one key (another key's size emissions can
    /// put a group's tick off); a timer check period adds itself, the
    /// most a timer can be late.
    pub fn latency_bound(&self) -> Option<Duration> {
        let ttl = self.ttl.map(|t| t.after);
        let bound = match (self.max_latency, ttl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        bound.map(|bound| bound + self.check_every.unwrap_or_default())
    }
}

/// Builds a [`Policy`]; see [`Policy::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PolicyBuilder {
    policy: Policy,
}

impl PolicyBuilder {
    /// Emits a group as complete once its completeness reaches `score`
    /// (default 1.0). A score of 0.0 or below is rejected.
    pub fn complete_at(mut self, score: f32) -> Self {
        self.policy.complete_at = score;
        self
    }

    /// Emits a group (reason `count`) once it holds `items` fragments.
    pub fn max_items(mut self, items: u64) -> Self {
        self.policy.max_items = Some(items);
        self
    }

    /// Emits a group (reason `weight`) once its fragments' bytes (their
    /// envelope costs) reach `bytes`; [`bytes_bound`](Self::bytes_bound)
    /// says whether the fragment that would pass it joins the group (by
    /// default it does).
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.policy.max_bytes = Some(bytes);
        self
    }

    /// Sets whether the byte limit (`max_bytes`, or a group's own from
    /// `Accumulator::max_bytes_for`) is reached by the fragment that
    /// passes it ([`BytesBound::AtLeast`], the default) or never passed
    /// ([`BytesBound::AtMost`]: that fragment opens the next group).
    pub fn bytes_bound(mut self, bound: BytesBound) -> Self {
        self.policy.bytes_bound = bound;
        self
    }

    /// An "at most" byte limit: `max_bytes(bytes)` with
    /// [`BytesBound::AtMost`], Pekko's `groupedWeightedWithin` weight.
    ///
    /// # Examples
    ///
    /// ```
    /// use flux_accumulate::{BytesBound, Policy};
    ///
    /// let policy = Policy::builder().max_bytes_at_most(100).build().unwrap();
    /// assert_eq!((policy.max_bytes(), policy.bytes_bound()), (Some(100), BytesBound::AtMost));
    /// ```
    pub fn max_bytes_at_most(self, bytes: u64) -> Self {
        self.max_bytes(bytes).bytes_bound(BytesBound::AtMost)
    }

    /// Emits a group (reason `latency`) once `latency` has passed since its
    /// first fragment.
    pub fn max_latency(mut self, latency: Duration) -> Self {
        self.policy.max_latency = Some(latency);
        self
    }

    /// Flushes a group partially when its TTL, with its clock started by
    /// `start`, runs out before it is complete: reason `lifetime`,
    /// `inactivity` or `interval`, as `start` says.
    pub fn ttl(mut self, after: Duration, start: TimerStart) -> Self {
        self.policy.ttl = Some(Ttl { after, start });
        self
    }

    /// Sets the clock the group timers and the closed-key memory run on
    /// (default: the engine's).
    pub fn timer_clock(mut self, clock: TimerClock) -> Self {
        self.policy.timer_clock = clock;
        self
    }

    /// Looks at group timers only every `period`, for a stage that must
    /// reproduce a peer that checks them on a tick (Camel's
    /// `completionTimeoutCheckerInterval`, Vector's `flush_period_ms`):
    /// a group timer (TTL, latency limit, fixed or periodic interval,
    /// linger) fires at the first multiple of `period`, counted from time
    /// zero on the timers' clock, at or after its deadline, and a fragment
    /// that arrives before then still joins the group. Watermark windows
    /// and the closed-key memory are not moved. By default (none) timers
    /// fire exactly at their deadline.
    pub fn check_every(mut self, period: Duration) -> Self {
        self.policy.check_every = Some(period);
        self
    }

    /// Sets whether deadlines are met at their instant (the default) or
    /// strictly after it, for every [`Timer`] and window.
    pub fn expiry(mut self, expiry: Expiry) -> Self {
        self.policy.expiry = Expiries::all(expiry);
        self
    }

    /// Sets whether `timer`'s deadlines are met at their instant or
    /// strictly after it, leaving the others as they are: a TTL met at its
    /// instant beside windows that still take a fragment at their end, say.
    pub fn expiry_of(mut self, timer: Timer, expiry: Expiry) -> Self {
        self.policy.expiry.set(timer, expiry);
        self
    }

    /// Sets what a group whose TTL or latency limit runs out becomes: a
    /// partial record (the default, [`OnExpiry::Emit`]) or a counted
    /// discard ([`OnExpiry::Discard`]).
    pub fn on_expiry(mut self, on_expiry: OnExpiry) -> Self {
        self.policy.on_expiry = on_expiry;
        self
    }

    /// Groups fragments into event-time windows closed by a watermark.
    pub fn watermark(mut self, watermark: Watermark) -> Self {
        self.policy.watermark = Some(watermark);
        self
    }

    /// Keeps at most `max_keys` groups open, flushing the oldest first.
    pub fn max_live_keys(self, max_keys: usize) -> Self {
        self.key_limit(KeyLimit { max_keys, eviction: Eviction::OldestFirst })
    }

    /// Keeps live keys under a soft limit with the given eviction.
    pub fn key_limit(mut self, limit: KeyLimit) -> Self {
        self.policy.key_limit = Some(limit);
        self
    }

    /// Closes keys once their group is emitted.
    pub fn closed_keys(mut self, closed: ClosedKeys) -> Self {
        self.policy.closed_keys = Some(closed);
        self
    }

    /// Sets what happens to open groups at end of input.
    pub fn at_end(mut self, at_end: AtEnd) -> Self {
        self.policy.at_end = at_end;
        self
    }

    /// Sets where fragments with no key go.
    pub fn no_key(mut self, no_key: NoKey) -> Self {
        self.policy.no_key = no_key;
        self
    }

    /// Sets what a merge error does.
    pub fn on_merge_error(mut self, on_error: OnMergeError) -> Self {
        self.policy.on_merge_error = on_error;
        self
    }

    /// Sets what a new key's first fragment does to the groups of other
    /// keys: nothing (the default, [`OnNewKey::KeepOthers`]), or emit them
    /// all first ([`OnNewKey::CompleteOthers`]).
    pub fn on_new_key(mut self, on_new_key: OnNewKey) -> Self {
        self.policy.on_new_key = on_new_key;
        self
    }

    /// Spills cold groups once resident state passes `resident_bytes`.
    pub fn spill_above(mut self, resident_bytes: u64) -> Self {
        self.policy.spill = Some(SpillAt { resident_bytes });
        self
    }

    /// Sets how an open group keeps its key: a private copy (the default,
    /// which never pins the input's buffers) or the first fragment's slice.
    pub fn key_storage(mut self, storage: KeyStorage) -> Self {
        self.policy.key_storage = storage;
        self
    }

    /// Checks the policy.
    ///
    /// # Errors
    ///
    /// A limit, duration or capacity of zero, or a completion score that is
    /// not above zero.
    pub fn build(self) -> Result<Policy, PolicyError> {
        let p = self.policy;
        let zero_duration = Duration::ZERO;
        if p.complete_at.is_nan() || p.complete_at <= 0.0 {
            return Err(PolicyError::new("complete_at"));
        }
        if p.max_items == Some(0) {
            return Err(PolicyError::new("max_items"));
        }
        if p.max_bytes == Some(0) {
            return Err(PolicyError::new("max_bytes"));
        }
        if p.check_every == Some(zero_duration) {
            return Err(PolicyError::new("check_every"));
        }
        if p.max_latency == Some(zero_duration) {
            return Err(PolicyError::new("max_latency"));
        }
        if p.ttl.is_some_and(|t| t.after.is_zero()) {
            return Err(PolicyError::new("ttl"));
        }
        if p.watermark.is_some_and(|w| w.window.is_zero()) {
            return Err(PolicyError::new("watermark.window"));
        }
        if p.key_limit.is_some_and(|k| k.max_keys == 0) {
            return Err(PolicyError::new("key_limit.max_keys"));
        }
        if p.closed_keys.is_some_and(|c| c.capacity == 0 || c.remember_for.is_some_and(|d| d.is_zero())) {
            return Err(PolicyError::new("closed_keys"));
        }
        if p.spill.is_some_and(|s| s.resident_bytes == 0) {
            return Err(PolicyError::new("spill.resident_bytes"));
        }
        Ok(p)
    }
}

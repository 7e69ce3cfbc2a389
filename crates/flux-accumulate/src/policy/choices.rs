//! The settings a [`Policy`](super::Policy) is made of, one type per choice.

use core::time::Duration;

use bytes::Bytes;

/// What starts a completeness TTL's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimerStart {
    /// The group's first fragment: a lifetime (tokio-stream `chunks_timeout`,
    /// Pekko `groupedWeightedWithin`). The default.
    #[default]
    FirstFragment,
    /// The group's latest fragment: an inactivity timeout (Vector `reduce`'s
    /// `expire_after_ms`, Camel's `completionTimeout`).
    LastFragment,
    /// A fixed interval over all groups: every group expires at the next
    /// multiple of the interval, counted from engine time zero (Camel's
    /// `completionInterval`). A group never expires at the instant it opens.
    FixedInterval,
    /// A fixed interval whose ticks restart whenever a group is emitted
    /// for its size (items or bytes): Pekko's `groupedWithin` and
    /// `groupedWeightedWithin` timer. Like [`FixedInterval`](Self::FixedInterval),
    /// it ticks every `after` and every open group expires at the next
    /// tick after its first fragment; the ticks count from engine time zero
    /// until the first size emission, then from the instant of the latest
    /// one, whichever key it was for: the phase is the stage's, not a
    /// group's. At each restart every open group's timer moves to the new
    /// schedule, which costs a pass over the open groups. For one constant
    /// key this is Pekko's timer: after a group goes out for its size, the
    /// next group gets a full period. With many keys, a busy key's size
    /// emissions put off the other keys' ticks (bound them with
    /// `max_latency` if that matters).
    Periodic,
}

/// Whether a group's byte limit is reached by the fragment that passes it
/// ("at least") or may not be passed at all ("at most").
///
/// The bytes are the fragments' envelope costs ([`Cost::bytes`](flux_core::Cost)),
/// which `max_bytes` and `Accumulator::max_bytes_for` limit: Pekko's weight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BytesBound {
    /// The group is emitted (reason `size`) once its bytes reach the
    /// limit, with the fragment that reached it: a group holds at least
    /// the limit, and may pass it by one fragment. The default.
    #[default]
    AtLeast,
    /// A fragment that would take the group past the limit does not join
    /// it: the group is emitted first (reason `size`) and the fragment
    /// opens the next group, where it is judged as any first fragment (it
    /// may complete or fill that group at once). A group that reaches the
    /// limit exactly is emitted at once; a fragment heavier than the limit
    /// forms a group alone, emitted at once. As in Pekko's
    /// `groupedWeightedWithin`, a group whose fragments weigh nothing so
    /// far takes any fragment. The limit is checked before the merge, so a
    /// fragment whose merge then fails (or that goes to the side output
    /// because the emission closed its key) has emitted the group already.
    AtMost,
}

/// Which clock a group's timers (its TTL, its latency limit) and the
/// closed-key memory run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimerClock {
    /// The engine's clock: wall time on tokio, virtual time on the sync
    /// engine. The default.
    #[default]
    Engine,
    /// The data's own time: a group's timers start at its fragments' event
    /// times, and fire once the largest event time seen so far, minus
    /// `lag`, passes them: on either engine and at any replay speed, so a
    /// file written over a day and read in a second expires the same
    /// groups as the live feed did. The lag is room for stragglers: a
    /// fragment up to `lag` out of order still finds its group. A fragment
    /// with no event time does not move the clock (and its time is the
    /// clock's). The engine
    /// is never asked to wait for an event-time timer: at end of input,
    /// groups still open are flushed as [`AtEnd`] says.
    EventTime {
        /// How far behind the newest event time the clock trails, so that
        /// fragments out of order by up to `lag` still find their group.
        lag: Duration,
    },
}

/// A completeness TTL: how long a group may wait before a partial flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl {
    /// The timeout (or the interval, for [`TimerStart::FixedInterval`] and
    /// [`TimerStart::Periodic`]).
    pub after: Duration,
    /// What starts its clock.
    pub start: TimerStart,
}

/// Whether a deadline is met at its instant or only strictly after it.
///
/// It answers two questions at once, since they cannot be answered apart:
/// when a group expires, and whether a fragment that arrives exactly at the
/// deadline still joins it. The same rule applies to event-time windows
/// (a window ends at its end instant or strictly after it). It is set for
/// every [`Timer`] at once, or for one alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expiry {
    /// The group expires at its deadline; a fragment arriving at that
    /// instant opens the next group. The default.
    #[default]
    AtDeadline,
    /// The group expires one nanosecond after its deadline; a fragment
    /// arriving at the deadline still joins it.
    AfterDeadline,
}

/// A kind of deadline, for choosing its [`Expiry`] alone
/// ([`PolicyBuilder::expiry_of`](super::PolicyBuilder::expiry_of)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The completeness TTL (a lifetime, an inactivity timeout or an
    /// interval), `ttl_for` TTLs included.
    Ttl,
    /// The latency limit (`max_latency`).
    Latency,
    /// The wait of a whole group that could take more (`linger_for`).
    Linger,
    /// The end of an event-time window (plus its allowed lateness).
    Window,
}

/// The [`Expiry`] of each [`Timer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Expiries {
    pub(crate) ttl: Expiry,
    pub(crate) latency: Expiry,
    pub(crate) linger: Expiry,
    pub(crate) window: Expiry,
}

impl Expiries {
    pub(crate) fn all(expiry: Expiry) -> Self {
        Expiries { ttl: expiry, latency: expiry, linger: expiry, window: expiry }
    }

    pub(crate) fn of(&self, timer: Timer) -> Expiry {
        match timer {
            Timer::Ttl => self.ttl,
            Timer::Latency => self.latency,
            Timer::Linger => self.linger,
            Timer::Window => self.window,
        }
    }

    pub(crate) fn set(&mut self, timer: Timer, expiry: Expiry) {
        let slot = match timer {
            Timer::Ttl => &mut self.ttl,
            Timer::Latency => &mut self.latency,
            Timer::Linger => &mut self.linger,
            Timer::Window => &mut self.window,
        };
        *slot = expiry;
    }
}

/// What a group becomes when one of its timers runs out: its lifetime
/// (reason `lifetime`), inactivity timeout (`inactivity`), interval
/// (`interval`), per-group TTLs from `ttl_for` included, or its latency
/// limit (`latency`): every reason for which
/// [`EmitReason::is_timer`](flux_core::EmitReason::is_timer) holds. A
/// lingering whole group is not expired: it still goes out as complete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnExpiry {
    /// A partial record with the timer's reason. The default.
    #[default]
    Emit,
    /// Nothing: the group is dropped, its fragments counted as `discarded`
    /// in the ledger and the group in the stats under the reason it would
    /// have been emitted for
    /// ([`StatsSnapshot::discarded`](crate::StatsSnapshot::discarded));
    /// Camel's `discardOnCompletionTimeout`. A key closes as
    /// [`ClosedKeys::after`] says, as if the group had been emitted.
    /// Under [`AtEnd::WaitForTimers`], a group that a stopped run ends with
    /// its timer's reason is discarded too.
    Discard,
}

/// What happens to open groups when the input ends or the run stops.
///
/// A run that fails stops the same way its input would end, with time
/// standing still: the engine does not wait for any timer, so under
/// [`AtEnd::WaitForTimers`] the groups with a timer are emitted at once
/// with their timer's reason. Records emitted at a stop still reach the
/// sink, which the engine closes last.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AtEnd {
    /// Emit every open group with reason `end-of-stream`. The default.
    #[default]
    Flush,
    /// Drop every open group; its fragments are counted as discarded.
    Drop,
    /// Let groups with a timer run until it fires on the engine's clock
    /// (reported through `next_deadline(true)`); groups with no timer are
    /// flushed. If the engine finishes the stage before those timers (a
    /// stopped run), the groups are emitted with their timer's reason, in
    /// deadline order.
    WaitForTimers,
}

/// Where fragments with no key go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoKey {
    /// To the dead-letter output, as a `missing key` error. The default.
    #[default]
    DeadLetter,
    /// Into an explicit group under this key; never into another key's group.
    Group(Bytes),
    /// Dropped on purpose: counted in the stage's ledger as `dropped` and
    /// in its stats as [`dropped_no_key`](crate::StatsSnapshot::dropped_no_key),
    /// never a dead letter (for input where key-less records are expected
    /// noise, not errors).
    Drop,
}

/// What a merge error does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnMergeError {
    /// The fragment goes to the dead-letter output; the group stays open
    /// (the accumulator left its state unchanged). The default.
    #[default]
    SkipFragment,
    /// The fragment goes to the dead-letter output and the group is
    /// dropped; its fragments are counted as discarded.
    DiscardGroup,
    /// The group is dropped together with the fragment, which is no dead
    /// letter: the ledger counts it as merged, then discarded with the
    /// group's fragments (for input where a bad fragment spoils its group,
    /// and both are expected, not errors).
    DiscardGroupAndFragment,
    /// The fragment goes to the dead-letter output and the run stops.
    StopRun,
}

/// What the first fragment of a key with no open group does to the groups
/// open for other keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnNewKey {
    /// Nothing: groups of many keys stay open side by side. The default.
    #[default]
    KeepOthers,
    /// Emits every other open group before the fragment joins its own, by
    /// deadline then first arrival, with reason `evicted` (the group is cut
    /// short by another key, as under a limit of one live key): Camel's
    /// `completionOnNewCorrelationGroup`, for input whose keys come in
    /// runs. Unlike `max_live_keys(1)`, the others go also when the
    /// fragment completes its own group at once. A key counts as new when
    /// no open group has it, whatever its window. A fragment that goes to
    /// the side or dead-letter output on its way in (a closed key, a late
    /// or key-less fragment) completes nothing; one whose merge then fails
    /// has completed the others already.
    CompleteOthers,
}

/// Which group leaves first when live keys exceed their soft limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Eviction {
    /// The group whose first fragment came earliest. The default.
    #[default]
    OldestFirst,
    /// The group whose latest fragment came earliest.
    LeastRecentlyUsed,
}

/// A soft limit on live keys: past it, groups are flushed (reason
/// `evicted`), never dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyLimit {
    /// The most groups held open at once.
    pub max_keys: usize,
    /// Which group is flushed to make room.
    pub eviction: Eviction,
}

/// Closing keys once their group is emitted, so that a later fragment for
/// the same key goes to the side output instead of opening a new group.
///
/// At most `capacity` closed keys are remembered at once; past it, one is
/// forgotten as [`Forget`] says. With `remember_for` set, a key is also
/// forgotten once that long has passed since it closed (on the timers'
/// clock). Once a key is forgotten, a fragment for it opens a new group as
/// if the key had never been seen: the side output is a best effort
/// bounded by memory, and the stage's stats count the keys it forgot.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use flux_accumulate::{CloseAfter, ClosedKeys, Forget};
///
/// // Camel's `closeCorrelationKeyOnCompletion=1000`: any completion
/// // closes the key, the least recently used of 1,000 keys is forgotten.
/// let camel = ClosedKeys::new(1_000).after(CloseAfter::AnyEnd).forget(Forget::LeastRecentlyTouched);
/// assert_eq!(camel.remember_for, None);
///
/// // Whole and full groups close their key, remembered for a minute.
/// let closed = ClosedKeys::new(10_000).after(CloseAfter::WholeOrFull).remember_for(Duration::from_secs(60));
/// assert_eq!(closed.capacity, 10_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosedKeys {
    /// The most closed keys remembered at once.
    pub capacity: usize,
    /// How long a closed key is remembered, counted from its closing;
    /// `None` (the default) keeps it until `capacity` pushes it out.
    pub remember_for: Option<Duration>,
    /// Which emissions close their key.
    pub after: CloseAfter,
    /// Which key is forgotten when more than `capacity` are closed.
    pub forget: Forget,
}

impl ClosedKeys {
    /// Remembers up to `capacity` keys closed by a whole group, with no
    /// time limit, forgetting the oldest-closed first.
    pub fn new(capacity: usize) -> Self {
        ClosedKeys { capacity, remember_for: None, after: CloseAfter::Whole, forget: Forget::OldestClosed }
    }

    /// Forgets each closed key `remember_for` after it closed.
    pub fn remember_for(mut self, remember_for: Duration) -> Self {
        self.remember_for = Some(remember_for);
        self
    }

    /// Sets which emissions close their key.
    pub fn after(mut self, after: CloseAfter) -> Self {
        self.after = after;
        self
    }

    /// Sets which key is forgotten first when over `capacity`.
    pub fn forget(mut self, forget: Forget) -> Self {
        self.forget = forget;
        self
    }
}

/// Which emissions close their group's key ([`ClosedKeys::after`]).
///
/// A group ended by a start condition never closes its key (the fragment
/// that started the next group needs it), nor does an evicted group or one
/// flushed at the end of input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CloseAfter {
    /// A whole group: complete, or ended by an end condition. The default.
    #[default]
    Whole,
    /// A whole group, or one that reached its item or weight limit.
    WholeOrFull,
    /// Any ending but eviction and end of input: also timers, windows, a
    /// new key and a forced completion (Camel's
    /// `closeCorrelationKeyOnCompletion`).
    AnyEnd,
}

impl CloseAfter {
    /// Whether an emission for `reason` closes the key.
    pub(crate) fn closes(self, reason: flux_core::EmitReason) -> bool {
        use flux_core::EmitReason as R;
        let whole = matches!(reason, R::Complete | R::EndCondition);
        let full = matches!(reason, R::Count | R::Weight);
        match self {
            CloseAfter::Whole => whole,
            CloseAfter::WholeOrFull => whole || full,
            CloseAfter::AnyEnd => !matches!(reason, R::StartCondition | R::Evicted | R::EndOfStream),
        }
    }
}

/// Which closed key is forgotten first when more than
/// [`ClosedKeys::capacity`] are closed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Forget {
    /// The key that closed longest ago. The default.
    #[default]
    OldestClosed,
    /// The key touched longest ago: closing it, or a fragment turned away
    /// by it, touches it (an LRU cache, as Camel keeps closed keys).
    LeastRecentlyTouched,
}

/// Event-time windows closed by a watermark.
///
/// Fragments are grouped per key and per tumbling window of `window`
/// (`[k * window, (k + 1) * window)` of their event time). The watermark
/// is the largest event time seen minus `out_of_orderness`; a window is
/// emitted (reason `watermark`) once the watermark reaches its end plus
/// `allowed_lateness`. A fragment whose window was already emitted is late:
/// it goes to the side output. A fragment with no event time goes to the
/// dead-letter output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watermark {
    /// The tumbling window's length.
    pub window: Duration,
    /// How far behind the newest event time the watermark trails.
    pub out_of_orderness: Duration,
    /// How long after its end a window still takes fragments.
    pub allowed_lateness: Duration,
}

/// When cold groups are compressed into the spill tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpillAt {
    /// Resident state bytes above which the least recently used groups are
    /// spilled (until the resident bytes are back under it).
    pub resident_bytes: u64,
}

/// How an open group keeps its key for its whole life.
///
/// Pooled input (`flux-memory`) hands out keys as slices of large shared
/// buffers: a group that kept its first fragment's slice would hold that
/// whole buffer until the group closes, and enough long-lived groups can
/// exhaust a bounded pool while holding a few bytes of each buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyStorage {
    /// Copy the key when the group opens: into the group table itself when
    /// it is short (22 bytes or less, no allocation), otherwise into one
    /// allocation of its own; never one per fragment. The default.
    #[default]
    Copy,
    /// Keep the first fragment's key slice (a reference count, no copy).
    /// For input that is already in memory, where nothing is pinned.
    Share,
}

//! The contract for keyed accumulation; implementations live in `flux-accumulate`.

use core::fmt;
use core::time::Duration;
use std::error::Error;

use bytes::Bytes;

use crate::Envelope;

/// How complete a group is, from 0.0 (nothing) to 1.0 (complete).
///
/// [`Accumulator::completeness`] returns it after each merge. The
/// accumulating stage of `flux-accumulate` emits a group as
/// [`EmitReason::Complete`] once its score reaches the policy's threshold
/// (1.0 unless the policy lowers it), and writes the score of every record
/// it emits into the record's `acc.completeness` header, so a partial
/// flush says how partial it was.
///
/// # Examples
///
/// ```
/// use flux_core::Completeness;
///
/// // Three required parts (bits 0..3), two have arrived.
/// let c = Completeness::from_mask(0b011, 0b111);
/// assert!((c.score() - 2.0 / 3.0).abs() < 1e-6);
/// assert!(!c.is_complete());
/// assert!(Completeness::from_mask(0b111, 0b111).is_complete());
/// assert_eq!(Completeness::new(1.5), Completeness::COMPLETE, "clamped");
/// assert_eq!(Completeness::new(f32::NAN), Completeness::EMPTY);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Completeness(f32);

impl Completeness {
    /// Nothing has arrived.
    pub const EMPTY: Completeness = Completeness(0.0);
    /// Everything has arrived.
    pub const COMPLETE: Completeness = Completeness(1.0);

    /// A score, clamped into `0.0..=1.0` (NaN counts as 0.0).
    pub fn new(score: f32) -> Self {
        if score.is_nan() { Completeness(0.0) } else { Completeness(score.clamp(0.0, 1.0)) }
    }

    /// The share of the `required` bits present in `seen`: for groups made
    /// of named parts, one bit per part. Bits of `seen` outside `required`
    /// (optional parts) do not count; no required bits at all is complete.
    pub fn from_mask(seen: u64, required: u64) -> Self {
        if required == 0 {
            return Completeness::COMPLETE;
        }
        let have = (seen & required).count_ones() as f32;
        Completeness::new(have / required.count_ones() as f32)
    }

    /// The score.
    pub fn score(self) -> f32 {
        self.0
    }

    /// True at 1.0. (The stage may treat a lower score as complete, by
    /// policy; this asks about 1.0 only.)
    pub fn is_complete(self) -> bool {
        self.0 >= 1.0
    }
}

/// Why a group was emitted, naming the rule that fired; carried on the
/// record as a header.
///
/// The accumulating stage passes it to [`Accumulator::close`], and writes
/// [`EmitReason::as_str`] into the record's `acc.reason` header, so a
/// stage downstream can route whole records apart from partial ones
/// ([`EmitReason::is_whole`]) or tell which limit cut a group short.
///
/// # Examples
///
/// ```
/// use flux_core::EmitReason;
///
/// assert_eq!(EmitReason::Inactivity.as_str(), "inactivity");
/// assert_eq!(EmitReason::EndOfStream.to_string(), "end-of-stream");
///
/// // The accumulator's own rules make a whole group; every limit, timer
/// // and flush cuts one short.
/// assert!(EmitReason::EndCondition.is_whole());
/// assert!(!EmitReason::Count.is_whole());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmitReason {
    /// Its completeness reached the policy's threshold (the completion
    /// predicate, seen on the merged state).
    Complete,
    /// A fragment that ends its group arrived ([`Accumulator::closes_group`]).
    EndCondition,
    /// A fragment that starts the next group arrived
    /// ([`Accumulator::starts_group`]).
    StartCondition,
    /// It reached its item limit.
    Count,
    /// It reached its weight (byte) limit.
    Weight,
    /// It reached its maximum latency since its first fragment.
    Latency,
    /// Its lifetime ran out: a TTL counted from its first fragment.
    Lifetime,
    /// It was inactive too long: a TTL counted from its latest fragment.
    Inactivity,
    /// A fixed or periodic interval over all groups ended.
    Interval,
    /// The event-time watermark passed its window.
    Watermark,
    /// It was evicted to keep the number of live keys under a limit.
    Evicted,
    /// The first fragment of another key arrived, and the policy completes
    /// every other group then.
    NewKey,
    /// Every open group was completed on request: a control signal in the
    /// stream or a handle held by the application.
    Forced,
    /// The input ended (or the run stopped) while it was open.
    EndOfStream,
}

impl EmitReason {
    /// Every reason, in a fixed order (for counting by reason).
    pub const ALL: [EmitReason; 14] = [
        EmitReason::Complete,
        EmitReason::EndCondition,
        EmitReason::StartCondition,
        EmitReason::Count,
        EmitReason::Weight,
        EmitReason::Latency,
        EmitReason::Lifetime,
        EmitReason::Inactivity,
        EmitReason::Interval,
        EmitReason::Watermark,
        EmitReason::Evicted,
        EmitReason::NewKey,
        EmitReason::Forced,
        EmitReason::EndOfStream,
    ];

    /// The reason as it appears in the `acc.reason` header.
    pub fn as_str(self) -> &'static str {
        match self {
            EmitReason::Complete => "complete",
            EmitReason::EndCondition => "end-condition",
            EmitReason::StartCondition => "start-condition",
            EmitReason::Count => "count",
            EmitReason::Weight => "weight",
            EmitReason::Latency => "latency",
            EmitReason::Lifetime => "lifetime",
            EmitReason::Inactivity => "inactivity",
            EmitReason::Interval => "interval",
            EmitReason::Watermark => "watermark",
            EmitReason::Evicted => "evicted",
            EmitReason::NewKey => "new-key",
            EmitReason::Forced => "forced",
            EmitReason::EndOfStream => "end-of-stream",
        }
    }

    /// Whether the accumulator's own rules ended the group (its
    /// completeness, an end or a start condition): a whole group. Every
    /// other reason cuts a group short, and its record is partial.
    pub fn is_whole(self) -> bool {
        matches!(self, EmitReason::Complete | EmitReason::EndCondition | EmitReason::StartCondition)
    }

    /// Whether a group timer fired: a latency limit, a lifetime, an
    /// inactivity timeout or an interval (what `OnExpiry` applies to).
    pub fn is_timer(self) -> bool {
        matches!(self, EmitReason::Latency | EmitReason::Lifetime | EmitReason::Inactivity | EmitReason::Interval)
    }
}

/// What a control signal in the stream does with itself when it completes
/// every open group ([`Accumulator::completes_all`]).
///
/// # Examples
///
/// ```
/// use flux_core::CompleteAll;
///
/// // Camel's `completeAllGroups` and `completeAllGroupsInclusive`.
/// assert_ne!(CompleteAll::Exclusive, CompleteAll::Inclusive);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompleteAll {
    /// The signal is not merged: every open group is emitted, and the
    /// signal is counted as dropped in the stage's ledger (a control
    /// fragment, not data).
    Exclusive,
    /// The signal is merged into its key's group first (which may complete
    /// that group on its own), then every open group is emitted.
    Inclusive,
}

impl fmt::Display for EmitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// User logic for keyed accumulation: how fragments merge into per-key
/// state, how complete that state is, and what record it becomes.
///
/// The accumulating stage (in `flux-accumulate`) owns the keys, timers,
/// limits and policies; an `Accumulator` only knows one group at a time.
///
/// # Contract
///
/// - `merge` sees fragments of one key in arrival order. A merge error
///   sends that fragment to the dead-letter output (or fails the group, by
///   policy); the state must be left as it was before the call.
/// - Duplicates are merged like any other fragment unless `merge` chooses
///   to ignore them (and says so by returning `Ok`).
/// - `completeness` is pure: it may be called any number of times.
/// - Every provided method has a default that leaves the stage's policy in
///   charge: no fragment boundaries, no per-group limits, no spilling.
/// - A panic in user code is caught by the stage: a panic in `merge` makes
///   the fragment a dead letter and discards its group (the state may be
///   half-written), a panic in `close` counts the group's fragments as
///   discarded; either stops the run, naming the stage.
///
/// # Examples
///
/// The calls the accumulating stage makes for one group, made by hand:
///
/// ```
/// use std::error::Error;
///
/// use bytes::Bytes;
/// use flux_core::{Accumulator, Completeness, EmitReason, Envelope};
///
/// /// An order's total, from its three lines (amounts in cents).
/// struct OrderTotal;
///
/// struct Order {
///     lines: u32,
///     cents: u64,
/// }
///
/// impl Accumulator for OrderTotal {
///     type Fragment = i64;
///     type State = Order;
///     type Output = String;
///
///     fn open(&mut self, _order_id: &Bytes) -> Order {
///         Order { lines: 0, cents: 0 }
///     }
///
///     fn merge(&mut self, order: &mut Order, line: Envelope<i64>) -> Result<(), Box<dyn Error + Send + Sync>> {
///         let cents = u64::try_from(*line.payload())?; // a negative amount is refused first
///         order.lines += 1;
///         order.cents += cents;
///         Ok(())
///     }
///
///     fn completeness(&self, order: &Order) -> Completeness {
///         Completeness::new(order.lines as f32 / 3.0)
///     }
///
///     fn close(&mut self, order_id: Bytes, order: Order, reason: EmitReason) -> String {
///         format!("{}: {} cents ({reason})", String::from_utf8_lossy(&order_id), order.cents)
///     }
/// }
///
/// let mut acc = OrderTotal;
/// let key = Bytes::from_static(b"order-7");
/// let mut order = acc.open(&key);
/// acc.merge(&mut order, Envelope::new(250))?;
/// assert!(acc.merge(&mut order, Envelope::new(-5)).is_err());
/// assert_eq!(order.lines, 1, "a failed merge leaves the state as it was");
/// acc.merge(&mut order, Envelope::new(100))?;
/// acc.merge(&mut order, Envelope::new(50))?;
/// assert!(acc.completeness(&order).is_complete());
/// assert_eq!(acc.close(key, order, EmitReason::Complete), "order-7: 400 cents (complete)");
/// # Ok::<(), Box<dyn Error + Send + Sync>>(())
/// ```
pub trait Accumulator: Send + 'static {
    /// What arrives: the payload of the fragments.
    type Fragment;
    /// Per-key state: one value per open group.
    type State: Send;
    /// What a finished group becomes: the payload of the record emitted.
    type Output;

    /// Fresh state for a new group of `key`.
    ///
    /// Called when a fragment arrives for a key with no open group (or
    /// whose group [`starts_group`](Accumulator::starts_group) just
    /// ended), before that fragment is merged. The key is the fragments'
    /// key, or the one the stage's policy gives fragments without a key.
    fn open(&mut self, key: &Bytes) -> Self::State;

    /// Merges one fragment into the state.
    ///
    /// Do not read the key from the fragment's metadata: the stage may
    /// have moved it out (it was given to `open`, and will be given to
    /// `close`). The fragment's bytes ([`Envelope::cost`]) count towards
    /// the group's byte limit whether or not `merge` reads them.
    ///
    /// # Errors
    ///
    /// The fragment could not be merged (the state is unchanged). The
    /// fragment becomes a dead letter naming the stage; what happens to
    /// the group then is the stage's policy (by default it stays open).
    fn merge(
        &mut self,
        state: &mut Self::State,
        fragment: Envelope<Self::Fragment>,
    ) -> Result<(), Box<dyn Error + Send + Sync>>;

    /// How complete the state is.
    ///
    /// Called after each merge to decide whether the group is complete,
    /// and once more when the group is emitted, for its record's header.
    fn completeness(&self, state: &Self::State) -> Completeness;

    /// Turns a finished group into its record.
    ///
    /// Called at most once per group, when the stage emits it as a record,
    /// with the reason that ended it (partial groups too). A group the
    /// stage discards by policy, or hands on as its original fragments, is
    /// never closed. The record keeps the key, and the sequence, event time
    /// and trace of the group's first fragment.
    fn close(&mut self, key: Bytes, state: Self::State, reason: EmitReason) -> Self::Output;

    /// Approximate heap bytes held by the state, for memory limits and
    /// backpressure. Defaults to the state's inline size.
    ///
    /// Measured before and after each merge, so keep it cheap (a counter
    /// the state keeps, not a walk over it). A state that grows on the heap
    /// (a `Vec`, a `String`) should count that growth, or memory limits
    /// and spilling will not see it.
    fn state_bytes(&self, state: &Self::State) -> usize {
        let _ = state;
        core::mem::size_of::<Self::State>()
    }

    /// Whether `fragment` completes the group it joins: it is merged, and
    /// the group is emitted as [`EmitReason::EndCondition`] (an "ends when"
    /// condition that sees the incoming fragment instead of the merged state).
    fn closes_group(&self, fragment: &Envelope<Self::Fragment>) -> bool {
        let _ = fragment;
        false
    }

    /// Whether `fragment` starts a new group: the open group of its key is
    /// emitted as [`EmitReason::StartCondition`] without it, and the fragment
    /// opens the next one (a "starts when" condition).
    fn starts_group(&self, fragment: &Envelope<Self::Fragment>) -> bool {
        let _ = fragment;
        false
    }

    /// Whether `fragment` is a control signal that completes every open
    /// group of the stage (reason [`EmitReason::Forced`]): `None` (the
    /// default) for an ordinary fragment. See [`CompleteAll`] for whether
    /// the signal itself is merged first.
    fn completes_all(&self, fragment: &Envelope<Self::Fragment>) -> Option<CompleteAll> {
        let _ = fragment;
        None
    }

    /// This group's item limit, computed from its own state; `None` keeps
    /// the stage policy's limit.
    fn max_items_for(&self, state: &Self::State) -> Option<u64> {
        let _ = state;
        None
    }

    /// This group's byte limit (on its fragments' envelope costs),
    /// computed from its own state; `None` keeps the stage policy's limit.
    /// Under an "at most" limit it is asked before a fragment joins (to
    /// emit the group first if the fragment would pass it) as well as
    /// after each merge.
    fn max_bytes_for(&self, state: &Self::State) -> Option<u64> {
        let _ = state;
        None
    }

    /// This group's completeness TTL, computed from its own state; `None`
    /// keeps the stage policy's TTL.
    fn ttl_for(&self, state: &Self::State) -> Option<Duration> {
        let _ = state;
        None
    }

    /// How long a group that holds all it needs, but could still take
    /// more, waits for more before it is emitted as complete; `None` (the
    /// default) sets no such wait.
    ///
    /// The wait starts at the merge after which this first returns `Some`,
    /// and is not moved by later fragments or answers: the group goes out
    /// at most this long after it became whole. It is for groups that say
    /// "at least one of these": their [`completeness`](Accumulator::completeness)
    /// stays below [`Completeness::COMPLETE`] so that the last missing
    /// part does not cut them short, and this is what ends them when no
    /// end of input, window or other timer does first.
    fn linger_for(&self, state: &Self::State) -> Option<Duration> {
        let _ = state;
        None
    }

    /// Writes the state into `out` so that a spill tier can hold it
    /// compressed; returns false (the default) when the state cannot be
    /// spilled, and the group then stays in memory.
    ///
    /// Called only when the stage's policy sets a spill threshold and
    /// resident state exceeds it; the least recently used groups go first.
    /// After a `false` the stage spills no more groups in that run.
    fn encode_state(&self, state: &Self::State, out: &mut Vec<u8>) -> bool {
        let _ = (state, out);
        false
    }

    /// Rebuilds a state written by [`Accumulator::encode_state`].
    ///
    /// Called when a spilled group's next fragment arrives, or when the
    /// group is emitted. `key` is the group's key, as given to `open`.
    ///
    /// # Errors
    ///
    /// The bytes are not a state this accumulator wrote. The default always
    /// fails, which is never reached while `encode_state` returns false.
    /// The stage then discards the group (its fragments counted as
    /// discarded) and the run stops.
    fn decode_state(&mut self, key: &Bytes, encoded: &[u8]) -> Result<Self::State, Box<dyn Error + Send + Sync>> {
        let _ = (key, encoded);
        Err("this accumulator does not decode spilled state".into())
    }
}

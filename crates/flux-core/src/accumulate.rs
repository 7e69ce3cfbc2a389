//! The contract for keyed accumulation; implementations live in `flux-accumulate`.

use core::fmt;
use core::time::Duration;
use std::error::Error;

use bytes::Bytes;

use crate::Envelope;

/// How complete a group is, from 0.0 (nothing) to 1.0 (complete).
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

    /// The share of the `required` bits present in `seen`.
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

    /// True at 1.0.
    pub fn is_complete(self) -> bool {
        self.0 >= 1.0
    }
}

/// Why a group was emitted; carried on the record as a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmitReason {
    /// The accumulator judged it complete.
    Complete,
    /// It reached its item or byte limit.
    Size,
    /// It reached its maximum latency since its first fragment.
    Latency,
    /// Its completeness TTL expired: a partial flush.
    TtlExpired,
    /// The event-time watermark passed its window.
    Watermark,
    /// It was evicted to keep the number of live keys under a limit.
    Evicted,
    /// The input ended (or the run stopped) while it was open.
    EndOfStream,
}

impl EmitReason {
    /// The reason as it appears in the `acc.reason` header.
    pub fn as_str(self) -> &'static str {
        match self {
            EmitReason::Complete => "complete",
            EmitReason::Size => "size",
            EmitReason::Latency => "latency",
            EmitReason::TtlExpired => "ttl-expired",
            EmitReason::Watermark => "watermark",
            EmitReason::Evicted => "evicted",
            EmitReason::EndOfStream => "end-of-stream",
        }
    }
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
pub trait Accumulator: Send + 'static {
    /// What arrives.
    type Fragment;
    /// Per-key state.
    type State: Send;
    /// What a finished group becomes.
    type Output;

    /// Fresh state for a new group of `key`.
    fn open(&mut self, key: &Bytes) -> Self::State;

    /// Merges one fragment into the state.
    ///
    /// # Errors
    ///
    /// The fragment could not be merged (the state is unchanged).
    fn merge(
        &mut self,
        state: &mut Self::State,
        fragment: Envelope<Self::Fragment>,
    ) -> Result<(), Box<dyn Error + Send + Sync>>;

    /// How complete the state is.
    fn completeness(&self, state: &Self::State) -> Completeness;

    /// Turns a finished group into its record.
    fn close(&mut self, key: Bytes, state: Self::State, reason: EmitReason) -> Self::Output;

    /// Approximate heap bytes held by the state, for memory limits and
    /// backpressure. Defaults to the state's inline size.
    fn state_bytes(&self, state: &Self::State) -> usize {
        let _ = state;
        core::mem::size_of::<Self::State>()
    }

    /// Whether `fragment` completes the group it joins: it is merged, and
    /// the group is emitted as [`EmitReason::Complete`] (an "ends when"
    /// condition that sees the incoming fragment instead of the merged state).
    fn closes_group(&self, fragment: &Envelope<Self::Fragment>) -> bool {
        let _ = fragment;
        false
    }

    /// Whether `fragment` starts a new group: the open group of its key is
    /// emitted as [`EmitReason::Complete`] without it, and the fragment
    /// opens the next one (a "starts when" condition).
    fn starts_group(&self, fragment: &Envelope<Self::Fragment>) -> bool {
        let _ = fragment;
        false
    }

    /// This group's item limit, computed from its own state; `None` keeps
    /// the stage policy's limit.
    fn max_items_for(&self, state: &Self::State) -> Option<u64> {
        let _ = state;
        None
    }

    /// This group's completeness TTL, computed from its own state; `None`
    /// keeps the stage policy's TTL.
    fn ttl_for(&self, state: &Self::State) -> Option<Duration> {
        let _ = state;
        None
    }

    /// Writes the state into `out` so that a spill tier can hold it
    /// compressed; returns false (the default) when the state cannot be
    /// spilled, and the group then stays in memory.
    fn encode_state(&self, state: &Self::State, out: &mut Vec<u8>) -> bool {
        let _ = (state, out);
        false
    }

    /// Rebuilds a state written by [`Accumulator::encode_state`].
    ///
    /// # Errors
    ///
    /// The bytes are not a state this accumulator wrote. The default always
    /// fails, which is never reached while `encode_state` returns false.
    fn decode_state(&mut self, key: &Bytes, encoded: &[u8]) -> Result<Self::State, Box<dyn Error + Send + Sync>> {
        let _ = (key, encoded);
        Err("this accumulator does not decode spilled state".into())
    }
}

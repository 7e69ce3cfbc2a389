//! One open group: its state (resident or spilled) and its bookkeeping.

use core::hash::{Hash, Hasher};

use bytes::Bytes;
use flux_core::{EmitReason, Instant, Meta, TraceContext};

use crate::infos::{InfoMut, InfoRef};
use crate::key::{StoredKey, same_key};
use crate::policy::KeyStorage;

/// A group's identity: its key and, with event-time windows, its window
/// index (zero without windows).
#[derive(Clone, Debug)]
pub(crate) struct GroupKey {
    pub(crate) key: StoredKey,
    pub(crate) window: u64,
}

/// A fragment's key looking for its group, so that a lookup copies
/// nothing; `storage` says how a group opened by it keeps the key.
pub(crate) struct GroupKeyRef<'a> {
    pub(crate) key: &'a Bytes,
    pub(crate) window: u64,
    pub(crate) storage: KeyStorage,
}

fn hash_parts<H: Hasher>(key: &[u8], window: u64, state: &mut H) {
    key.hash(state);
    state.write_u64(window);
}

impl Hash for GroupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(self.key.as_slice(), self.window, state);
    }
}

impl PartialEq for GroupKey {
    fn eq(&self, other: &Self) -> bool {
        self.window == other.window && same_key(self.key.as_slice(), other.key.as_slice())
    }
}

impl Eq for GroupKey {}

impl Hash for GroupKeyRef<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(self.key, self.window, state);
    }
}

impl hashbrown::Equivalent<GroupKey> for GroupKeyRef<'_> {
    #[inline]
    fn equivalent(&self, other: &GroupKey) -> bool {
        self.window == other.window && same_key(self.key, other.key.as_slice())
    }
}

impl From<&GroupKeyRef<'_>> for GroupKey {
    /// The group's own key, made once when the group opens.
    fn from(probe: &GroupKeyRef<'_>) -> Self {
        GroupKey { key: StoredKey::new(probe.key, probe.storage), window: probe.window }
    }
}

/// Where a group's state lives.
pub(crate) enum Slot<S> {
    /// In memory, ready to merge.
    Resident(S),
    /// Encoded and compressed by the spill strategy.
    Spilled(Box<[u8]>),
    /// Taken out while the group is being emitted or restored.
    Vacant,
}

impl<S> Slot<S> {
    /// The state, if it is in memory.
    pub(crate) fn resident(&self) -> Option<&S> {
        match self {
            Slot::Resident(state) => Some(state),
            Slot::Spilled(_) | Slot::Vacant => None,
        }
    }

    /// Makes the slot hold `state` in memory, returning it.
    pub(crate) fn insert_resident(&mut self, state: S) -> &mut S {
        *self = Slot::Resident(state);
        match self {
            Slot::Resident(state) => state,
            Slot::Spilled(_) | Slot::Vacant => unreachable!("the slot was just made resident"),
        }
    }
}

/// The correlation a record keeps from its group's first fragment: plain
/// values, never a slice of the input, so a long-lived group pins no buffer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Origin {
    pub(crate) sequence: u64,
    pub(crate) event_time: Option<Instant>,
    pub(crate) trace: TraceContext,
}

impl Origin {
    #[inline]
    pub(crate) fn of(meta: &Meta) -> Self {
        Origin { sequence: meta.sequence, event_time: meta.event_time, trace: meta.trace }
    }
}

/// An open group, taken out of the table or about to go in: its core,
/// which the table keeps in its entry, and its bookkeeping, which the table
/// keeps aside (see [`GroupCore`]).
pub(crate) struct Group<S, K> {
    pub(crate) core: GroupCore<S>,
    pub(crate) info: GroupInfo<K>,
}

/// What a plain fragment's merge reads or writes: the part of a group
/// inline in the hash table. A table entry, key included, is 88 bytes for
/// a 16-byte state, from 144 when all bookkeeping was inline: a smaller
/// table misses the cache and the TLB less on every lookup. The rest
/// ([`GroupInfo`]) sits in the table's bookkeeping arena, which a group's
/// opening, timers and emission touch.
///
/// The state's size is not stored: it is measured when needed
/// ([`Accumulator::state_bytes`](flux_core::Accumulator::state_bytes) for a
/// resident state, the stored length for a spilled one).
pub(crate) struct GroupCore<S> {
    pub(crate) state: Slot<S>,
    pub(crate) fragments: u64,
    /// Sum of the fragments' envelope costs.
    pub(crate) bytes: u64,
    /// Where the group's [`GroupInfo`] is in the table's arena.
    pub(crate) info: crate::infos::InfoId,
}

/// An open group in the table, to change: its core and its bookkeeping,
/// each borrowed on its own so that both can be changed at once.
pub(crate) struct GroupMut<'a, S, K> {
    pub(crate) core: &'a mut GroupCore<S>,
    pub(crate) info: InfoMut<'a, K>,
}

/// An open group in the table, to read.
pub(crate) struct GroupRef<'a, S, K> {
    pub(crate) core: &'a GroupCore<S>,
    pub(crate) info: InfoRef<'a, K>,
}

// By hand: derived, they would ask `S` and `K` to be `Copy` too.
impl<S, K> Clone for GroupRef<'_, S, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, K> Copy for GroupRef<'_, S, K> {}

/// What a group needs only when it opens, times out or is emitted (and,
/// for policies with timers or recency, on each fragment). The default is
/// what a freed place in the arena holds.
#[derive(Default)]
pub(crate) struct GroupInfo<K> {
    pub(crate) first_at: Instant,
    pub(crate) last_at: Instant,
    /// When the group's timer fires and what it fires as.
    pub(crate) fire: Option<(Instant, EmitReason)>,
    /// Recency stamp of the latest fragment (for LRU eviction and spill).
    pub(crate) touched: u64,
    /// Order of first arrival among all groups the stage opened.
    pub(crate) serial: u64,
    /// When the group's window is emitted by the watermark.
    pub(crate) window_due: Option<Instant>,
    /// When a whole group that could take more stops waiting for it: set
    /// once, at the merge after which `Accumulator::linger_for` answered.
    pub(crate) linger_until: Option<Instant>,
    /// The TTL the group's latest merge read (its own or the policy's),
    /// kept so that its timer can be moved without its state (when a
    /// periodic TTL's ticks restart).
    pub(crate) ttl: Option<core::time::Duration>,
    pub(crate) origin: Origin,
    /// The fragments kept for re-emission (nothing unless the stage
    /// re-emits fragments).
    pub(crate) kept: K,
}

impl<S, K: Default> Group<S, K> {
    pub(crate) fn new(state: S, serial: u64, now: Instant, origin: Origin) -> Self {
        Group {
            core: GroupCore { state: Slot::Resident(state), fragments: 0, bytes: 0, info: crate::infos::InfoId::NONE },
            info: GroupInfo {
                first_at: now,
                last_at: now,
                fire: None,
                touched: 0,
                serial,
                window_due: None,
                linger_until: None,
                ttl: None,
                origin,
                kept: K::default(),
            },
        }
    }
}

impl<S> GroupCore<S> {
    pub(crate) fn is_spilled(&self) -> bool {
        matches!(self.state, Slot::Spilled(_))
    }
}

//! The node's components, each chosen once from the policy when the stage
//! is built.
//!
//! The components share one small vocabulary, each using the verbs that
//! concern it (besides a few of its own, such as `Windows::admit`), so
//! that the node's paths read as a sequence of the same few calls:
//!
//! - `open`: a group opened and stays open (its first fragment merged);
//! - `merge`: a fragment joined an open group;
//! - `emit`: a group left the table (emitted, evicted or discarded);
//! - `next_deadline` / `pop_due`: when the component next needs the stage,
//!   and which group is due then;
//! - `heap_bytes`: the memory it holds for the open groups, which the
//!   stage's held bytes are derived from (never kept as a separate count).
//!
//! A component the policy does not ask for is its off form: each call
//! returns at once, with nothing to do. The node never asks the policy
//! again whether a component is on; it asks the component.

mod closing;
mod eviction;
mod spill;
mod timers;
mod windows;

pub(super) use closing::KeyClosing;
pub(super) use eviction::EvictionOrder;
pub(super) use spill::SpillTier;
pub(super) use timers::GroupTimers;
pub(super) use windows::{Admitted, Windows};

use flux_core::Instant;

use crate::group::GroupKey;

/// A B-tree index of groups by (time, first-arrival serial), as the timer
/// and window components keep them: the deterministic order in which one
/// tick emits.
type ByTime = std::collections::BTreeMap<(Instant, u64), GroupKey>;

/// Heap bytes of `entries` entries of a [`ByTime`] index, with the room
/// its nodes leave free.
fn by_time_bytes(entries: usize) -> usize {
    (core::mem::size_of::<((Instant, u64), GroupKey)>() * 3 / 2) * entries
}

/// Moves a group's entry in `index` from `old` to `new` (either may be
/// none: a timer set, moved or cleared); `key` makes the entry's key when
/// the group had none.
fn move_entry(
    index: &mut ByTime,
    serial: u64,
    old: Option<Instant>,
    new: Option<Instant>,
    key: impl FnOnce() -> GroupKey,
) {
    let entry = old.and_then(|at| index.remove(&(at, serial)));
    if let Some(at) = new {
        index.insert((at, serial), entry.unwrap_or_else(key));
    }
}

/// Removes and returns the first entry of `index` due at `now`.
fn pop_due(index: &mut ByTime, now: Instant) -> Option<GroupKey> {
    let entry = index.first_entry()?;
    (entry.key().0 <= now).then(|| entry.remove())
}

#[cfg(test)]
pub(super) mod tests {
    use bytes::Bytes;
    use flux_core::{Instant, TraceContext};

    use crate::group::{Group, GroupKey, GroupKeyRef, Origin};
    use crate::policy::KeyStorage;
    use crate::table::GroupTable;

    pub(crate) type Table = GroupTable<u64, ()>;

    pub(crate) fn key(name: &str) -> GroupKey {
        let key = Bytes::copy_from_slice(name.as_bytes());
        GroupKey::from(&GroupKeyRef { key: &key, window: 0, storage: KeyStorage::Copy })
    }

    /// Opens a group under `name` with arrival serial `serial` and latest use `touched`.
    pub(crate) fn open(table: &mut Table, name: &str, serial: u64, touched: u64) {
        let origin = Origin { sequence: serial, event_time: None, trace: TraceContext::default() };
        let mut group = Group::new(0_u64, serial, Instant::ZERO, origin);
        group.info.touched = touched;
        let k = key(name);
        let hash = table.hash(&k);
        let Err(vacant) = table.find_or_vacant_at(hash, crate::table::NO_SLOT, &k) else {
            panic!("{name} is open already")
        };
        vacant.open((k, group));
    }

    #[test]
    fn an_index_entry_moves_with_its_timer_and_pops_in_time_then_serial_order() {
        let mut index = super::ByTime::new();
        let at = Instant::from_secs;
        super::move_entry(&mut index, 1, None, Some(at(5)), || key("a"));
        super::move_entry(&mut index, 0, None, Some(at(5)), || key("b"));
        super::move_entry(&mut index, 2, None, Some(at(3)), || key("c"));
        // Moved, the entry keeps its key: the closure is not asked again.
        super::move_entry(&mut index, 2, Some(at(3)), Some(at(9)), || unreachable!("c has an entry"));
        assert_eq!(index.len(), 3);
        assert!(super::pop_due(&mut index, at(4)).is_none(), "nothing is due before 5 s");
        let popped: Vec<_> = core::iter::from_fn(|| super::pop_due(&mut index, at(5))).collect();
        assert_eq!(popped, [key("b"), key("a")], "a tie goes to the lower serial");
        super::move_entry(&mut index, 2, Some(at(9)), None, || unreachable!("cleared"));
        assert!(index.is_empty(), "a cleared timer leaves the index");
        assert_eq!(super::by_time_bytes(2), 2 * super::by_time_bytes(1));
        assert!(super::by_time_bytes(1) > core::mem::size_of::<((Instant, u64), GroupKey)>());
    }
}

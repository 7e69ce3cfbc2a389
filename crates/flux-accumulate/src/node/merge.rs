//! The step both ways in share: find or open the fragment's group, merge
//! the fragment into it, and count it. What comes before (the key, the
//! components' checks) and after (the verdict, the timers) is each path's
//! own.
//!
//! A macro, not a function: the step splits the node's borrows (the table
//! on one side, the accumulator, the counts and the ledger on the other)
//! and hands back a group still borrowed from the table. Written as an
//! inlined function taking those borrows, it cost the plain path 14
//! instructions a fragment (2.6%, callgrind over `cargo xtask bench
//! accumulate --instructions`), where the macro's expansion is the code
//! each path had before.

/// Finds the group under `$probe` (with its lookup hash and slot hint) or
/// opens it as of `$at`, and merges the fragment's parts into it. A merged
/// fragment is counted in its group and the ledger. A panic in `open`
/// opens nothing; one in `state_bytes` or `merge` leaves the group marked
/// half-merged (see `MergeMark`); either way the fragment is the panic's
/// dead letter.
///
/// Binds, in the caller's scope, the names after `=>`: the group, whether
/// the fragment opened it, its state, the state's bytes before the merge
/// (the caller measures after, under its own guard) and the merge's
/// result. The group must be resident: the general path restores a
/// spilled one first, and a plain policy never spills.
macro_rules! merge_fragment {
    (
        $node:ident, $probe:expr, ($hash:expr, $hint:expr), ($payload:ident, $meta:ident, $cost:ident), $copy:ident,
        $origin:ident, $at:expr => $group:ident, $opened:ident, $state:ident, $before:ident, $result:ident
    ) => {
        let acc = &mut $node.acc;
        let opening = $crate::node::fragment::Opening {
            serials: &mut $node.next_serial,
            resident: &mut $node.resident_bytes,
            key_heap: &mut $node.key_heap,
        };
        // `open` runs before the table inserts: a panic in it opens nothing.
        let guard = flux_core::PanicGuard::new(&$node.id, $origin.sequence);
        let (mut $group, $opened) = match $node.groups.find_or_vacant_at($hash, $hint, $probe) {
            Ok(group) => (group, false),
            Err(vacant) => (vacant.open($crate::node::fragment::open_group(acc, opening, $probe, $at, $origin)), true),
        };
        let $crate::group::Slot::Resident($state) = &mut $group.core.state else {
            unreachable!("a spilled group is restored before its next fragment")
        };
        let mark = $crate::node::fragment::MergeMark { slot: &mut $node.half_merged, group: $probe };
        let $before = $node.acc.state_bytes($state) as u64;
        let $result = $node.acc.merge($state, flux_core::Envelope::from_parts($payload, $meta, $cost));
        mark.disarm();
        guard.disarm();
        if $result.is_ok() {
            $group.core.fragments += 1;
            $group.core.bytes += u64::from($cost.bytes);
            // The bookkeeping is only reached for when fragments are kept.
            if R::KEEPS {
                R::keep(&mut $group.info.kept, $copy);
            }
            $node.ledger.merged += 1;
            $node.ledger.pending += 1;
        }
    };
}

pub(super) use merge_fragment;

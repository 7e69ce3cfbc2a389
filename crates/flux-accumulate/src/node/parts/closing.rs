//! Closed keys: a key whose group ended turns its late fragments away.

use flux_core::{EmitReason, Instant};

use crate::closed::ClosedSet;
use crate::group::{GroupKey, GroupKeyRef};
use crate::policy::{ClosedKeys, Policy};

/// The keys closed after their group ended, for as long and as many as
/// the policy's [`ClosedKeys`] says; off (no key ever closes) without one.
pub(crate) struct KeyClosing {
    closed: Option<(ClosedKeys, ClosedSet)>,
}

impl KeyClosing {
    pub(crate) fn new(policy: &Policy) -> Self {
        KeyClosing { closed: policy.closed_keys.map(|limits| (limits, ClosedSet::new(limits))) }
    }

    /// Whether the policy closes no key.
    pub(crate) fn is_off(&self) -> bool {
        self.closed.is_none()
    }

    /// Whether an emission for `reason` closes the group's key.
    #[inline]
    pub(crate) fn closes(&self, reason: EmitReason) -> bool {
        self.closed.as_ref().is_some_and(|(limits, _)| limits.after.closes(reason))
    }

    /// Whether a fragment of `key` arriving at `now` is turned away.
    pub(crate) fn turns_away(&mut self, key: &GroupKeyRef<'_>, now: Instant) -> bool {
        self.closed.as_mut().is_some_and(|(_, set)| set.hit(key, now))
    }

    /// The group under `key` ended at `now` for a reason that closes it.
    pub(crate) fn emit(&mut self, key: GroupKey, now: Instant) {
        if let Some((_, set)) = &mut self.closed {
            set.close(key, now);
        }
    }

    /// Forgets the keys past their time at `now`.
    pub(crate) fn forget(&mut self, now: Instant) {
        if let Some((_, set)) = &mut self.closed {
            set.forget(now);
        }
    }

    /// How many closed keys have been forgotten, as the stats show it.
    pub(crate) fn forgotten(&self) -> u64 {
        self.closed.as_ref().map_or(0, |(_, set)| set.forgotten())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use flux_core::{EmitReason, Instant};

    use super::KeyClosing;
    use crate::group::GroupKeyRef;
    use crate::node::parts::tests::key;
    use crate::policy::{CloseAfter, ClosedKeys, KeyStorage, Policy};

    #[test]
    fn a_key_closes_after_the_reasons_its_rule_names_and_off_none_does() {
        let closing =
            |after| KeyClosing::new(&Policy::builder().closed_keys(ClosedKeys::new(4).after(after)).build().unwrap());
        assert!(closing(CloseAfter::Whole).closes(EmitReason::Complete));
        assert!(!closing(CloseAfter::Whole).closes(EmitReason::Count));
        assert!(closing(CloseAfter::WholeOrFull).closes(EmitReason::Count));
        assert!(closing(CloseAfter::AnyEnd).closes(EmitReason::Lifetime));
        let mut off = KeyClosing::new(&Policy::default());
        assert!(!off.closes(EmitReason::Complete));
        off.emit(key("a"), Instant::ZERO);
        let a = Bytes::from_static(b"a");
        assert!(!off.turns_away(&GroupKeyRef { key: &a, window: 0, storage: KeyStorage::Copy }, Instant::ZERO));
        assert_eq!(off.forgotten(), 0);

        let mut on = closing(CloseAfter::Whole);
        on.emit(key("a"), Instant::ZERO);
        assert!(on.turns_away(&GroupKeyRef { key: &a, window: 0, storage: KeyStorage::Copy }, Instant::ZERO));
        for name in ["b", "c", "d", "e"] {
            on.emit(key(name), Instant::ZERO);
        }
        assert_eq!(on.forgotten(), 1, "a fifth key past a capacity of four forgets the oldest");
    }

    #[test]
    fn a_tick_forgets_the_keys_past_their_time_with_no_fragment_asking() {
        let limits = ClosedKeys::new(4).remember_for(core::time::Duration::from_secs(10));
        let mut closing = KeyClosing::new(&Policy::builder().closed_keys(limits).build().unwrap());
        closing.emit(key("a"), Instant::ZERO);
        closing.emit(key("b"), Instant::from_secs(5));
        closing.forget(Instant::from_secs(9));
        assert_eq!(closing.forgotten(), 0);
        closing.forget(Instant::from_secs(10));
        assert_eq!(closing.forgotten(), 1, "a is past its ten seconds at 10 s, b is not");
        closing.forget(Instant::from_secs(15));
        assert_eq!(closing.forgotten(), 2);
    }
}

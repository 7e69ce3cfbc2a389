//! Event-time windows, closed by the watermark.

use flux_core::Instant;

use super::{ByTime, by_time_bytes};
use crate::group::{GroupInfo, GroupKey};
use crate::node::deadline::expiry_at;
use crate::policy::{Expiry, Policy, Timer, Watermark};

/// The windows of the open groups and the watermark that closes them; off
/// (every fragment in window zero, nothing ever due) without a
/// [`Watermark`] in the policy.
pub(crate) struct Windows {
    rule: Option<Rule>,
    /// The largest event time seen, less the allowed out-of-orderness.
    watermark: Option<Instant>,
    /// Groups by (due watermark, first-arrival serial).
    by_due: ByTime,
}

#[derive(Clone, Copy)]
struct Rule {
    watermark: Watermark,
    /// The window's length in nanoseconds (at least one).
    length: u64,
    expiry: Expiry,
}

/// What becomes of a fragment on its way into a window.
pub(crate) enum Admitted {
    /// It joins the window of this index; `advanced` says the watermark
    /// moved, so windows may be due.
    Window { index: u64, advanced: bool },
    /// Windows need an event time, and it has none.
    MissingEventTime,
    /// Its window was emitted already.
    Late,
}

impl Windows {
    pub(crate) fn new(policy: &Policy) -> Self {
        let rule = policy.watermark.map(|watermark| Rule {
            watermark,
            length: u64::try_from(watermark.window.as_nanos()).unwrap_or(u64::MAX).max(1),
            expiry: policy.expiry.of(Timer::Window),
        });
        Windows { rule, watermark: None, by_due: ByTime::new() }
    }

    /// Whether the policy has no windows.
    pub(crate) fn is_off(&self) -> bool {
        self.rule.is_none()
    }

    /// Finds the window of a fragment with `event_time`, and moves the
    /// watermark past it. Off, every fragment joins window zero.
    pub(crate) fn admit(&mut self, event_time: Option<Instant>) -> Admitted {
        let Some(rule) = self.rule else { return Admitted::Window { index: 0, advanced: false } };
        let Some(at) = event_time else { return Admitted::MissingEventTime };
        let index = at.as_nanos() / rule.length;
        if self.watermark.is_some_and(|mark| mark >= rule.due(index)) {
            return Admitted::Late;
        }
        let mark = at - rule.watermark.out_of_orderness;
        let advanced = self.watermark.is_none_or(|current| mark > current);
        if advanced {
            self.watermark = Some(mark);
        }
        Admitted::Window { index, advanced }
    }

    /// A group opened: it is indexed by the watermark that closes its
    /// window, which it keeps in `info`.
    pub(crate) fn open<K>(&mut self, key: &GroupKey, info: &mut GroupInfo<K>) {
        let Some(rule) = self.rule else { return };
        let due = rule.due(key.window);
        info.window_due = Some(due);
        self.by_due.insert((due, info.serial), key.clone());
    }

    /// A group left: its window entry goes with it.
    pub(crate) fn emit<K>(&mut self, info: &GroupInfo<K>) {
        if let Some(due) = info.window_due {
            self.by_due.remove(&(due, info.serial));
        }
    }

    /// The next group whose window the watermark has reached, taken off the index.
    pub(crate) fn pop_due(&mut self) -> Option<GroupKey> {
        super::pop_due(&mut self.by_due, self.watermark?)
    }

    /// Whether no group is waiting for its window to close.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.by_due.is_empty()
    }

    /// Every group left at once.
    pub(crate) fn clear(&mut self) {
        self.by_due.clear();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        by_time_bytes(self.by_due.len())
    }
}

impl Rule {
    /// The watermark at which window `index` is emitted (and after which
    /// its fragments are late).
    fn due(&self, index: u64) -> Instant {
        let end = Instant::from_nanos(index.saturating_add(1).saturating_mul(self.length));
        expiry_at(end + self.watermark.allowed_lateness, self.expiry)
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use flux_core::Instant;

    use super::{Admitted, Windows};
    use crate::node::parts::tests::{Table, key, open};
    use crate::policy::{Policy, Watermark};

    fn windows(lateness: u64) -> Windows {
        let watermark = Watermark {
            window: Duration::from_secs(10),
            out_of_orderness: Duration::from_secs(2),
            allowed_lateness: Duration::from_secs(lateness),
        };
        Windows::new(&Policy::builder().watermark(watermark).build().unwrap())
    }

    fn admit(windows: &mut Windows, secs: u64) -> (Option<u64>, bool) {
        match windows.admit(Some(Instant::from_secs(secs))) {
            Admitted::Window { index, advanced } => (Some(index), advanced),
            Admitted::Late => (None, false),
            Admitted::MissingEventTime => unreachable!("every fragment here has an event time"),
        }
    }

    #[test]
    fn a_fragment_is_late_once_the_watermark_reaches_its_window_due() {
        let mut w = windows(1);
        assert_eq!(admit(&mut w, 5), (Some(0), true));
        assert_eq!(admit(&mut w, 3), (Some(0), false), "an older event leaves the watermark");
        // Window 0 is due at 10 s + 1 s of lateness: watermark 13 - 2 = 11.
        assert_eq!(admit(&mut w, 12), (Some(1), true));
        assert_eq!(admit(&mut w, 9), (Some(0), false), "watermark 10 is before the due 11");
        assert_eq!(admit(&mut w, 13), (Some(1), true));
        assert_eq!(admit(&mut w, 9), (None, false), "watermark 11 reached the due: late");
        assert!(matches!(w.admit(None), Admitted::MissingEventTime));
    }

    #[test]
    fn a_window_is_due_when_the_watermark_reaches_it_and_off_everything_is_window_zero() {
        let mut w = windows(0);
        let mut table = Table::default();
        open(&mut table, "a", 0, 0);
        let (k, mut group) = (key("a"), table.get_mut(&key("a")).unwrap());
        w.open(&k, &mut group.info);
        assert_eq!(group.info.window_due, Some(Instant::from_secs(10)));
        assert!(!w.is_empty());
        assert_eq!(w.heap_bytes(), crate::node::parts::by_time_bytes(1));
        assert!(w.pop_due().is_none(), "no watermark yet");
        admit(&mut w, 11);
        assert!(w.pop_due().is_none(), "watermark 9");
        admit(&mut w, 12);
        assert_eq!(w.pop_due(), Some(key("a")), "watermark 10");
        assert!(w.is_empty());

        // A group that leaves before its window closes takes its entry;
        // all leaving at once take them all.
        open(&mut table, "b", 1, 0);
        let (kb, mut b_group) = (key("b"), table.get_mut(&key("b")).unwrap());
        w.open(&kb, &mut b_group.info);
        assert!(!w.is_empty());
        w.emit(&b_group.info);
        assert!(w.is_empty(), "emitted for its size, the group's window entry goes");
        w.open(&kb, &mut b_group.info);
        w.clear();
        assert!(w.is_empty() && w.heap_bytes() == 0);

        let mut off = Windows::new(&Policy::default());
        assert!(matches!(off.admit(None), Admitted::Window { index: 0, advanced: false }));
        let mut group = table.get_mut(&key("a")).unwrap();
        group.info.window_due = None;
        off.open(&k, &mut group.info);
        assert_eq!(group.info.window_due, None);
        assert!(off.is_empty() && off.pop_due().is_none());
    }
}

//! When a group's timer fires: its latency limit, its TTL (by the policy's
//! `TimerStart`), its linger, the earliest; moved by the deadline rule and
//! the timer check period.

use core::time::Duration;

use flux_core::{EmitReason, Instant};

use crate::group::GroupInfo;
use crate::policy::{Expiry, Policy, Timer, TimerStart};

/// The group's timer: the earliest of its latency limit, its TTL (`info.ttl`,
/// started as the policy says; a periodic TTL's ticks count from `phase`)
/// and its linger, with its reason; a tie goes to the earlier in that order.
pub(crate) fn group_fire<K>(policy: &Policy, info: &GroupInfo<K>, phase: Instant) -> Option<(Instant, EmitReason)> {
    let expiry = &policy.expiry;
    let latency =
        policy.max_latency.map(|d| (expiry_at(info.first_at + d, expiry.of(Timer::Latency)), EmitReason::Latency));
    let ttl = info.ttl.map(|after| {
        let (at, reason) = match policy.ttl.map_or(TimerStart::FirstFragment, |t| t.start) {
            TimerStart::FirstFragment => (info.first_at + after, EmitReason::Lifetime),
            TimerStart::LastFragment => (info.last_at + after, EmitReason::Inactivity),
            TimerStart::FixedInterval => (next_tick(Instant::ZERO, info.first_at, after), EmitReason::Interval),
            TimerStart::Periodic => (next_tick(phase, info.first_at.max(phase), after), EmitReason::Interval),
        };
        (expiry_at(at, expiry.of(Timer::Ttl)), reason)
    });
    // A whole group that lingers for more goes out as complete.
    let linger = info.linger_until.map(|at| (expiry_at(at, expiry.of(Timer::Linger)), EmitReason::Complete));
    let fire = [latency, ttl, linger].into_iter().flatten().min_by_key(|(at, _)| *at);
    fire.map(|(at, reason)| (checked_at(policy, at), reason))
}

/// When a deadline at `deadline` fires, by its timer's expiry boundary.
pub(crate) fn expiry_at(deadline: Instant, expiry: Expiry) -> Instant {
    match expiry {
        Expiry::AtDeadline => deadline,
        Expiry::AfterDeadline => deadline + Duration::from_nanos(1),
    }
}

/// The first tick `origin + k * interval` (k at least 1) strictly after
/// `opened`, which is not before `origin`.
pub(super) fn next_tick(origin: Instant, opened: Instant, interval: Duration) -> Instant {
    let step = nanos(interval).max(1);
    let since = opened.as_nanos().saturating_sub(origin.as_nanos());
    Instant::from_nanos(origin.as_nanos().saturating_add((since / step).saturating_add(1).saturating_mul(step)))
}

/// When a timer due at `at` fires: then, or under a check period the
/// first multiple of it at or after `at`.
pub(super) fn checked_at(policy: &Policy, at: Instant) -> Instant {
    let Some(period) = policy.check_every else { return at };
    let step = nanos(period).max(1);
    Instant::from_nanos(at.as_nanos().div_ceil(step).saturating_mul(step))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_count_from_their_origin_and_never_fall_on_the_opening_instant() {
        let at = Instant::from_secs;
        let ten = Duration::from_secs(10);
        assert_eq!(next_tick(Instant::ZERO, at(0), ten), at(10));
        assert_eq!(next_tick(Instant::ZERO, at(10), ten), at(20));
        assert_eq!(next_tick(Instant::ZERO, at(19), ten), at(20));
        assert_eq!(next_tick(at(7), at(7), ten), at(17));
        assert_eq!(next_tick(at(7), at(17), ten), at(27));
        assert_eq!(next_tick(at(7), at(26), ten), at(27));
    }

    #[test]
    fn a_check_period_rounds_up_to_its_multiples_and_keeps_exact_ones() {
        let policy = Policy::builder().check_every(Duration::from_secs(5)).build().unwrap();
        let at = Instant::from_millis;
        assert_eq!(checked_at(&policy, at(10_000)), at(10_000));
        assert_eq!(checked_at(&policy, at(10_001)), at(15_000));
        assert_eq!(checked_at(&policy, at(14_999)), at(15_000));
        assert_eq!(checked_at(&policy, Instant::ZERO), Instant::ZERO);
        assert_eq!(checked_at(&Policy::default(), at(10_001)), at(10_001));
    }
}

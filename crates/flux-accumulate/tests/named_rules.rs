//! Every record's reason names the rule that ended its group, and each
//! kind of timer can meet its deadline at the instant or just after it.

mod support;

use std::time::Duration;

use flux_accumulate::{Expiry, Policy, PolicyBuilder, Timer, TimerStart};
use flux_core::{Cost, EmitReason, Instant};
use support::{Harness, Parts, frag, secs};

/// Runs `pushes` (time, key, part) through `acc` under `policy`, then the
/// end of input (each fragment weighing a byte); each record as
/// (emitted at, values, reason).
fn run(acc: Parts, policy: PolicyBuilder, pushes: &[(u64, &'static str, u8)]) -> Vec<(Instant, Vec<u32>, EmitReason)> {
    let mut h = Harness::new(acc, policy.build().unwrap());
    for (i, &(at, key, part)) in pushes.iter().enumerate() {
        h.advance_to(secs(at));
        h.push(frag(key, part, i as u32).with_sequence(i as u64).with_cost(Cost::bytes(1)));
    }
    h.finish();
    h.assert_balanced(true);
    h.take().into_iter().map(|(at, r)| (at, r.payload().values.clone(), r.payload().reason)).collect()
}

/// What a case pushes: (time, key, part).
type Pushes = Vec<(u64, &'static str, u8)>;

fn ttl(d: u64, start: TimerStart) -> PolicyBuilder {
    Policy::builder().ttl(Duration::from_secs(d), start)
}

#[test]
fn each_rule_names_itself() {
    let b = Policy::builder;
    let cases: Vec<(&str, Parts, PolicyBuilder, Pushes, EmitReason)> = vec![
        (
            "completeness",
            Parts { required: 0b11, ..Parts::default() },
            b(),
            vec![(0, "k", 0), (0, "k", 1)],
            EmitReason::Complete,
        ),
        (
            "ends when",
            Parts { ends_on_part: Some(5), ..Parts::default() },
            b(),
            vec![(0, "k", 0), (0, "k", 5)],
            EmitReason::EndCondition,
        ),
        (
            "starts when",
            Parts { starts_on_part: Some(5), ..Parts::default() },
            b(),
            vec![(0, "k", 0), (0, "k", 5)],
            EmitReason::StartCondition,
        ),
        ("item limit", Parts::default(), b().max_items(2), vec![(0, "k", 0), (0, "k", 1)], EmitReason::Count),
        ("weight limit", Parts::default(), b().max_bytes(1), vec![(0, "k", 0)], EmitReason::Weight),
        (
            "latency",
            Parts::default(),
            b().max_latency(Duration::from_secs(5)),
            vec![(0, "k", 0), (9, "j", 0)],
            EmitReason::Latency,
        ),
        (
            "lifetime",
            Parts::default(),
            ttl(5, TimerStart::FirstFragment),
            vec![(0, "k", 0), (9, "j", 0)],
            EmitReason::Lifetime,
        ),
        (
            "inactivity",
            Parts::default(),
            ttl(5, TimerStart::LastFragment),
            vec![(0, "k", 0), (9, "j", 0)],
            EmitReason::Inactivity,
        ),
        (
            "interval",
            Parts::default(),
            ttl(5, TimerStart::FixedInterval),
            vec![(0, "k", 0), (9, "j", 0)],
            EmitReason::Interval,
        ),
        ("key limit", Parts::default(), b().max_live_keys(1), vec![(0, "k", 0), (0, "j", 0)], EmitReason::Evicted),
        ("end of input", Parts::default(), b(), vec![(0, "k", 0)], EmitReason::EndOfStream),
    ];
    for (rule, acc, policy, pushes, reason) in cases {
        let out = run(acc, policy, &pushes);
        assert_eq!(out[0].2, reason, "{rule}: {out:?}");
        assert_eq!(reason.is_whole(), matches!(rule, "completeness" | "ends when" | "starts when"), "{rule}");
        assert_eq!(
            reason.is_timer(),
            matches!(rule, "latency" | "lifetime" | "inactivity" | "interval"),
            "{rule}: only timers expire"
        );
    }
}

#[test]
fn each_timer_meets_its_deadline_at_the_instant_or_after_it_as_set_alone() {
    // A lifetime of 10 s and a fragment exactly at 10 s: at the deadline it
    // opens the next group; after it, it still joins.
    let lifetime = |expiry: Expiry| {
        let policy = ttl(10, TimerStart::FirstFragment).expiry_of(Timer::Ttl, expiry);
        run(Parts::default(), policy, &[(0, "k", 0), (10, "k", 0)])
    };
    let at = lifetime(Expiry::AtDeadline);
    assert_eq!(at[0], (secs(10), vec![0], EmitReason::Lifetime));
    assert_eq!(at[1].1, vec![1], "the fragment at the deadline opened the next group");
    let after = lifetime(Expiry::AfterDeadline);
    assert_eq!(after, [(secs(10), vec![0, 1], EmitReason::EndOfStream)], "it joined: open until the end");

    // Setting the latency's rule leaves the TTL's as it was, and back.
    let both = |latency: Expiry, ttl_rule: Expiry| {
        let policy = Policy::builder()
            .max_latency(Duration::from_secs(10))
            .ttl(Duration::from_secs(20), TimerStart::FirstFragment)
            .expiry(Expiry::AfterDeadline)
            .expiry_of(Timer::Latency, latency)
            .expiry_of(Timer::Ttl, ttl_rule);
        let built = policy.clone().build().unwrap();
        assert_eq!((built.expiry_of(Timer::Latency), built.expiry_of(Timer::Ttl)), (latency, ttl_rule));
        assert_eq!(built.expiry_of(Timer::Window), Expiry::AfterDeadline, "untouched by `expiry_of`");
        run(Parts::default(), policy, &[(0, "k", 0), (10, "k", 0)])
    };
    let out = both(Expiry::AtDeadline, Expiry::AfterDeadline);
    assert_eq!(out[0], (secs(10), vec![0], EmitReason::Latency), "latency at its instant");
    let out = both(Expiry::AfterDeadline, Expiry::AtDeadline);
    assert_eq!(out, [(secs(10), vec![0, 1], EmitReason::EndOfStream)], "latency just after: the fragment joined");
}

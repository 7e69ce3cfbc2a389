//! Time limits on the virtual clock: TTL (lifetime, inactivity, fixed
//! interval), max latency, the deadline boundary, and emission order.

mod support;

use std::time::Duration;

use flux_accumulate::{Expiry, Policy, TimerStart};
use flux_core::{EmitReason, Instant};
use support::{Harness, Parts, frag, secs};

fn ttl(after: u64, start: TimerStart) -> Policy {
    Policy::builder().ttl(Duration::from_secs(after), start).build().unwrap()
}

#[test]
fn a_ttl_expires_exactly_on_its_tick() {
    let mut h = Harness::new(Parts::default(), ttl(10, TimerStart::FirstFragment));
    h.push(frag("k", 0, 1));
    assert_eq!(h.node_deadline(), Some(secs(10)));
    h.tick(secs(10) - Duration::from_nanos(1));
    assert_eq!(h.records(), 0, "one nanosecond early");
    h.tick(secs(10));
    let out = h.take();
    assert_eq!(out[0].0, secs(10), "fired at the deadline, not a tick late");
    assert_eq!(out[0].1.payload().reason, EmitReason::Lifetime);
    h.assert_balanced(false);
}

#[test]
fn a_fragment_at_the_deadline_opens_the_next_group_by_default() {
    let mut h = Harness::new(Parts::default(), ttl(10, TimerStart::FirstFragment));
    h.push(frag("k", 0, 1));
    h.now = secs(10); // the fragment arrives before the engine fired the timer
    h.push(frag("k", 0, 2));
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.payload().values, [1]);
    assert_eq!(out[0].1.payload().reason, EmitReason::Lifetime);
    h.advance_to(secs(20));
    assert_eq!(h.take()[0].1.payload().values, [2]);
}

#[test]
fn with_after_deadline_a_fragment_at_the_deadline_joins() {
    let policy = Policy::builder()
        .ttl(Duration::from_secs(10), TimerStart::FirstFragment)
        .expiry(Expiry::AfterDeadline)
        .build()
        .unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1));
    h.tick(secs(10));
    assert_eq!(h.records(), 0, "not expired at the deadline itself");
    h.push(frag("k", 0, 2));
    assert_eq!(h.node_deadline(), Some(secs(10) + Duration::from_nanos(1)));
    h.advance_to(secs(11));
    let out = h.take();
    assert_eq!(out[0].0, secs(10) + Duration::from_nanos(1));
    assert_eq!(out[0].1.payload().values, [1, 2]);
}

#[test]
fn an_inactivity_ttl_restarts_with_each_fragment() {
    let mut h = Harness::new(Parts::default(), ttl(10, TimerStart::LastFragment));
    for at in [0, 8, 16] {
        h.advance_to(secs(at));
        h.push(frag("k", 0, at as u32));
    }
    h.advance_to(secs(25));
    assert_eq!(h.records(), 0);
    h.advance_to(secs(30));
    let out = h.take();
    assert_eq!(out[0].0, secs(26));
    assert_eq!(out[0].1.payload().values, [0, 8, 16]);
}

#[test]
fn a_fixed_interval_expires_all_groups_on_the_same_tick() {
    let mut h = Harness::new(Parts::default(), ttl(10, TimerStart::FixedInterval));
    h.advance_to(secs(3));
    h.push(frag("a", 0, 1));
    h.advance_to(secs(7));
    h.push(frag("b", 0, 2));
    h.advance_to(secs(10));
    h.push(frag("c", 0, 3)); // opened exactly on a tick: waits for the next one
    let out = h.take();
    assert_eq!(out.iter().map(|(at, _)| *at).collect::<Vec<_>>(), [secs(10), secs(10)]);
    h.advance_to(secs(20));
    assert_eq!(h.take()[0].0, secs(20));
}

#[test]
fn max_latency_bounds_a_group_whatever_its_ttl() {
    let policy = Policy::builder()
        .max_latency(Duration::from_secs(5))
        .ttl(Duration::from_secs(10), TimerStart::LastFragment)
        .build()
        .unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 0));
    h.advance_to(secs(4));
    h.push(frag("k", 0, 4));
    h.advance_to(secs(9));
    let out = h.take();
    assert_eq!(out[0].0, secs(5));
    assert_eq!(out[0].1.payload().reason, EmitReason::Latency);
}

#[test]
fn one_tick_emits_by_deadline_then_first_arrival() {
    let mut h = Harness::new(Parts::default(), ttl(10, TimerStart::LastFragment));
    h.push(frag("b", 0, 1));
    h.push(frag("a", 0, 1));
    h.push(frag("c", 0, 1));
    h.advance_to(secs(1));
    h.push(frag("c", 0, 2)); // c now expires later than a and b
    h.advance_to(secs(20));
    let keys: Vec<_> = h.take().iter().map(|(at, r)| (*at, r.payload().key.clone())).collect();
    assert_eq!(keys, [(secs(10), "b".into()), (secs(10), "a".into()), (secs(11), "c".into())]);
}

#[test]
fn a_group_can_set_its_own_ttl_from_its_state() {
    let acc = Parts { ttl_from_part62: true, ..Parts::default() };
    let mut h = Harness::new(acc, ttl(100, TimerStart::FirstFragment));
    h.push(frag("slow", 0, 1));
    h.push(frag("quick", 62, 3)); // this group asks for three seconds
    h.advance_to(secs(50));
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, secs(3));
    assert_eq!(out[0].1.payload().key, "quick");
}

#[test]
fn a_group_ttl_from_its_state_counts_from_its_first_fragment_on_a_plain_policy_too() {
    // No stage TTL: the fragments take the plain path until the first
    // group timer is set there.
    let acc = Parts { ttl_from_part62: true, ..Parts::default() };
    let mut h = Harness::new(acc, Policy::default());
    h.now = secs(5);
    h.push(frag("quick", 62, 3));
    assert_eq!(h.node_deadline(), Some(secs(8)), "three seconds from the group's first fragment");
    h.advance_to(secs(20));
    let out = h.take();
    assert_eq!((out[0].0, out[0].1.payload().reason), (secs(8), EmitReason::Lifetime));
}

#[test]
fn next_deadline_is_the_earliest_timer() {
    let mut h = Harness::new(Parts::default(), ttl(10, TimerStart::FirstFragment));
    assert_eq!(h.node_deadline(), None);
    h.advance_to(Instant::from_millis(1500));
    h.push(frag("k", 0, 1));
    assert_eq!(h.node_deadline(), Some(Instant::from_millis(11_500)));
}

/// A sink that notes the engine time of each record it writes.
#[derive(Clone, Default)]
struct WrittenAt(std::sync::Arc<std::sync::Mutex<Vec<(u32, Instant)>>>);

impl flux_core::Sink<support::Record> for WrittenAt {
    fn write(
        &mut self,
        item: flux_core::Envelope<support::Record>,
        cx: &mut flux_core::Context<'_>,
    ) -> Result<(), flux_core::WriteError> {
        self.0.lock().unwrap().push((item.payload().values[0], cx.now()));
        Ok(())
    }
}

#[test]
fn a_timer_in_the_source_segment_fires_on_time_while_the_source_waits() {
    // Fused into the source's segment, the stage's timer is the segment's
    // deadline: the engine wakes for it at 2 s, not when the source's next
    // fragment comes at 10 s.
    use flux_accumulate::AccumulateExt;
    let input = [(secs(0), frag("a", 0, 1)), (secs(10), frag("b", 0, 2))];
    let written = WrittenAt::default();
    let pipeline = flux_core::Pipeline::from_source(flux_test::TimedSource::new(input.to_vec()))
        .accumulate(Parts::default(), ttl(2, TimerStart::FirstFragment))
        .sink(written.clone());
    let plan =
        flux_plan::Planner::new().with_pass(support::FuseAll).plan(flux_core::Runnable::describe(&pipeline)).unwrap();
    let report = flux_engine_sync::SyncEngine::new().run(&plan, pipeline).unwrap();
    // "b" is flushed when the input ends, at 10 s.
    assert_eq!(*written.0.lock().unwrap(), [(1, secs(2)), (2, secs(10))]);
    assert_eq!(report.end_time, secs(10));
}

//! Each policy's answers, names and room, at the edges of its limits:
//! what the engines act on.

use std::time::Duration;

use flux_backpressure::{
    AdaptiveBatch, Block, Circuit, Credit, EdgePolicies, Limit, PolicyExt, ReactivePull, Shedding, TokenBucket,
};
use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

const NOW: Instant = Instant::ZERO;

fn queued(batches: usize, envelopes: usize) -> Pressure {
    Pressure { queued_batches: batches, queued_envelopes: envelopes, ..Pressure::default() }
}

#[test]
fn every_policy_has_the_name_reports_count_its_drops_under() {
    let limit = Limit::batches(2);
    let names = [
        Block::at(limit).name(),
        Shedding::drop_newest(limit).name(),
        Shedding::drop_oldest(limit).name(),
        Shedding::reject(limit).name(),
        Credit::envelopes(10).name(),
        AdaptiveBatch::new(limit, 1, 8).name(),
        TokenBucket::per_second(10, 1).name(),
        ReactivePull::demand(1).name(),
        Circuit::new(limit, 1).name(),
        Block::at(limit).watching(Pressure::default).name(),
    ];
    let expected = [
        "block",
        "drop-newest",
        "drop-oldest",
        "reject",
        "credit",
        "adaptive-batch",
        "token-bucket",
        "reactive-pull",
        "circuit",
        "block",
    ];
    assert_eq!(names, expected);
}

#[test]
fn a_limit_is_reached_by_each_of_its_measures_alone() {
    let limit = Limit::batches(4).envelopes(100).bytes(1_000).pending_keys(10).pending_bytes(500);
    assert!(!limit.reached(&Pressure {
        queued_batches: 3,
        queued_envelopes: 99,
        queued_bytes: 999,
        ..Pressure::default()
    }));
    assert!(limit.reached(&queued(4, 0)));
    assert!(limit.reached(&queued(0, 100)));
    assert!(limit.reached(&Pressure { queued_bytes: 1_000, ..Pressure::default() }));
    assert!(limit.reached(&Pressure { pending_keys: 10, ..Pressure::default() }));
    assert!(limit.reached(&Pressure { pending_bytes: 500, ..Pressure::default() }));
    assert!(!Limit::batches(4).reached(&Pressure {
        queued_envelopes: 1 << 20,
        pending_keys: 1 << 20,
        ..Pressure::default()
    }));
}

#[test]
fn a_limits_room_is_the_least_of_its_measures() {
    let limit = Limit::batches(4).batch_size(10);
    assert_eq!(limit.room(&queued(1, 10)), 30, "three batches of room");
    assert_eq!(limit.envelopes(25).room(&queued(1, 10)), 15);
    // Bytes at the last batch's weight; one batch while that is unknown.
    let bytes = limit.bytes(1_000);
    assert_eq!(bytes.room(&Pressure::default()), 10);
    let weighed = Pressure { queued_batches: 1, queued_bytes: 400, envelope_bytes: 20, ..Pressure::default() };
    assert_eq!(bytes.room(&weighed), 30, "600 bytes left is 30 envelopes of 20, under the batches' 30");
    let heavy = Pressure { envelope_bytes: 100, queued_bytes: 400, ..Pressure::default() };
    assert_eq!(bytes.room(&heavy), 6);
    // Open groups downstream: no room at all.
    assert_eq!(limit.pending_keys(5).room(&Pressure { pending_keys: 5, ..Pressure::default() }), 0);
    assert_eq!(limit.pending_bytes(5).room(&Pressure { pending_bytes: 5, ..Pressure::default() }), 0);
    assert_eq!(limit.pending_keys(5).room(&Pressure { pending_keys: 4, ..Pressure::default() }), 40);
}

#[test]
fn waiting_policies_give_their_limits_room_and_shedding_ones_none() {
    let limit = Limit::batches(4).batch_size(10);
    let p = queued(1, 10);
    assert_eq!(Block::at(limit).room(&p), Some(30));
    assert_eq!(AdaptiveBatch::new(limit, 10, 10).room(&p), Some(30));
    assert_eq!(Circuit::new(limit, 1).room(&p), Some(30));
    assert_eq!(Credit::envelopes(25).room(&p), Some(15));
    assert_eq!(ReactivePull::demand(3).batch_size(10).room(&p), Some(20));
    assert_eq!(Shedding::drop_newest(limit).room(&p), None);
    assert_eq!(TokenBucket::per_second(10, 1).room(&p), None);
    let watched = Block::at(limit.pending_keys(3)).watching(|| Pressure { pending_keys: 3, ..Pressure::default() });
    assert_eq!(watched.room(&p), Some(0), "the watched open groups count");
    let sheds = [Shedding::drop_newest(limit), Shedding::drop_oldest(limit), Shedding::reject(limit)];
    assert!(sheds.iter().all(|shed| !shed.waits()));
    assert!(Block::at(limit).waits() && Credit::envelopes(1).waits());
    assert!(!Shedding::reject(limit).watching(Pressure::default).waits(), "watching keeps the policy's waits");
    assert!(Block::at(limit).watching(Pressure::default).waits());
    assert_eq!(Block::at(limit).watching(Pressure::default).room(&p), Some(30), "nothing watched, the limit's room");
}

#[test]
fn credit_sends_a_batch_only_when_the_credit_left_covers_all_of_it() {
    let mut credit = Credit::envelopes(100);
    assert_eq!(credit.edge(), EdgeSpec { capacity: 1, batch_size: 100 });
    assert_eq!(credit.admit(40, &queued(1, 60), NOW), Admission::Now);
    assert_eq!(credit.admit(41, &queued(1, 60), NOW), Admission::WhenRoom);
    assert_eq!(credit.admit(1, &queued(0, 0), NOW), Admission::Now);
    assert_eq!(Credit::envelopes(2_000).edge(), EdgeSpec { capacity: 4, batch_size: 512 });
}

#[test]
fn reactive_pull_waits_from_its_demand_on() {
    let mut pull = ReactivePull::demand(2);
    assert_eq!(pull.admit(1, &queued(1, 1), NOW), Admission::Now);
    assert_eq!(pull.admit(1, &queued(2, 2), NOW), Admission::WhenRoom);
    assert_eq!(pull.admit(1, &queued(3, 3), NOW), Admission::WhenRoom);
}

#[test]
fn a_token_bucket_lets_a_batch_go_at_once_exactly_when_it_fits_the_burst() {
    let mut bucket = TokenBucket::per_second(1_000, 10);
    let idle = Pressure::default();
    assert_eq!(bucket.edge().batch_size, 10, "a batch is never bigger than the burst");
    assert_eq!(bucket.admit(10, &idle, NOW), Admission::Now, "the burst");
    // Reserved until 10 ms; the next 10 fit at 10 ms exactly.
    assert_eq!(bucket.admit(10, &idle, Instant::from_millis(10)), Admission::Now);
    assert_eq!(bucket.admit(5, &idle, Instant::from_millis(10)), Admission::At(Instant::from_millis(15)));
    // After a quiet spell the reservations start from now.
    assert_eq!(bucket.admit(10, &idle, Instant::from_secs(5)), Admission::Now);
}

#[test]
fn adaptive_batching_grows_on_depth_or_open_groups_and_shrinks_only_when_idle_and_slow() {
    let limit = Limit::batches(8);
    let wait = Duration::from_millis(10);
    let mut adaptive = AdaptiveBatch::new(limit, 4, 64).max_wait(wait).open_groups(100);
    assert_eq!(adaptive.batch_size(&queued(3, 0), NOW), 4, "under half full: stays");
    assert_eq!(adaptive.batch_size(&queued(4, 0), NOW), 8, "half full: doubles");
    let groups = Pressure { pending_keys: 100, ..Pressure::default() };
    assert_eq!(adaptive.batch_size(&groups, NOW), 16, "many open groups: doubles");
    assert_eq!(adaptive.batch_size(&Pressure::default(), Instant::from_millis(10)), 16, "10 ms is not past the wait");
    assert_eq!(adaptive.batch_size(&Pressure::default(), Instant::from_millis(21)), 8, "idle and slow: halves");
    assert_eq!(adaptive.batch_size(&queued(1, 0), Instant::from_millis(40)), 8, "slow but not idle: stays");
    for at in [60, 80, 100, 120] {
        adaptive.batch_size(&Pressure::default(), Instant::from_millis(at));
    }
    assert_eq!(adaptive.batch_size(&Pressure::default(), Instant::from_millis(140)), 4, "never under the floor");
    for _ in 0..10 {
        adaptive.batch_size(&queued(8, 0), NOW);
    }
    assert_eq!(adaptive.batch_size(&queued(8, 0), NOW), 64, "never over the ceiling");
    assert_eq!(adaptive.admit(64, &queued(8, 0), NOW), Admission::WhenRoom);
    assert_eq!(adaptive.admit(64, &queued(7, 0), NOW), Admission::Now);
}

#[test]
fn a_circuit_opens_only_after_enough_full_offers_in_a_row() {
    let mut circuit = Circuit::new(Limit::batches(2), 3);
    let counts = circuit.counts();
    let (full, room) = (queued(2, 0), queued(1, 0));
    circuit.admit(1, &full, NOW);
    circuit.admit(1, &full, NOW);
    circuit.admit(1, &room, NOW);
    circuit.admit(1, &full, NOW);
    circuit.admit(1, &full, NOW);
    assert_eq!((counts.opened(), counts.closed()), (0, 0), "the row was broken");
    assert_eq!(circuit.admit(1, &full, NOW), Admission::WhenRoom);
    circuit.admit(1, &full, NOW);
    assert_eq!((counts.opened(), counts.closed()), (1, 0), "opens once, however long it stays full");
    assert_eq!(circuit.admit(1, &room, NOW), Admission::Now);
    assert_eq!((counts.opened(), counts.closed()), (1, 1));
}

#[test]
fn watching_adds_what_it_sees_to_the_engines_figures_and_keeps_the_rest() {
    let seen = || Pressure { pending_keys: 7, pending_bytes: 70, queued_batches: 99, ..Pressure::default() };
    let inner = Block::at(Limit::batches(4).batch_size(8).pending_keys(10).pending_bytes(100));
    let mut watched = inner.watching(seen);
    assert_eq!(watched.edge(), EdgeSpec { capacity: 4, batch_size: 8 });
    let engine = Pressure { pending_keys: 2, pending_bytes: 29, queued_batches: 1, ..Pressure::default() };
    assert_eq!(
        watched.admit(8, &engine, NOW),
        Admission::Now,
        "9 keys and 99 bytes: under, and the queue is the engine's"
    );
    let more = Pressure { pending_keys: 3, ..engine };
    assert_eq!(watched.admit(8, &more, NOW), Admission::WhenRoom, "10 keys");
    let heavier = Pressure { pending_bytes: 30, ..engine };
    assert_eq!(watched.admit(8, &heavier, NOW), Admission::WhenRoom, "100 bytes");
    let mut adaptive = AdaptiveBatch::new(Limit::batches(8), 4, 64).open_groups(9).watching(seen);
    assert_eq!(adaptive.batch_size(&engine, NOW), 8, "the watched keys make the groups many");
    assert!(format!("{watched:?}").contains("Block"));
}

#[test]
fn edge_policies_cut_after_the_named_stage_only_where_a_boundary_can_be() {
    use flux_core::{ExecutionPlan, Junction, PlannerPass, Purity, StageDescriptor, StageKind};
    let plan = || {
        ExecutionPlan::draft(vec![
            StageDescriptor::new("source", StageKind::Source, Purity::Stateful),
            StageDescriptor::new("sink", StageKind::Sink, Purity::Stateful),
        ])
    };
    let after_source = EdgePolicies::new().after("source", || Block::at(Limit::batches(3)));
    let mut cut = plan();
    after_source.run(&mut cut).unwrap();
    assert!(matches!(cut.junctions[0], Junction::Boundary(edge) if edge.capacity == 3));
    assert_eq!(after_source.name(), "edge-policies");
    let after_sink = EdgePolicies::new().after("sink", || Block::at(Limit::batches(3)));
    let error = after_sink.run(&mut plan()).unwrap_err();
    assert!(error.to_string().contains("edge-policies"), "{error}");
    assert!(format!("{after_source:?}").contains("source"));
}

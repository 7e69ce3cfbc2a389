//! Shedding policies on the sync engine: which envelopes a full boundary
//! drops or rejects, exactly, and that each is counted where the ledger
//! law finds it.
//!
//! `UpstreamFirst` steps the source whenever it can run, so the receiver
//! gets a turn only when the source cannot: the worst case for a boundary
//! that never makes its sender wait. The source's first step reads 8
//! envelopes (room for the limit's two batches of 4); each later step
//! reads one batch, which finds the boundary full.

mod support;

use flux_backpressure::{Limit, Shedding};
use flux_engine_sync::{DownstreamFirst, SyncEngine, UpstreamFirst};
use support::{Arrivals, TurnedAwayExt as _, gated, missing};

const INPUT: u64 = 40;

fn shed_run(make: fn() -> Shedding, upstream_first: bool) -> (Arrivals, flux_engine_sync::RunReport) {
    let arrivals = Arrivals::default();
    let (pipeline, plan, policies) = gated(INPUT, &arrivals, make);
    let engine = SyncEngine::new().with_backpressure(policies);
    let mut engine = match upstream_first {
        true => engine.with_hook(UpstreamFirst),
        false => engine.with_hook(DownstreamFirst),
    };
    let report = engine.run(&plan, pipeline).expect("the ledger balances with the drops in it");
    (arrivals, report)
}

fn drop_newest() -> Shedding {
    Shedding::drop_newest(Limit::batches(2).batch_size(4))
}

fn drop_oldest() -> Shedding {
    Shedding::drop_oldest(Limit::batches(2).batch_size(4))
}

fn reject() -> Shedding {
    Shedding::reject(Limit::batches(2).batch_size(4))
}

#[test]
fn drop_newest_keeps_the_batches_that_found_room_and_counts_every_other_envelope() {
    let (arrivals, report) = shed_run(drop_newest, true);
    assert_eq!(arrivals.sequences(), (0..8).collect::<Vec<_>>(), "the first two batches found room");
    let edge = &report.edges[0];
    assert_eq!((edge.policy, edge.dropped, edge.rejected), (Some("drop-newest"), 32, 0));
    assert_eq!(missing(INPUT, &arrivals.sequences()).len() as u64, edge.dropped, "delivered + dropped = input");
    assert_eq!(report.row("sink").unwrap().received, 8, "the ledger takes the drops off before the sink");
    assert_eq!(edge.max_depth, 2, "the limit holds");
    assert_eq!(edge.held_back, 0, "a shedding boundary never holds its sender back");
}

#[test]
fn drop_oldest_keeps_the_freshest_batches() {
    let (arrivals, report) = shed_run(drop_oldest, true);
    assert_eq!(arrivals.sequences(), (32..40).collect::<Vec<_>>(), "each new batch pushed out the oldest queued");
    let edge = &report.edges[0];
    assert_eq!((edge.policy, edge.dropped), (Some("drop-oldest"), 32));
    assert_eq!(missing(INPUT, &arrivals.sequences()), (0..32).collect::<Vec<_>>());
    assert_eq!(report.row("sink").unwrap().counts.consumed, 8);
}

#[test]
fn reject_sends_each_turned_away_envelope_to_the_dead_letters_naming_the_boundary() {
    let (arrivals, report) = shed_run(reject, true);
    assert_eq!(arrivals.sequences(), (0..8).collect::<Vec<_>>());
    let edge = &report.edges[0];
    assert_eq!((edge.policy, edge.dropped, edge.rejected), (Some("reject"), 0, 32));
    let rejected: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    assert_eq!(rejected, missing(INPUT, &arrivals.sequences()), "delivered + dead letters = input, by sequence");
    for letter in &report.dead_letters {
        assert_eq!(letter.error.stage().as_str(), "gate", "named after the stage before the boundary");
        assert_eq!(letter.turned_away(), Some(flux_core::TurnedAway { junction: 1, policy: "reject" }));
    }
    assert_eq!(report.row("gate").unwrap().dead_letters, 0, "counted under the boundary, not the stage");
}

#[test]
fn a_receiver_that_keeps_up_loses_nothing_under_any_shedding_policy() {
    for make in [drop_newest, drop_oldest, reject] {
        let (arrivals, report) = shed_run(make, false);
        assert_eq!(arrivals.sequences(), (0..INPUT).collect::<Vec<_>>());
        let edge = &report.edges[0];
        assert_eq!((edge.dropped, edge.rejected, report.dead_letters.len()), (0, 0, 0), "{:?}", edge.policy);
    }
}

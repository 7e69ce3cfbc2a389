//! A tap between two stages: every envelope passes, the sampled ones are
//! exactly every nth of what reached it, on both engines.

use flux_core::{EdgeSpec, Junction, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_observe::{Tap, TapSamples};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

/// Evens of 0..104 reach the tap (52 of them); it keeps every 7th (the
/// 1st, 8th, ... 50th), the latest five; a boundary after it.
fn tapped(out: &VecSink<u64>) -> (impl Runnable + use<>, TapSamples<u64>, flux_core::ExecutionPlan) {
    let (tap, samples) = Tap::every(7).keep(5);
    let pipeline = Pipeline::from_source(IterSource::new(0..104u64))
        .filter(|n| n % 2 == 0)
        .stage(tap)
        .named("tap")
        .sink(out.clone());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[2] = Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 4 });
    (pipeline, samples, plan)
}

/// The 22nd, 29th, 36th, 43rd and 50th even number, by sequence and payload.
const LATEST: [(u64, u64); 5] = [(42, 42), (56, 56), (70, 70), (84, 84), (98, 98)];

fn kept(samples: &TapSamples<u64>) -> Vec<(u64, u64)> {
    samples.latest().into_iter().map(|sample| (sample.meta.sequence, sample.payload)).collect()
}

#[test]
fn a_tap_keeps_every_nth_envelope_and_passes_all_on_the_sync_engine() {
    let out = VecSink::new();
    let (pipeline, samples, plan) = tapped(&out);
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(out.payloads(), (0..104).step_by(2).collect::<Vec<u64>>());
    assert_eq!(kept(&samples), LATEST);
    assert_eq!(samples.seen(), 52, "every one that passed, the two after the last sample too");
    let row = report.row("tap").unwrap();
    assert_eq!((row.received, row.emitted), (52, 52), "the tap makes and drops nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tap_keeps_every_nth_envelope_and_passes_all_on_tokio() {
    let out = VecSink::new();
    let (pipeline, samples, plan) = tapped(&out);
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    assert_eq!(out.payloads(), (0..104).step_by(2).collect::<Vec<u64>>());
    assert_eq!(kept(&samples), LATEST);
    assert_eq!(samples.seen(), 52, "every one that passed, the two after the last sample too");
    assert_eq!(report.row("tap").unwrap().emitted, 52);
}

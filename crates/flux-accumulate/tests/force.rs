//! Completing every open group mid-stream: from a control signal in the
//! stream (Camel's `completeAllGroups`, merged first or not) or from a
//! handle the application holds.

mod support;

use std::time::Duration;

use bytes::Bytes;
use flux_accumulate::{Accumulate, AccumulateExt, Policy, TimerStart};
use flux_core::{CompleteAll, EmitReason, Envelope, Instant, Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{TimedSource, VecSink};
use support::{Harness, Parts, frag, key, records, secs};

fn signalling(how: CompleteAll) -> Parts {
    Parts { signal_on_part: Some((7, how)), ..Parts::default() }
}

#[test]
fn an_exclusive_signal_completes_every_group_and_is_counted_not_merged() {
    for policy in
        [Policy::default(), Policy::builder().ttl(Duration::from_secs(60), TimerStart::FirstFragment).build().unwrap()]
    {
        let timed = policy.ttl().is_some();
        let mut h = Harness::new(signalling(CompleteAll::Exclusive), policy);
        h.push(frag("a", 0, 1).with_sequence(1));
        h.push(frag("b", 0, 2).with_sequence(2));
        h.push(frag("a", 0, 3).with_sequence(3));
        h.push(frag("b", 7, 99).with_sequence(4)); // the signal
        let out = records(&mut h);
        assert_eq!(
            out,
            [(key("a"), vec![1, 3], 1, EmitReason::Forced), (key("b"), vec![2], 2, EmitReason::Forced)],
            "in first-arrival order, without the signal (timers: {timed})"
        );
        assert_eq!((h.ledger().dropped, h.stats.snapshot().signals), (1, 1), "the signal is counted once");
        h.push(frag("b", 0, 5).with_sequence(5));
        h.finish();
        assert_eq!(records(&mut h), [(key("b"), vec![5], 5, EmitReason::EndOfStream)], "b starts afresh");
        h.assert_balanced(true);
    }
}

#[test]
fn an_inclusive_signal_is_merged_into_its_group_before_every_group_goes() {
    let mut h = Harness::new(signalling(CompleteAll::Inclusive), Policy::default());
    h.push(frag("a", 0, 1).with_sequence(1));
    h.push(frag("b", 0, 2).with_sequence(2));
    h.push(frag("c", 7, 3).with_sequence(3)); // opens c with the signal, then completes all
    let out = records(&mut h);
    assert_eq!(
        out,
        [
            (key("a"), vec![1], 1, EmitReason::Forced),
            (key("b"), vec![2], 2, EmitReason::Forced),
            (key("c"), vec![3], 3, EmitReason::Forced),
        ]
    );
    assert_eq!((h.ledger().dropped, h.stats.snapshot().signals), (0, 0), "merged: not a dropped signal");
    assert_eq!(h.stats.pressure().pending_keys, 0);
    h.assert_balanced(false);
}

#[test]
fn an_inclusive_signal_that_completes_its_own_group_leaves_it_its_own_reason() {
    let acc = Parts { ends_on_part: Some(7), ..signalling(CompleteAll::Inclusive) };
    let mut h = Harness::new(acc, Policy::default());
    h.push(frag("a", 0, 1).with_sequence(1));
    h.push(frag("b", 0, 2).with_sequence(2));
    h.push(frag("b", 7, 3).with_sequence(3));
    let out = records(&mut h);
    assert_eq!(
        out,
        [(key("b"), vec![2, 3], 2, EmitReason::EndCondition), (key("a"), vec![1], 1, EmitReason::Forced)],
        "b ends by its own rule first, then the rest is forced"
    );
    h.assert_balanced(false);
}

#[test]
fn a_signal_with_nothing_open_completes_nothing() {
    let mut h = Harness::new(signalling(CompleteAll::Exclusive), Policy::default());
    h.push(frag("a", 7, 1).with_sequence(1));
    assert_eq!(h.records(), 0);
    assert_eq!(h.ledger().dropped, 1);
    h.finish();
    h.assert_balanced(true);
}

#[test]
fn a_forced_group_takes_its_timer_with_it() {
    let policy = Policy::builder().ttl(Duration::from_secs(10), TimerStart::FirstFragment).build().unwrap();
    let mut h = Harness::new(signalling(CompleteAll::Exclusive), policy);
    h.push(frag("a", 0, 1).with_sequence(1));
    assert_eq!(h.node_deadline(), Some(secs(10)));
    h.push(frag("z", 7, 0).with_sequence(2));
    assert_eq!(h.node_deadline(), None, "no timer left behind");
    assert_eq!(records(&mut h), [(key("a"), vec![1], 1, EmitReason::Forced)]);
}

#[test]
fn the_handle_completes_every_group_at_the_stages_next_call() {
    let mut layer = Accumulate::new(Parts::default(), Policy::default());
    let force = layer.force_handle();
    let mut h = Harness::with_layer(layer);
    h.push(frag("a", 0, 1).with_sequence(1));
    h.push(frag("b", 0, 2).with_sequence(2));
    assert_eq!(h.node_deadline(), None, "nothing asked yet");
    force.complete_all();
    force.complete_all(); // two requests before the stage runs count as one
    assert_eq!(h.node_deadline(), Some(Instant::ZERO), "a request is due at once");
    assert_eq!(h.records(), 0, "nothing happens until the engine calls the stage");
    h.tick(secs(3));
    let out = records(&mut h);
    assert_eq!(
        out,
        [(key("a"), vec![1], 1, EmitReason::Forced), (key("b"), vec![2], 2, EmitReason::Forced)],
        "the tick served the request"
    );
    assert_eq!(h.node_deadline(), None, "served");
    h.push(frag("a", 0, 3).with_sequence(3));
    force.complete_all();
    h.push(frag("b", 0, 4).with_sequence(4)); // served before b merges
    assert_eq!(records(&mut h), [(key("a"), vec![3], 3, EmitReason::Forced)]);
    assert_eq!(force.requested(), 3);
    h.finish();
    assert_eq!(records(&mut h), [(key("b"), vec![4], 4, EmitReason::EndOfStream)]);
    assert_eq!(h.stats.snapshot().emitted(EmitReason::Forced), 3);
    h.assert_balanced(true);
}

#[test]
fn the_handle_works_from_inside_a_running_pipeline_on_the_sync_engine() {
    let mut layer = Accumulate::new(Parts::default(), Policy::default());
    let force = layer.force_handle();
    let at = |s: u64, k: &'static str, v: u32| {
        (
            Instant::from_secs(s),
            Envelope::new((0_u8, v)).with_key(Bytes::from_static(k.as_bytes())).with_sequence(u64::from(v)),
        )
    };
    // The operator asks for a flush when value 3 passes: groups open then go.
    let input = vec![at(0, "a", 1), at(1, "b", 2), at(2, "a", 3), at(5, "a", 4), at(6, "c", 5)];
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(TimedSource::new(input))
        .map(move |(part, value): (u8, u32)| {
            if value == 3 {
                force.complete_all();
            }
            (part, value)
        })
        .accumulate_with(layer)
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(report.end_time, Instant::from_secs(6), "the run went on to its last input");
    let got: Vec<(Vec<u32>, EmitReason)> =
        out.take().into_iter().map(|r| (r.payload().values.clone(), r.payload().reason)).collect();
    assert_eq!(
        got,
        [
            (vec![1], EmitReason::Forced),
            (vec![2], EmitReason::Forced),
            (vec![3, 4], EmitReason::EndOfStream),
            (vec![5], EmitReason::EndOfStream)
        ],
        "forced before value 3 joined its group"
    );
}

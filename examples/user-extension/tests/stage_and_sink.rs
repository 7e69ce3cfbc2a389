//! The user's `SplitActions` stage and `CountingSink` on the sync engine.

mod support;

use bytes::Bytes;
use flux_core::{Pipeline, Position};
use flux_steps::Steps;
use flux_user_extension::{CountingSink, LineSource, SplitActions};

const LOG: &str = "ada login view\n\nbob\ncy logout\n";

#[test]
fn split_actions_emits_one_keyed_envelope_per_action_without_copying() {
    let text = Bytes::from_static(LOG.as_bytes());
    let sink = CountingSink::new();
    let pipeline =
        Pipeline::from_source(LineSource::new(text.clone(), 80)).stage(SplitActions).named("split").sink(sink.clone());
    let report = support::run(pipeline);

    let actions = sink.take();
    let seen: Vec<_> =
        actions.iter().map(|e| (e.meta().key.clone().unwrap(), e.payload().clone(), e.meta().sequence)).collect();
    assert_eq!(
        seen,
        [
            (Bytes::from("ada"), Bytes::from("login"), 0),
            (Bytes::from("ada"), Bytes::from("view"), 0),
            (Bytes::from("cy"), Bytes::from("logout"), 3),
        ]
    );
    let inside_the_text = |b: &Bytes| text.as_ptr_range().contains(&b.as_ptr());
    assert!(actions.iter().all(|e| inside_the_text(e.payload()) && inside_the_text(e.meta().key.as_ref().unwrap())));
    assert_eq!(actions[1].cost().bytes, 4);

    // Four lines in, three actions out: one extra output created, and the
    // blank line and the user with no action counted as dropped.
    let row = report.row("split").unwrap();
    assert_eq!((row.received, row.emitted, row.counts.created, row.counts.dropped), (4, 3, 1, 2));
}

#[test]
fn a_full_sink_refuses_writes_as_dead_letters_that_keep_their_metadata() {
    let sink = CountingSink::with_limit(2);
    let pipeline = Pipeline::from_source(LineSource::new(LOG, 80)).sink(sink.clone());
    let report = support::run(pipeline);

    assert_eq!(sink.payloads(), [Bytes::from("ada login view"), Bytes::new()]);
    assert_eq!((sink.written(), sink.refused(), sink.closed()), (2, 2, true));
    let letters: Vec<_> = report.dead_letters.iter().map(|l| (l.meta.sequence, l.error.position())).collect();
    assert_eq!(letters, [(2, Position::Sequence(2)), (3, Position::Sequence(3))]);
    assert!(report.dead_letters.iter().all(|l| l.error.stage().as_str() == "sink"));
    assert_eq!(support::cause(&report.dead_letters[0].error), "sink is full (2 envelopes written)");

    let row = report.row("sink").unwrap();
    assert_eq!((row.received, row.counts.consumed, row.dead_letters), (4, 2, 2));
}

/// The same refusal behind a user stage in the same fused segment: the
/// sink's dead letter is the sink's, not the stage's. (A `StageNode` once
/// compared the context's diversion count before and after `process`, which
/// also counts diversions made downstream of an `emit`, and charged the
/// stage for them; this test pins the fix.)
#[test]
fn a_refused_write_is_charged_to_the_sink_not_to_the_stage_before_it() {
    let sink = CountingSink::with_limit(2);
    let pipeline =
        Pipeline::from_source(LineSource::new(LOG, 80)).stage(SplitActions).named("split").sink(sink.clone());
    let report = support::run(pipeline);

    let [letter] = &report.dead_letters[..] else { panic!("one dead letter, got {:?}", report.dead_letters) };
    assert_eq!((letter.error.stage().as_str(), letter.error.position()), ("sink", Position::Sequence(3)));
    assert_eq!(letter.meta.key.as_deref(), Some(&b"cy"[..]));
    let split = report.row("split").unwrap();
    assert_eq!((split.received, split.emitted, split.counts.created, split.counts.dropped), (4, 3, 1, 2));
    let sink_row = report.row("sink").unwrap();
    assert_eq!((sink_row.received, sink_row.counts.consumed, sink_row.dead_letters), (3, 2, 1));
}

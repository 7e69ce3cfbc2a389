//! The user's `Sessions` accumulator, run by flux-accumulate's stage on the sync engine.

mod support;

use bytes::Bytes;
use flux_accumulate::{AccumulateExt, Policy};
use flux_core::{Completeness, EmitReason, Pipeline, Position};
use flux_steps::Steps;
use flux_user_extension::{CountingSink, LineSource, Session, Sessions, SplitActions};

const LOG: &str = "\
ada login
bob login view
ada view
cy view
ada logout
bob dance
ada login
";

fn session(user: &'static str, actions: u32, seen: u64, reason: EmitReason) -> Session {
    let completeness = Completeness::from_mask(seen, 0b111);
    Session { user: Bytes::from_static(user.as_bytes()), actions, completeness, reason }
}

#[test]
fn a_session_is_emitted_when_every_step_has_arrived_and_the_rest_at_the_end() {
    let sink = CountingSink::new();
    let pipeline = Pipeline::from_source(LineSource::new(LOG, 80))
        .stage(SplitActions)
        .accumulate(Sessions, Policy::default())
        .named("sessions")
        .sink(sink.clone());
    let report = support::run(pipeline);

    let records = sink.take();
    let reasons: Vec<_> = records.iter().map(|r| r.meta().headers.get("acc.reason").unwrap().clone()).collect();
    assert_eq!(reasons, ["complete", "end-of-stream", "end-of-stream", "end-of-stream"]);
    let sessions: Vec<_> = records.into_iter().map(|r| r.into_payload()).collect();
    assert_eq!(
        sessions,
        [
            session("ada", 3, 0b111, EmitReason::Complete),
            session("bob", 2, 0b011, EmitReason::EndOfStream),
            session("cy", 1, 0b010, EmitReason::EndOfStream),
            session("ada", 1, 0b001, EmitReason::EndOfStream),
        ]
    );

    // `dance` is not an action: a dead letter naming the stage, the user and the line.
    let [letter] = &report.dead_letters[..] else { panic!("one dead letter, got {:?}", report.dead_letters) };
    assert_eq!(letter.error.stage().as_str(), "sessions");
    assert_eq!(letter.error.position(), Position::Sequence(5));
    assert_eq!(letter.meta.key.as_deref(), Some(&b"bob"[..]));
    let cause = std::error::Error::source(letter.error.cause()).map(ToString::to_string);
    assert_eq!(cause.as_deref(), Some("unknown action `dance`"));

    // Eight actions: seven merged and all released in the four sessions, one dead letter.
    let row = report.row("sessions").unwrap();
    assert_eq!((row.received, row.emitted, row.dead_letters), (8, 4, 1));
    assert_eq!((row.counts.merged, row.counts.released, row.counts.pending), (7, 7, 0));
}

//! The user's `LineSource` on the sync engine: lines, sequences, costs,
//! over-long lines as dead letters at byte offsets, and `pull_into`.

mod support;

use bytes::Bytes;
use flux_core::{
    Context, Diversions, ErrorEnvelope, Instant, Pipeline, Position, Pull, STEP_BUDGET, SideEnvelope, Source,
    StageError,
};
use flux_engine_sync::Decision;
use flux_user_extension::{CountingSink, LineSource};

#[test]
fn lines_carry_their_number_and_byte_cost() {
    let sink = CountingSink::new();
    let pipeline = Pipeline::from_source(LineSource::new("ada login\r\n\nbob view\nlast", 80)).sink(sink.clone());
    let report = support::run(pipeline);
    assert!(report.dead_letters.is_empty());

    let lines: Vec<_> =
        sink.take().into_iter().map(|e| (e.meta().sequence, e.cost().bytes, e.into_payload())).collect();
    assert_eq!(
        lines,
        [
            (0, 9, Bytes::from("ada login")),
            (1, 0, Bytes::new()),
            (2, 8, Bytes::from("bob view")),
            (3, 4, Bytes::from("last"))
        ]
    );
}

#[test]
fn an_over_long_line_is_a_dead_letter_at_its_byte_offset_naming_the_source() {
    let text = format!("short\n{}\nok\n", "x".repeat(50));
    let sink = CountingSink::new();
    let pipeline = Pipeline::from_source(LineSource::new(text, 10)).named("log").sink(sink.clone());
    let report = support::run(pipeline);

    assert_eq!(sink.payloads(), [Bytes::from("short"), Bytes::from("ok")]);
    assert_eq!(sink.take()[1].meta().sequence, 2, "the rejected line kept its number");
    let [letter] = &report.dead_letters[..] else { panic!("one dead letter, got {:?}", report.dead_letters) };
    assert_eq!(letter.meta.sequence, 1);
    assert_eq!(letter.error.stage().as_str(), "log");
    assert_eq!(letter.error.position(), Position::ByteOffset(6));
    assert_eq!(support::cause(&letter.error), "line of 50 bytes is longer than the limit of 10");
    assert_eq!(letter.error.to_string(), "stage `log` failed at byte 6");

    let row = report.row("log").unwrap();
    assert_eq!((row.counts.created, row.dead_letters, row.emitted), (3, 1, 2));
}

#[derive(Default)]
struct Letters(Vec<ErrorEnvelope>);

impl Diversions for Letters {
    fn dead_letter(&mut self, letter: ErrorEnvelope) {
        self.0.push(letter);
    }
    fn side_output(&mut self, side: SideEnvelope) {
        panic!("a source has no side output: {side:?}");
    }
    fn fail(&mut self, error: StageError) {
        panic!("{error}");
    }
}

/// What `pull` alone yields: (sequence, line) for lines, offsets for rejects.
fn pulled_one_by_one(mut source: LineSource) -> (Vec<(u64, Bytes)>, Vec<Position>) {
    let mut letters = Letters::default();
    let mut cx = Context::new(Instant::ZERO, &mut letters);
    let (mut lines, mut rejected) = (Vec::new(), Vec::new());
    loop {
        match source.pull(&mut cx).unwrap() {
            Pull::Item(line) => lines.push((line.meta().sequence, line.into_payload())),
            Pull::Rejected(reject) => rejected.push(reject.position),
            Pull::Wait(at) => panic!("an in-memory text never waits, asked to wait until {at}"),
            Pull::End => return (lines, rejected),
            other => panic!("a line source makes no {other:?}"),
        }
    }
}

#[test]
fn pull_into_yields_what_pull_yields_one_budget_per_step() {
    let mut text = String::new();
    for n in 0..2_500 {
        let line = if n % 100 == 7 { "y".repeat(40) } else { format!("line {n}") };
        text.push_str(&line);
        text.push('\n');
    }
    let source = LineSource::new(text, 32);
    let (expected_lines, expected_rejects) = pulled_one_by_one(source.clone());
    assert_eq!(expected_rejects.len(), 25);

    let sink = CountingSink::new();
    let report = support::run(Pipeline::from_source(source).sink(sink.clone()));

    let lines: Vec<_> = sink.take().into_iter().map(|e| (e.meta().sequence, e.into_payload())).collect();
    assert_eq!(lines, expected_lines);
    let rejects: Vec<_> = report.dead_letters.iter().map(|l| l.error.position()).collect();
    assert_eq!(rejects, expected_rejects);
    let steps = report.trace.iter().filter(|d| matches!(d, Decision::Pull { .. })).count();
    assert_eq!(steps, 2_500usize.div_ceil(STEP_BUDGET), "each step pulls a whole budget of lines");
}

//! JSON-lines files through the sync engine: exactly which items came out
//! and which lines were dead letters, at which byte offsets, with serde's
//! message; long lines through small slabs.

use flux_core::{Pipeline, Position, Runnable};
use flux_engine_sync::SyncEngine;
use flux_formats::{JsonLine, JsonLineError, JsonLines};
use flux_memory::{FrameError, OnBadFrame, PoolConfig, SlabPool, assert_no_leaks};
use flux_plan::Planner;
use flux_test::VecSink;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Order {
    id: u32,
    note: String,
}

fn order(id: u32, note: &str) -> Order {
    Order { id, note: note.to_owned() }
}

/// Two good orders, a line cut short, a blank line, a CRLF line, an order
/// of the wrong shape, and a last line with no newline.
const ORDERS: &str = concat!(
    "{\"id\":1,\"note\":\"a\"}\n",        // 0
    "{\"id\":2,\"note\":\"b\\nc\"}\n",    // 20
    "{\"id\":3,\"note\":\n",              // 43: cut short
    "\n",                                 // 59: blank, skipped
    "{\"id\":4,\"note\":\"d\"}\r\n",      // 60
    "{\"id\":\"five\",\"note\":\"e\"}\n", // 81: id is not a number
    "{\"id\":6,\"note\":\"f\"}",          // 106
);

struct Run {
    items: Vec<Order>,
    dead: Vec<(u64, Position)>,
    causes: Vec<String>,
}

fn run(source: JsonLines<Order, &'static [u8]>) -> Run {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let dead = report.dead_letters.iter().map(|l| (l.meta.sequence, l.error.position())).collect();
    let causes = report
        .dead_letters
        .iter()
        .map(|l| {
            let cause = l.error.cause();
            let serde = cause.source().map(ToString::to_string).unwrap_or_default();
            format!("{cause}: {serde}")
        })
        .collect();
    Run { items: out.payloads(), dead, causes }
}

fn pool(slab_size: usize) -> SlabPool {
    SlabPool::new("json", PoolConfig::default().slab_size(slab_size).max_slabs(64))
}

#[test]
fn each_line_is_an_item_or_a_dead_letter_at_its_offset_with_serdes_message() {
    for slab_size in [16, 64, 4096] {
        let slabs = pool(slab_size);
        let run = run(JsonLine::source(ORDERS.as_bytes(), slabs.clone(), 1024).unwrap());
        assert_eq!(run.items, [order(1, "a"), order(2, "b\nc"), order(4, "d"), order(6, "f")], "slabs of {slab_size}");
        assert_eq!(run.dead, [(2, Position::ByteOffset(43)), (4, Position::ByteOffset(81))], "slabs of {slab_size}");
        assert!(
            run.causes[0].starts_with("line at byte 43 does not parse as JSON: EOF while parsing"),
            "{}",
            run.causes[0]
        );
        assert!(run.causes[1].contains("invalid type: string \"five\", expected u32"), "{}", run.causes[1]);
        drop(run);
        assert_no_leaks(&slabs);
    }
}

#[test]
fn a_bad_lines_error_says_the_column_serde_stopped_at() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(JsonLine::<Order>::source(ORDERS.as_bytes(), pool(4096), 1024).unwrap())
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let error = report.dead_letters[1].error.cause().downcast_ref::<JsonLineError>().unwrap();
    assert_eq!((error.offset(), error.column()), (81, 12));
}

#[test]
fn a_75_kb_line_is_read_through_4_kib_slabs_and_a_line_past_the_limit_is_a_dead_letter() {
    let long = "x".repeat(75_000);
    let too_long = "y".repeat(200_000);
    let input = format!(
        "{{\"id\":1,\"note\":\"{long}\"}}\n{{\"id\":2,\"note\":\"{too_long}\"}}\n{{\"id\":3,\"note\":\"z\"}}\n"
    );
    let input: &'static [u8] = Box::leak(input.into_bytes().into_boxed_slice());
    let slabs = pool(4096);
    let run = run(JsonLine::source(input, slabs.clone(), 100_000).unwrap());
    assert_eq!(run.items, [order(1, &long), order(3, "z")]);
    let second = 75_000 + 19;
    assert_eq!(run.dead, [(1, Position::ByteOffset(second))]);
    assert!(
        run.causes[0].contains("over the limit") || run.causes[0].contains("longer than the limit"),
        "{}",
        run.causes[0]
    );
    drop(run);
    assert_no_leaks(&slabs);
}

#[test]
fn the_stop_policy_ends_the_run_at_the_first_bad_line() {
    let out = VecSink::new();
    let source = JsonLine::<Order>::source(ORDERS.as_bytes(), pool(4096), 1024).unwrap().on_bad_frame(OnBadFrame::Stop);
    let pipeline = Pipeline::from_source(source).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(out.payloads(), [order(1, "a"), order(2, "b\nc")]);
    let report = error.report().unwrap();
    assert!(report.dead_letters.is_empty());
    assert!(format!("{error:?}").contains("ByteOffset(43)"), "{error:?}");
}

#[test]
fn a_json_lines_file_is_read_with_its_default_limit_of_1_mib() {
    let path = std::env::temp_dir().join(format!("flux-json-lines-{}.jsonl", std::process::id()));
    let big = "q".repeat(900_000);
    std::fs::write(&path, format!("{{\"id\":7,\"note\":\"{big}\"}}\n{ORDERS}")).unwrap();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(JsonLines::<Order>::file(&path).unwrap()).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    std::fs::remove_file(&path).unwrap();

    let ids: Vec<u32> = out.payloads().iter().map(|o| o.id).collect();
    assert_eq!(ids, [7, 1, 2, 4, 6]);
    let shift = 900_000 + 19;
    let dead: Vec<Position> = report.dead_letters.iter().map(|l| l.error.position()).collect();
    assert_eq!(dead, [Position::ByteOffset(shift + 43), Position::ByteOffset(shift + 81)]);
    let cause = report.dead_letters[0].error.cause();
    assert!(cause.downcast_ref::<FrameError>().is_none(), "a parse error, not a framing one");
}

//! `flux demo` end to end: the binary on generated data, every table's
//! rows against the generator's own truth, the ledger, both engines, and
//! bad input answered in one line.

mod support;

use std::process::Command;

use flux_cli::demo::{DemoOptions, EngineChoice, run};
use support::{Scratch, dump};

fn options(dir: &Scratch, records: u64, engine: EngineChoice) -> DemoOptions {
    DemoOptions {
        dir: dir.path().to_path_buf(),
        postgres: None,
        input: None,
        records,
        seed: 11,
        engine,
        metrics: None,
        progress: false,
        fresh: true,
    }
}

#[test]
fn every_table_holds_what_the_generator_wrote_and_the_ledger_accounts_for_every_line() {
    let dir = Scratch::new("truth");
    let outcome = run(&options(&dir, 12_000, EngineChoice::Sync), &mut std::io::sink()).unwrap();
    let truth = outcome.truth.expect("generated");
    assert!(truth.incomplete > 0 && truth.late > 0 && truth.malformed > 0, "the feed has every kind: {truth:?}");
    assert_eq!(
        outcome.rows,
        [truth.complete, truth.complete_items, truth.partial(), truth.malformed],
        "orders, order_items, partial_orders, dead_letters"
    );
    let ledger = outcome.ledger;
    assert_eq!(ledger.lines, truth.lines, "every line read");
    assert_eq!(ledger.merged, truth.lines, "every line merged: a part into its order, a garbled line on its own");
    assert_eq!(ledger.records, truth.complete + truth.partial() + truth.malformed);
    assert_eq!(ledger.partial, truth.partial());
    assert_eq!(ledger.written, ledger.records, "every record reached the sink");
    assert_eq!(ledger.dead_letters, 0);

    let db = rusqlite::Connection::open(outcome.database.sqlite_path().unwrap()).unwrap();
    let reasons: Vec<(String, u64)> = db
        .prepare("SELECT reason, COUNT(*) FROM partial_orders GROUP BY reason ORDER BY reason")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let names: Vec<&str> = reasons.iter().map(|(reason, _)| reason.as_str()).collect();
    assert_eq!(names, ["end-of-stream", "lifetime"], "let go by the event-time TTL, or open at the end");
    let late: u64 = db
        .query_row("SELECT COUNT(*) FROM partial_orders WHERE missing = 'header, items, payment'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(late, truth.late, "each late shipment, alone");
    let (total, paid): (i64, i64) = db
        .query_row("SELECT SUM(total_cents), SUM(paid_cents) FROM orders", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(total, paid, "every complete order was paid in full");
    let sums: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM orders o JOIN \
             (SELECT order_id, SUM(qty * cents) AS total FROM order_items GROUP BY order_id) i \
             ON i.order_id = o.order_id WHERE o.total_cents != i.total",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sums, 0, "each order's total is the sum of its items");
}

#[test]
fn every_dead_letter_row_points_at_its_line_in_the_file() {
    let dir = Scratch::new("offsets");
    let outcome = run(&options(&dir, 3_000, EngineChoice::Sync), &mut std::io::sink()).unwrap();
    let feed = std::fs::read(dir.path().join("orders-3000-seed11.feed")).unwrap();
    let db = rusqlite::Connection::open(outcome.database.sqlite_path().unwrap()).unwrap();
    let letters: Vec<(i64, String)> = db
        .prepare("SELECT byte_offset, line FROM dead_letters ORDER BY byte_offset")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(letters.len() as u64, outcome.truth.unwrap().malformed);
    for (offset, line) in letters {
        let at = usize::try_from(offset).unwrap();
        assert!(at == 0 || feed[at - 1] == b'\n', "{offset} starts a line");
        assert_eq!(&feed[at..at + line.len()], line.as_bytes(), "the row's line is the file's at {offset}");
    }
}

#[test]
fn the_async_engine_loads_the_same_tables() {
    let (sync, tokio) = (Scratch::new("engine-sync"), Scratch::new("engine-async"));
    let a = run(&options(&sync, 6_000, EngineChoice::Sync), &mut std::io::sink()).unwrap();
    let b = run(&options(&tokio, 6_000, EngineChoice::Async), &mut std::io::sink()).unwrap();
    assert_eq!((a.rows, a.ledger), (b.rows, b.ledger));
    assert_eq!(
        dump(a.database.sqlite_path().unwrap()),
        dump(b.database.sqlite_path().unwrap()),
        "row for row, in load order"
    );
}

#[test]
fn the_binary_prints_the_plan_the_report_and_the_tables() {
    let dir = Scratch::new("binary");
    let output = Command::new(env!("CARGO_BIN_EXE_flux"))
        .args(["demo", "--records", "2000", "--quiet", "--metrics", "prometheus", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for expected in [
        "plan:\n[0] feed (Source",
        "== boundary",
        "records in,",
        "accumulator orders: open groups 0",
        "orders ",
        "rows (as generated)",
        "dead letter at byte ",
        " dead letters: no event time\n",
        "flux_stage_received_total{stage=\"parse\"}",
    ] {
        assert!(stdout.contains(expected), "`{expected}` missing from:\n{stdout}");
    }
    assert!(!stdout.contains("the generator wrote"), "a table disagrees with the generator:\n{stdout}");
}

/// Runs the binary expecting it to fail: its one-line message.
fn fails(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_flux")).args(args).output().unwrap();
    assert!(!output.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    stderr
}

#[test]
fn bad_input_is_a_one_line_error_and_a_failing_exit() {
    let dir = Scratch::new("bad-input");
    let missing = dir.path().join("no-such.feed");
    let stderr =
        fails(&["demo", "--quiet", "--input", missing.to_str().unwrap(), "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("flux demo: cannot read input ") && stderr.contains("no-such.feed"), "{stderr}");

    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "not a directory").unwrap();
    let stderr = fails(&["demo", "--quiet", "--records", "10", "--dir", blocked.join("sub").to_str().unwrap()]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("flux demo: cannot create "), "{stderr}");

    let database = dir.path().join("flux.db");
    std::fs::create_dir_all(&database).unwrap();
    std::fs::write(dir.path().join("feed"), "1 O1 shipment carrier=dhl\n").unwrap();
    let feed = dir.path().join("feed");
    let stderr = fails(&["demo", "--quiet", "--input", feed.to_str().unwrap(), "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("database") && stderr.contains("flux.db"), "{stderr}");

    let stderr = fails(&["demo", "--engine", "warp"]);
    assert!(stderr.contains("invalid value 'warp'"), "{stderr}");
}

#[test]
fn a_users_own_feed_with_bad_lines_loads_and_names_each_bad_line() {
    let dir = Scratch::new("own-feed");
    let feed = dir.path().join("mine.feed");
    std::fs::write(
        &feed,
        "1000 O1 header customer=C1 items=1\n\
         1001 O1 item sku=SKU-1 qty=2 cents=150\n\
         oops\n\
         1002 O1 payment cents=300 method=card\n\
         1003 O1 shipment carrier=dhl\n\
         1004 O2 shipment\n",
    )
    .unwrap();
    let options = DemoOptions { input: Some(feed.clone()), ..options(&dir, 0, EngineChoice::Sync) };
    let outcome = run(&options, &mut std::io::sink()).unwrap();
    assert_eq!(outcome.truth, None);
    assert_eq!(outcome.rows, [1, 1, 0, 2]);
    let db = rusqlite::Connection::open(outcome.database.sqlite_path().unwrap()).unwrap();
    let letters: Vec<(String, i64, String, String)> = db
        .prepare("SELECT file, byte_offset, line, error FROM dead_letters ORDER BY byte_offset")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let file = feed.display().to_string();
    assert_eq!(
        letters,
        [
            (file.clone(), 74, "oops".to_owned(), "no event time".to_owned()),
            (file, 146, "1004 O2 shipment".to_owned(), "a field is missing".to_owned()),
        ]
    );
}

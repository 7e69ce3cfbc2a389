//! `flux demo --postgres`: the same feed loaded into PostgreSQL holds the
//! SQLite load's tables row for row, a second run passes over what the
//! first committed, and a server that is not there is a one-line error.
//! The loads need a server (`FLUX_POSTGRES_URL`; each says it is skipped
//! without one); the unreachable server needs none.

mod support;

use std::process::Command;

use flux_cli::demo::{DemoOptions, EngineChoice, run};
use support::postgres::{Schema, plain as plain_postgres, server};
use support::{Scratch, dump};

fn options(dir: &Scratch, postgres: Option<&str>) -> DemoOptions {
    DemoOptions {
        dir: dir.path().to_path_buf(),
        postgres: postgres.map(str::to_owned),
        input: None,
        records: 6_000,
        seed: 11,
        engine: EngineChoice::Sync,
        metrics: None,
        progress: false,
        fresh: true,
    }
}

#[test]
fn the_postgres_load_holds_the_sqlite_loads_tables_row_for_row() {
    let Some(url) = server("the_postgres_load_holds_the_sqlite_loads_tables_row_for_row") else { return };
    let schema = Schema::new(&url, "flux_cli_same_rows");
    let (lite, pg) = (Scratch::new("pg-same-sqlite"), Scratch::new("pg-same-postgres"));
    let a = run(&options(&lite, None), &mut std::io::sink()).unwrap();
    let b = run(&options(&pg, Some(&schema.url)), &mut std::io::sink()).unwrap();
    let truth = b.truth.expect("generated");
    assert_eq!(b.rows, [truth.complete, truth.complete_items, truth.partial(), truth.malformed]);
    assert_eq!((a.rows, a.ledger), (b.rows, b.ledger), "the same counts and the same ledger");
    let (expected, loaded) = (dump(a.database.sqlite_path().unwrap()), plain_postgres(&schema.url));
    assert_eq!(loaded.len(), expected.len());
    let first_difference = expected.iter().zip(&loaded).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "row for row, in load order");
}

/// The binary into PostgreSQL: the report and the summary read from it;
/// run again on the same feed, it passes over every record the first run
/// committed and writes none twice; with `--fresh`, it starts over.
#[test]
fn the_binary_loads_into_postgres_and_a_second_run_passes_over_every_record() {
    let Some(url) = server("the_binary_loads_into_postgres_and_a_second_run_passes_over_every_record") else { return };
    let schema = Schema::new(&url, "flux_cli_binary");
    let dir = Scratch::new("pg-binary");
    let demo_with = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_flux"))
            .args(["demo", "--records", "2000", "--quiet", "--postgres", &schema.url, "--dir"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        stdout
    };
    let demo = || demo_with(&[]);
    let first = demo();
    for expected in ["plan:", "postgres: rows ", "rows (as generated)", "dead letter at byte ", "query it: psql '"] {
        assert!(first.contains(expected), "`{expected}` missing from:\n{first}");
    }
    assert!(!first.contains("the generator wrote"), "a table disagrees with the generator:\n{first}");
    let tables = plain_postgres(&schema.url);
    let records = support::postgres::committed(&schema.url).expect("a checkpoint");

    let second = demo();
    let passed =
        format!("rows 0, transactions 0, passed over (committed by an earlier run) {records}, failed batches 0");
    assert!(second.contains(&passed), "`{passed}` missing from:\n{second}");
    assert_eq!(plain_postgres(&schema.url), tables, "the tables as the first run left them");

    // --fresh empties the tables and forgets the checkpoint: every row
    // written again, once.
    let fresh = demo_with(&["--fresh"]);
    assert!(fresh.contains("passed over (committed by an earlier run) 0,"), "{fresh}");
    assert!(fresh.contains(&format!("postgres: rows {}, ", tables.len())), "every row written again:\n{fresh}");
    assert_eq!(plain_postgres(&schema.url), tables, "the same rows, none twice");
}

#[test]
fn a_server_that_is_not_there_is_a_one_line_error_without_the_password() {
    let dir = Scratch::new("pg-unreachable");
    let output = Command::new(env!("CARGO_BIN_EXE_flux"))
        .args(["demo", "--quiet", "--records", "10", "--postgres", "postgresql://flux:s3cret@127.0.0.1:1/flux"])
        .arg("--dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("flux demo: cannot connect to PostgreSQL at postgresql://flux@127.0.0.1:1/flux: "),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret") && !stderr.contains("panicked"), "{stderr}");
}

//! The restartable load under SIGKILL, into PostgreSQL: `flux demo
//! --postgres` killed at eight points of a long run, restarted each time,
//! ends with the rows of one clean run: nothing written twice, nothing
//! lost. Needs a server (`FLUX_POSTGRES_URL`; says it is skipped without
//! one).

mod support;

use std::process::{Child, Stdio};
use std::time::Duration;

use support::kill::{flux_demo, kill_points};
use support::postgres::{Schema, committed, plain as plain_postgres, server};
use support::{Scratch, dump};

const KILLS: usize = 8;

/// Waits until the load at `url` has committed `records`, or the child
/// has ended.
#[allow(clippy::disallowed_methods, reason = "polls a real process")]
fn wait_for(child: &mut Child, url: &str, records: u64) {
    while child.try_wait().unwrap().is_none() && committed(url).is_none_or(|done| done < records) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
#[allow(clippy::disallowed_methods, reason = "a delay inside a real process's transaction")]
fn a_postgres_load_killed_at_many_points_and_restarted_ends_with_the_rows_of_one_clean_run() {
    let Some(url) = server("a_postgres_load_killed_at_many_points_and_restarted_ends_with_the_rows_of_one_clean_run")
    else {
        return;
    };
    let schema = Schema::new(&url, "flux_cli_kill");
    let (clean_dir, killed_dir) = (Scratch::new("pg-kill-clean"), Scratch::new("pg-kill-killed"));
    let feed = clean_dir.path().join("orders.feed");
    let truth = flux_cli::feed::generate(&feed, 30_000, 5).unwrap();

    // The clean run into SQLite: the tables are the same either way (the
    // test `the_postgres_load_holds_the_sqlite_loads_tables_row_for_row`).
    let clean = flux_demo(clean_dir.path(), &feed).output().unwrap();
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    let mut expected = dump(&clean_dir.path().join("flux.db"));

    let total = truth.complete + truth.partial() + truth.malformed;
    let demo = || {
        let mut command = flux_demo(killed_dir.path(), &feed);
        command.arg("--postgres").arg(&schema.url);
        command
    };
    let mut seen = Vec::new();
    for (share, delay) in kill_points(KILLS) {
        let mut child = demo().spawn().unwrap();
        wait_for(&mut child, &schema.url, (share * total as f64) as u64);
        std::thread::sleep(delay);
        // SIGKILL: the server rolls back the open transaction.
        let _ = child.kill();
        let _ = child.wait();
        seen.push(committed(&schema.url));
    }
    let before_last = committed(&schema.url).unwrap_or(0);
    let last = demo().stdout(Stdio::piped()).output().unwrap();
    let report = String::from_utf8_lossy(&last.stdout);
    assert!(last.status.success(), "{report}\n{}", String::from_utf8_lossy(&last.stderr));
    let passed = format!("passed over (committed by an earlier run) {before_last}, failed batches 0");
    assert!(report.contains(&passed), "`{passed}` missing from:\n{report}");

    let mid_load = seen.iter().flatten().filter(|&&records| records > 0 && records < total).count();
    assert!(mid_load >= KILLS / 3, "kills must land inside the load: checkpoints {seen:?}");
    // Sorted: rows of killed transactions leave dead tuples, and a later
    // insert may reuse their space, so the physical order is not the
    // load's order here; the rows themselves must be the same, each once.
    let mut after = plain_postgres(&schema.url);
    expected.sort();
    after.sort();
    assert_eq!(after.len(), expected.len(), "as many rows as the clean run (checkpoints {seen:?})");
    assert!(after == expected, "the restarted load differs from the clean run (checkpoints {seen:?})");
}

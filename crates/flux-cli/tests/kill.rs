//! A restartable load under SIGKILL: `flux demo` killed at twenty-four
//! points of a long run, restarted each time, ends with the same tables,
//! row for row, as one clean run: nothing written twice, nothing lost.

mod support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use support::kill::{flux_demo, kill_points};
use support::{Scratch, dump};

const KILLS: usize = 24;

fn finish(child: Child) {
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Records committed so far by the load in `dir`, if it has begun.
fn committed(dir: &Path) -> Option<u64> {
    let database = dir.join("flux.db");
    if !database.exists() {
        return None;
    }
    let db = rusqlite::Connection::open(database).ok()?;
    db.query_row("SELECT records FROM flux_checkpoints", [], |row| row.get(0)).ok()
}

/// Waits until the load in `dir` has committed `records`, or the child
/// has ended.
#[allow(clippy::disallowed_methods, reason = "polls a real process")]
fn wait_for(child: &mut Child, dir: &Path, records: u64) {
    while child.try_wait().unwrap().is_none() && committed(dir).is_none_or(|done| done < records) {
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
#[allow(clippy::disallowed_methods, reason = "a delay inside a real process's transaction")]
fn a_load_killed_at_many_points_and_restarted_ends_with_the_tables_of_one_clean_run() {
    let (clean_dir, killed_dir) = (Scratch::new("kill-clean"), Scratch::new("kill-killed"));
    let feed = clean_dir.path().join("orders.feed");
    let truth = flux_cli::feed::generate(&feed, 30_000, 5).unwrap();

    finish(flux_demo(clean_dir.path(), &feed).spawn().unwrap());
    let expected = dump(&clean_dir.path().join("flux.db"));
    assert_eq!(expected.iter().filter(|row| row.starts_with("orders:")).count() as u64, truth.complete);

    let total = truth.complete + truth.partial() + truth.malformed;
    let mut seen = Vec::new();
    for (share, delay) in kill_points(KILLS) {
        let mut child = flux_demo(killed_dir.path(), &feed).spawn().unwrap();
        wait_for(&mut child, killed_dir.path(), (share * total as f64) as u64);
        std::thread::sleep(delay);
        // SIGKILL: no destructor, no flush, no rollback but SQLite's own.
        let _ = child.kill();
        let _ = child.wait();
        seen.push(committed(killed_dir.path()));
    }
    let before_last = committed(killed_dir.path()).unwrap_or(0);
    let last = flux_demo(killed_dir.path(), &feed).stdout(Stdio::piped()).output().unwrap();
    let report = String::from_utf8_lossy(&last.stdout);
    assert!(last.status.success(), "{report}");
    // The last run passed over what was committed and wrote the rest, with
    // no batch refused (a batch written twice would break a primary key).
    let passed = format!("passed over (committed by an earlier run) {before_last}, failed batches 0");
    assert!(report.contains(&passed), "`{passed}` missing from:\n{report}");
    let after = dump(&killed_dir.path().join("flux.db"));

    let mid_load = seen.iter().flatten().filter(|&&records| records > 0 && records < total).count();
    let distinct = {
        let mut points: Vec<u64> = seen.iter().flatten().copied().collect();
        points.dedup();
        points.len()
    };
    assert!(mid_load >= KILLS / 3 && distinct >= 4, "kills must land inside the load: checkpoints {seen:?}");
    assert_eq!(after.len(), expected.len(), "as many rows as the clean run");
    assert!(after == expected, "the restarted load differs from the clean run (checkpoints {seen:?})");
}

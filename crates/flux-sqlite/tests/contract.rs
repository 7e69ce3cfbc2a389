//! The sink's side of the kernel's contracts, called directly: what it
//! holds, when it has dead letters to hand back, its hint to engines, a
//! batch cut by bytes, a busy database tried again, and a commit that
//! fails saying so.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use flux_core::{CheckpointToken, Context, Cost, EngineHint, Envelope, Instant, Sink, TransactionalSink, Undelivered};
use flux_sqlite::{BatchFailed, Row, SqliteSink, Table, ToRows};
use flux_test::Diverted;
use rusqlite::Connection;

/// A database file of the test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let scratch =
            Scratch(std::env::temp_dir().join(format!("flux-sqlite-contract-{name}-{}.db", std::process::id())));
        scratch.remove();
        scratch
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }

    fn ids(&self) -> Vec<u64> {
        let db = Connection::open(&self.0).unwrap();
        let mut query = db.prepare("SELECT id FROM ids ORDER BY id").unwrap();
        query.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.remove();
    }
}

fn sink(db: &Scratch) -> SqliteSink<u64, impl ToRows<u64> + use<>> {
    let table = Table::new("ids").unwrap().column("id", "INTEGER PRIMARY KEY").unwrap();
    SqliteSink::new(&db.0, table, |id: &u64, row: &mut Row<'_>| row.push(id).map(drop)).create_table()
}

fn write(sink: &mut impl Sink<u64>, ids: impl IntoIterator<Item = u64>) {
    let mut diverted = Diverted::default();
    let mut cx = Context::new(Instant::ZERO, &mut diverted);
    for id in ids {
        sink.write(Envelope::new(id).with_sequence(id).with_cost(Cost::bytes(100)), &mut cx).unwrap();
    }
}

#[test]
fn it_holds_what_it_has_not_written_and_hands_back_a_failed_batch() {
    let db = Scratch::new("held");
    let mut sink = sink(&db).batch_rows(4);
    assert_eq!(sink.engine_hint(), EngineHint::Blocking, "its calls block: a thread of its own on tokio");
    write(&mut sink, [1, 2, 3]);
    assert_eq!((sink.held(), sink.has_news()), (3, false));
    write(&mut sink, [3]); // the fourth fills the batch, which fails on the key
    assert_eq!((sink.held(), sink.has_news()), (0, true));
    let mut undelivered: Vec<Undelivered> = Vec::new();
    sink.take_undelivered(&mut undelivered);
    let sequences: Vec<u64> = undelivered.iter().map(|u| u.meta.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 3]);
    assert!(!sink.has_news(), "handed back once");
    let cause = undelivered[0].cause.downcast_ref::<BatchFailed>().unwrap();
    assert!(
        cause.to_string().starts_with("a batch of 4 rows into `ids` failed and was rolled back: UNIQUE constraint"),
        "{cause}"
    );
    assert!(db.ids().is_empty());
}

#[test]
fn a_batch_is_written_once_its_envelopes_costs_reach_the_byte_limit() {
    let db = Scratch::new("bytes");
    let mut sink = sink(&db).batch_bytes(300);
    let stats = sink.stats();
    write(&mut sink, [1, 2]);
    assert_eq!((stats.batches(), sink.held()), (0, 2), "200 bytes held");
    write(&mut sink, [3]);
    assert_eq!((stats.batches(), sink.held()), (1, 0), "300 bytes: written");
    write(&mut sink, [4, 5]);
    assert_eq!((stats.batches(), sink.held()), (1, 2), "the count starts again after a batch");
    assert_eq!(db.ids(), [1, 2, 3]);
}

#[test]
fn a_commit_whose_batch_fails_says_so_and_its_records_are_handed_back() {
    let db = Scratch::new("commit");
    let mut sink = sink(&db).checkpoint_as("ids");
    write(&mut sink, [1, 1]);
    let error = sink.commit(&CheckpointToken { sequence: 1, state: Bytes::new() }).unwrap_err();
    assert!(error.to_string().contains("covering sequence 1 was rolled back"), "{error}");
    assert!(sink.has_news());
    write(&mut sink, [2]);
    sink.commit(&CheckpointToken { sequence: 2, state: Bytes::new() }).unwrap();
    assert_eq!(db.ids(), [2]);
}

/// Another connection holds the write lock until the sink has been told
/// "busy" twice; the sink's third try gets the lock and writes the batch.
#[test]
fn a_busy_database_is_tried_again_until_the_lock_is_free() {
    let db = Scratch::new("busy");
    let mut sink = sink(&db).batch_rows(2).busy_wait(Duration::from_millis(5)).retries(1_000);
    write(&mut sink, [1]); // opens the database and creates the table
    let stats = sink.stats();
    let locker = Connection::open(&db.0).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let watcher = std::thread::spawn(move || {
        while stats.retries() < 2 {
            std::thread::yield_now();
        }
        locker.execute_batch("COMMIT").unwrap();
        stats
    });
    write(&mut sink, [2]);
    let stats = watcher.join().unwrap();
    assert!(stats.retries() >= 2, "{}", stats.retries());
    assert_eq!((stats.batches(), stats.failed_batches()), (1, 0));
    assert_eq!(db.ids(), [1, 2]);
}

#[test]
fn a_database_busy_past_the_retries_fails_the_batch_whole() {
    let db = Scratch::new("busy-for-good");
    let mut sink = sink(&db).batch_rows(2).busy_wait(Duration::from_millis(1)).retries(2);
    write(&mut sink, [1]);
    let locker = Connection::open(&db.0).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let stats = sink.stats();
    write(&mut sink, [2]);
    assert_eq!((stats.retries(), stats.failed_batches(), sink.has_news()), (2, 1, true));
    locker.execute_batch("COMMIT").unwrap();
}

//! `SqliteSink`: records into a table, in batched transactions.

use core::fmt;
use core::task::Poll;
use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use flux_core::{
    CheckpointToken, Context, EngineHint, Envelope, Instant, Sink, TransactionalSink, Undelivered, WriteError,
};
use flux_sql::{HeldBatch, Taken};
use rusqlite::{Connection, ErrorCode};

use crate::checkpoint::{Checkpoints, Resume};
use crate::row::{OneTable, Rows};
use crate::{Table, ToRow, ToRows};

/// A sink that writes each record as a row of a SQLite table, many rows
/// to a transaction.
///
/// - **Batches.** Rows are held until the batch is full (1,000 rows by
///   default, [`SqliteSink::batch_rows`]; or a byte total from the
///   envelopes' costs, [`SqliteSink::batch_bytes`]) or has waited long
///   enough ([`SqliteSink::batch_linger`], on the engine's clock), then
///   written in one transaction; what is held at the end is written when
///   the sink closes.
/// - **Never half-written, never lost.** A batch that fails is rolled
///   back whole. A busy or locked database is retried
///   ([`SqliteSink::retries`], after SQLite's own busy wait); any other
///   failure (a constraint, a value that cannot be bound) sends every
///   record of the batch to the dead-letter output, each with its
///   sequence and the batch's error, and the run goes on.
/// - **Lifecycle.** The database is opened (and the table created, with
///   [`SqliteSink::create_table`]) when the run opens its stages, so a
///   missing directory fails the run before the first record is read,
///   naming the sink. Its calls block, so the sink asks for a thread of
///   its own on the tokio engine ([`EngineHint::Blocking`]); on the sync
///   engine it runs in the caller's thread with no runtime.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_engine_sync::SyncEngine;
/// use flux_plan::Planner;
/// use flux_sqlite::{Row, SqliteSink, Table};
/// use flux_test::IterSource;
///
/// let path = std::env::temp_dir().join(format!("flux-sqlite-doc-{}.db", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let table = Table::new("squares")?.column("n", "INTEGER PRIMARY KEY")?.column("square", "INTEGER")?;
/// let sink = SqliteSink::new(&path, table, |n: &u64, row: &mut Row<'_>| {
///     row.push(n)?.push(n * n)?;
///     Ok(())
/// })
/// .create_table();
/// let pipeline = Pipeline::from_source(IterSource::new(0..2_500u64)).sink(sink);
/// let plan = Planner::new().plan(pipeline.describe())?;
/// let report = SyncEngine::new().run(&plan, pipeline)?;
///
/// let db = rusqlite::Connection::open(&path)?;
/// let (rows, sum): (u64, u64) = db.query_row("SELECT COUNT(*), SUM(square) FROM squares", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
/// assert_eq!((rows, sum), (2_500, (0..2_500u64).map(|n| n * n).sum()));
/// assert_eq!(report.row("sink").unwrap().counts.consumed, 2_500);
/// # drop(db);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteSink<T, M> {
    path: PathBuf,
    tables: Vec<Table>,
    inserts: Vec<String>,
    create: bool,
    /// Where the load's progress is committed, with its rows.
    checkpoints: Option<Checkpoints>,
    resume: Resume,
    map: M,
    retries: u32,
    busy_wait: std::time::Duration,
    connection: Option<Connection>,
    /// The records held for the next transaction, its limits and linger,
    /// and the dead letters of failed ones.
    batch: HeldBatch<T>,
    stats: SqliteStats,
}

impl<T, M> fmt::Debug for SqliteSink<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteSink")
            .field("path", &self.path)
            .field("tables", &self.tables.iter().map(Table::name).collect::<Vec<_>>())
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static, M: ToRow<T>> SqliteSink<T, OneTable<M>> {
    /// A sink writing into `table` of the database at `path` (created if
    /// missing), each record bound to one row by `map`.
    pub fn new(path: impl Into<PathBuf>, table: Table, map: M) -> Self {
        SqliteSink::tables(path, vec![table], OneTable(map))
    }
}

impl<T: Send + 'static, M: ToRows<T>> SqliteSink<T, M> {
    /// A sink writing into any of `tables` of the database at `path`
    /// (created if missing): `map` inserts each record's rows, by table
    /// name, in the batch's transaction. A batch that fails is rolled back
    /// in every table.
    ///
    /// # Examples
    ///
    /// ```
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_sqlite::{Rows, SqliteSink, Table};
    /// use flux_test::IterSource;
    ///
    /// let path = std::env::temp_dir().join(format!("flux-sqlite-tables-{}.db", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let evens = Table::new("evens")?.column("n", "INTEGER")?;
    /// let odds = Table::new("odds")?.column("n", "INTEGER")?;
    /// let sink = SqliteSink::tables(&path, vec![evens, odds], |n: &u64, rows: &mut Rows<'_, '_>| {
    ///     let table = if n % 2 == 0 { "evens" } else { "odds" };
    ///     rows.insert(table, |row| row.push(n).map(drop))
    /// })
    /// .create_table();
    /// let pipeline = Pipeline::from_source(IterSource::new(0..10u64)).sink(sink);
    /// let plan = flux_plan::Planner::new().plan(pipeline.describe())?;
    /// let report = flux_engine_sync::SyncEngine::new().run(&plan, pipeline)?;
    /// assert!(report.dead_letters.is_empty());
    ///
    /// let db = rusqlite::Connection::open(&path)?;
    /// let odd: u64 = db.query_row("SELECT SUM(n) FROM odds", [], |r| r.get(0))?;
    /// assert_eq!(odd, 1 + 3 + 5 + 7 + 9);
    /// # drop(db);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tables(path: impl Into<PathBuf>, tables: Vec<Table>, map: M) -> Self {
        let inserts = tables.iter().map(Table::insert_sql).collect();
        SqliteSink {
            path: path.into(),
            tables,
            inserts,
            create: false,
            checkpoints: None,
            resume: Resume::Replay,
            map,
            retries: 3,
            busy_wait: std::time::Duration::from_secs(5),
            connection: None,
            batch: HeldBatch::new(),
            stats: SqliteStats::default(),
        }
    }

    /// Makes the load restartable under `name`: each transaction also
    /// records, in the table `flux_checkpoints`, how many records this
    /// sink has taken in all and the highest input sequence among them,
    /// so the rows and the progress are committed together or not at all.
    ///
    /// A run that finds a checkpoint under `name` passes over as many
    /// records as it says before writing again: replaying the same input
    /// through a deterministic pipeline (the sync engine, or timers on the
    /// event-time clock) then writes exactly the rows a run that was never
    /// stopped would have written, with none twice and none missing,
    /// wherever the earlier run was killed. Records passed over are
    /// counted in [`SqliteStats::skipped`].
    #[must_use]
    pub fn checkpoint_as(mut self, name: &str) -> Self {
        self.checkpoints = Some(Checkpoints::new(name));
        self
    }

    /// Sets how a restarted load goes on (default [`Resume::Replay`]: the
    /// sink passes over what was committed). With [`Resume::FromSource`]
    /// the caller restores the source from the committed checkpoint
    /// ([`checkpoint`](crate::checkpoint), [`Checkpoint::token`](crate::Checkpoint::token)) and the sink
    /// writes all it gets.
    #[must_use]
    pub fn resume(mut self, resume: Resume) -> Self {
        self.resume = resume;
        self
    }

    /// Creates the tables when the run opens, if they do not exist.
    #[must_use]
    pub fn create_table(mut self) -> Self {
        self.create = true;
        self
    }

    /// Writes a transaction every `rows` rows (at least one).
    #[must_use]
    pub fn batch_rows(mut self, rows: usize) -> Self {
        self.batch = self.batch.max_rows(rows);
        self
    }

    /// Also writes a transaction once the held envelopes' costs reach
    /// `bytes` (envelopes from a framed source carry their frame's size).
    #[must_use]
    pub fn batch_bytes(mut self, bytes: u64) -> Self {
        self.batch = self.batch.max_bytes(bytes);
        self
    }

    /// Also writes a transaction once its oldest record has waited
    /// `linger` on the engine's clock, full or not: a slow trickle of
    /// records still reaches the table within `linger`.
    #[must_use]
    pub fn batch_linger(mut self, linger: std::time::Duration) -> Self {
        self.batch = self.batch.linger(linger);
        self
    }

    /// Tries a batch again this many times when the database is busy or
    /// locked (default 3), each after SQLite's own busy wait.
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// How long SQLite itself waits for another connection's lock before a
    /// try fails as busy (default five seconds).
    #[must_use]
    pub fn busy_wait(mut self, wait: std::time::Duration) -> Self {
        self.busy_wait = wait;
        self
    }

    /// A handle to the sink's figures, readable after the run.
    pub fn stats(&self) -> SqliteStats {
        self.stats.clone()
    }

    fn open(&mut self) -> rusqlite::Result<()> {
        if self.connection.is_some() {
            return Ok(());
        }
        let connection = Connection::open(&self.path)?;
        connection.busy_timeout(self.busy_wait)?;
        // A write-ahead log: readers do not block the load, and a commit
        // costs one append.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        if self.create {
            for table in &self.tables {
                connection.execute(&table.create_sql(), [])?;
            }
        }
        if let Some(checkpoints) = &mut self.checkpoints {
            let found = checkpoints.open(&connection)?;
            let committed = found.map_or(0, |c| c.records);
            match self.resume {
                Resume::Replay => self.batch.skip(committed),
                // The source starts after the checkpoint: the count goes
                // on from it.
                Resume::FromSource => checkpoints.passed(committed),
            }
        }
        self.connection = Some(connection);
        Ok(())
    }

    /// Writes what is held in one transaction, tried again while the
    /// database is busy; if it fails for good, every held record goes to
    /// the dead letters with the batch's error.
    fn flush(&mut self) {
        // Only a checkpoint records what the batch covers.
        let covered = self.checkpoints.as_ref().and_then(|_| self.batch.highest_sequence());
        self.flush_covering(covered);
    }

    /// [`flush`](Self::flush), recording `covered` as the highest input
    /// sequence the checkpoint covers.
    fn flush_covering(&mut self, covered: Option<u64>) {
        if !self.batch.start_flush() {
            return;
        }
        let mut tries = 0;
        let failure = loop {
            match self.commit(covered) {
                Ok(()) => {
                    self.stats.batches.fetch_add(1, Relaxed);
                    self.batch.written();
                    return;
                }
                Err(error) if busy(&error) && tries < self.retries => {
                    tries += 1;
                    self.stats.retries.fetch_add(1, Relaxed);
                }
                Err(error) => break error,
            }
        };
        self.stats.failed_batches.fetch_add(1, Relaxed);
        // The failed records keep their places in the count of records
        // taken: a restarted run passes over them as over the rows
        // written, so the count stays a position in the stream.
        if let Some(checkpoints) = &mut self.checkpoints {
            checkpoints.passed(self.batch.len() as u64);
        }
        let table = self.tables.iter().map(Table::name).collect::<Vec<_>>().join(", ");
        self.batch.fail(&table, &failure.to_string());
    }

    /// One transaction of every held record, and the checkpoint if the
    /// load has one; rolled back (by dropping it) on any error.
    fn commit(&mut self, covered: Option<u64>) -> rusqlite::Result<()> {
        self.open()?;
        let connection = self.connection.as_mut().expect("opened just now");
        let transaction = connection.transaction()?;
        let inserted = {
            let mut statements =
                self.inserts.iter().map(|sql| transaction.prepare_cached(sql)).collect::<rusqlite::Result<Vec<_>>>()?;
            let mut rows = Rows::new(&self.tables, &mut statements);
            for item in self.batch.records() {
                self.map.rows(item.payload(), &mut rows)?;
            }
            rows.inserted()
        };
        if let Some(checkpoints) = &mut self.checkpoints {
            checkpoints.record(&transaction, self.batch.len() as u64, covered)?;
        }
        transaction.commit()?;
        if let Some(checkpoints) = &mut self.checkpoints {
            checkpoints.committed(self.batch.len() as u64, covered);
        }
        self.stats.rows.fetch_add(inserted, Relaxed);
        Ok(())
    }
}

/// Whether a failed batch may succeed if tried again: the database was
/// busy or locked by another connection.
fn busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code().is_some_and(|code| matches!(code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

impl<T: Send + 'static, M: ToRows<T>> Sink<T> for SqliteSink<T, M> {
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        match self.batch.take(item, cx.now()) {
            // Committed by an earlier run of this load.
            Taken::Skipped => {
                self.stats.skipped.fetch_add(1, Relaxed);
                if let Some(checkpoints) = &mut self.checkpoints {
                    checkpoints.passed(1);
                }
            }
            Taken::Held => {}
            Taken::Full => self.flush(),
        }
        Ok(())
    }

    /// Opens the database and creates the table, before the first record.
    fn poll_open(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Box<dyn Error + Send + Sync>>> {
        let path = self.path.display().to_string();
        Poll::Ready(self.open().map_err(|error| format!("cannot open the SQLite database {path}: {error}").into()))
    }

    fn engine_hint(&self) -> EngineHint {
        EngineHint::Blocking
    }

    /// When the held batch has lingered long enough, if a linger is set.
    fn next_deadline(&self) -> Option<Instant> {
        self.batch.next_deadline()
    }

    /// Writes the held batch: it has lingered long enough.
    fn on_time(&mut self, _cx: &mut Context<'_>) {
        self.flush();
    }

    /// Writes what is held, then closes the database.
    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        self.flush();
        if let Some(connection) = self.connection.take() {
            connection.close().map_err(|(_, error)| Box::new(error) as Box<dyn Error + Send + Sync>)?;
        }
        Ok(())
    }

    fn take_undelivered(&mut self, into: &mut Vec<Undelivered>) {
        self.batch.take_undelivered(into);
    }

    fn has_news(&self) -> bool {
        self.batch.has_news()
    }

    fn held(&self) -> u64 {
        self.batch.held()
    }
}

impl<T: Send + 'static, M: ToRows<T>> TransactionalSink<T> for SqliteSink<T, M> {
    /// Writes what is held in one transaction, with `token.sequence` as
    /// the input sequence the checkpoint covers (see
    /// [`SqliteSink::checkpoint_as`]).
    ///
    /// # Errors
    ///
    /// The batch failed for good: its records are dead letters, and the
    /// checkpoint did not move.
    fn commit(&mut self, token: &CheckpointToken) -> Result<(), Box<dyn Error + Send + Sync>> {
        let failed = self.stats.failed_batches();
        self.flush_covering(Some(token.sequence));
        if self.stats.failed_batches() > failed {
            return Err(format!("the batch covering sequence {} was rolled back", token.sequence).into());
        }
        Ok(())
    }

    /// Drops what is held, unwritten: the next run writes it again.
    fn abort(&mut self) {
        self.batch.abort();
    }
}

/// A SQLite sink's figures, shared with it: readable during the run and
/// after it.
#[derive(Clone, Debug, Default)]
pub struct SqliteStats {
    rows: Arc<AtomicU64>,
    batches: Arc<AtomicU64>,
    failed_batches: Arc<AtomicU64>,
    retries: Arc<AtomicU64>,
    skipped: Arc<AtomicU64>,
}

impl SqliteStats {
    /// Records passed over because an earlier run of the load committed
    /// them ([`SqliteSink::checkpoint_as`]).
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Relaxed)
    }

    /// Rows committed (a record may write several, or none).
    pub fn rows(&self) -> u64 {
        self.rows.load(Relaxed)
    }

    /// Transactions committed.
    pub fn batches(&self) -> u64 {
        self.batches.load(Relaxed)
    }

    /// Batches rolled back for good (their records are dead letters).
    pub fn failed_batches(&self) -> u64 {
        self.failed_batches.load(Relaxed)
    }

    /// Times a busy or locked database made a batch be tried again.
    pub fn retries(&self) -> u64 {
        self.retries.load(Relaxed)
    }
}

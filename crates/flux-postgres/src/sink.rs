//! `PostgresSink`: records into a table, in batched transactions.

use core::fmt;
use core::task::Poll;
use core::time::Duration;
use std::error::Error;

use flux_core::{
    CheckpointToken, Context, EngineHint, Envelope, Instant, Sink, TransactionalSink, Undelivered, WriteError,
};
use flux_sql::{HeldBatch, Taken};
use tokio_postgres::Config;
use tokio_postgres::types::Type;

use crate::batch::{Encoded, Encoder};
use crate::checkpoint::{Checkpoints, Mark, Resume};
use crate::driver::Driver;
use crate::failure::{Failure, Next, chain, describe, next};
use crate::link::{Link, Setup};
use crate::redact::redacted;
use crate::rows::{OneTable, Rows};
use crate::{OnConflict, PostgresStats, Table, ToRow, ToRows};

/// A sink that writes each record as a row of a PostgreSQL table, many
/// rows to a transaction.
///
/// - **Write modes.** Rows go by binary `COPY ... FROM STDIN` (the
///   default: the bulk load, [`PostgresSink::copy`]), as one `INSERT` per
///   row pipelined in the transaction ([`PostgresSink::insert`]: the rows
///   meet the table's triggers and rules as single inserts do), or as an
///   upsert, `INSERT ... ON CONFLICT (key) DO UPDATE` or `DO NOTHING`
///   ([`PostgresSink::upsert`]).
/// - **Batches.** Rows are held until the batch is full (1,000 rows by
///   default, [`PostgresSink::batch_rows`]; or a byte total from the
///   envelopes' costs, [`PostgresSink::batch_bytes`]) or has waited long
///   enough ([`PostgresSink::batch_linger`], on the engine's clock), then
///   written in one transaction; what is held at the end is written when
///   the sink closes.
/// - **Never half-written, never lost.** A batch that fails is rolled
///   back whole. A lost connection is made again and the batch tried
///   again, and so is a serialization failure or a deadlock
///   ([`PostgresSink::retries`], waiting [`PostgresSink::retry_delay`],
///   doubled each time); any other failure (a constraint, a value its
///   column cannot take) sends every record of the batch to the
///   dead-letter output, each with its sequence and the batch's error
///   ([`BatchFailed`](crate::BatchFailed)), and the run goes on. A connection lost while the
///   server was committing leaves it unknown whether the batch is in the
///   table; it is tried again, so a table with no unique key may then
///   hold it twice (not with a checkpoint: the sink reads it first, and
///   a batch whose checkpoint is there is not written again).
/// - **Several tables, restartable loads.** A record may write rows into
///   several tables ([`PostgresSink::tables`]): each table's rows go by
///   their own COPY in the batch's one transaction. A load can keep its
///   progress in the same transaction ([`PostgresSink::checkpoint_as`]),
///   so a run after a stop or a crash writes exactly what is missing.
/// - **Lifecycle.** The sink connects (and creates the table, with
///   [`PostgresSink::create_table`]) when the run opens its stages, so a
///   server that is not there, a database or table that does not exist,
///   or a refused password fails the run before the first record is
///   read, with one line naming the URL (never its password). Its calls
///   block, so it asks for a thread of its own on the tokio engine
///   ([`EngineHint::Blocking`]); on the sync engine it runs in the
///   caller's thread, with no runtime needed there (the client runs on a
///   one-thread runtime the sink keeps for itself).
///
/// # Examples
///
/// Squares into a table (the example runs when `FLUX_POSTGRES_URL` names
/// a database to write to, and returns at once otherwise):
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_engine_sync::SyncEngine;
/// use flux_plan::Planner;
/// use flux_postgres::{PostgresSink, Row, Table};
/// use flux_test::IterSource;
///
/// # let Ok(url) = std::env::var("FLUX_POSTGRES_URL") else { return Ok(()) };
/// let table = Table::new("doc_squares")?.column("n", "BIGINT PRIMARY KEY")?.column("square", "BIGINT")?;
/// let sink = PostgresSink::new(&url, table, |n: &i64, row: &mut Row<'_>| {
///     row.push(n)?.push(n * n)?;
///     Ok(())
/// })
/// .create_table()
/// .batch_rows(1_000);
/// let stats = sink.stats();
/// # drop_table(&url, "doc_squares")?;
/// let pipeline = Pipeline::from_source(IterSource::new(0..2_500i64)).sink(sink);
/// let plan = Planner::new().plan(pipeline.describe())?;
/// let report = SyncEngine::new().run(&plan, pipeline)?;
///
/// assert_eq!((stats.rows(), stats.batches()), (2_500, 3), "two full batches, then the rest at close");
/// assert_eq!(report.row("sink").unwrap().counts.consumed, 2_500);
/// # drop_table(&url, "doc_squares")?;
/// # fn drop_table(url: &str, table: &str) -> Result<(), Box<dyn std::error::Error>> {
/// #     let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// #     runtime.block_on(async {
/// #         let (client, connection) = flux_postgres::tokio_postgres::connect(url, flux_postgres::tokio_postgres::NoTls).await?;
/// #         tokio::spawn(connection);
/// #         client.batch_execute(&format!("DROP TABLE IF EXISTS {table}")).await
/// #     })?;
/// #     Ok(())
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresSink<T, M> {
    url: String,
    tables: Vec<Table>,
    mode: Mode,
    create: bool,
    /// Where the load's progress is committed, with its rows.
    checkpoints: Option<Checkpoints>,
    /// Whether the checkpoint was read (once, at the first connection).
    resumed: bool,
    resume: Resume,
    map: M,
    retries: u32,
    retry_delay: Duration,
    driver: Option<Driver>,
    link: Option<Link>,
    /// Per table, the columns' names and types, as the server reported
    /// them when the sink first connected: what a row's values are
    /// encoded for.
    columns: Vec<Vec<(String, Type)>>,
    /// The records held for the next transaction, its limits and linger,
    /// and the dead letters of failed ones.
    batch: HeldBatch<T>,
    stats: PostgresStats,
}

/// How the rows of a batch reach the table.
#[derive(Clone, Debug)]
enum Mode {
    Copy,
    Insert,
    Upsert { key: Vec<String>, on_conflict: OnConflict },
}

impl<T, M> fmt::Debug for PostgresSink<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSink")
            .field("url", &redacted(&self.url))
            .field("tables", &self.tables.iter().map(Table::name).collect::<Vec<_>>())
            .field("mode", &self.mode)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static, M: ToRow<T>> PostgresSink<T, OneTable<M>> {
    /// A sink writing into `table` of the database at `url`
    /// (`postgresql://user:password@host:port/database`, or tokio-postgres's
    /// `key=value` form), each record made a row by `map`, by binary COPY.
    pub fn new(url: &str, table: Table, map: M) -> Self {
        PostgresSink::tables(url, vec![table], OneTable(map))
    }
}

impl<T: Send + 'static, M: ToRows<T>> PostgresSink<T, M> {
    /// A sink writing into any of `tables` of the database at `url`: `map`
    /// inserts each record's rows, by table name. A batch is one
    /// transaction with a binary COPY per table that has rows in it (or
    /// the rows as INSERTs, [`PostgresSink::insert`]); a batch that fails
    /// is rolled back in every table.
    ///
    /// # Examples
    ///
    /// ```
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_postgres::{PostgresSink, Rows, Table};
    /// use flux_test::IterSource;
    ///
    /// # let Ok(url) = std::env::var("FLUX_POSTGRES_URL") else { return Ok(()) };
    /// let evens = Table::new("doc_evens")?.column("n", "BIGINT")?;
    /// let odds = Table::new("doc_odds")?.column("n", "BIGINT")?;
    /// let sink = PostgresSink::tables(&url, vec![evens, odds], |n: &i64, rows: &mut Rows<'_>| {
    ///     let table = if n % 2 == 0 { "doc_evens" } else { "doc_odds" };
    ///     rows.insert(table, |row| row.push(n).map(drop).map_err(Into::into))
    /// })
    /// .create_table();
    /// let stats = sink.stats();
    /// let pipeline = Pipeline::from_source(IterSource::new(0..10i64)).sink(sink);
    /// let plan = flux_plan::Planner::new().plan(pipeline.describe())?;
    /// let report = flux_engine_sync::SyncEngine::new().run(&plan, pipeline)?;
    /// assert!(report.dead_letters.is_empty());
    /// assert_eq!((stats.rows(), stats.batches()), (10, 1), "ten rows in two tables, one transaction");
    /// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # runtime.block_on(async {
    /// #     let (client, connection) = flux_postgres::tokio_postgres::connect(&url, flux_postgres::tokio_postgres::NoTls).await?;
    /// #     tokio::spawn(connection);
    /// #     client.batch_execute("DROP TABLE IF EXISTS doc_evens, doc_odds").await
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tables(url: &str, tables: Vec<Table>, map: M) -> Self {
        PostgresSink {
            url: url.to_owned(),
            tables,
            mode: Mode::Copy,
            create: false,
            checkpoints: None,
            resumed: false,
            resume: Resume::Replay,
            map,
            retries: 3,
            retry_delay: Duration::from_millis(100),
            driver: None,
            link: None,
            columns: Vec::new(),
            batch: HeldBatch::new(),
            stats: PostgresStats::default(),
        }
    }

    /// Makes the load restartable under `name`: each transaction also
    /// upserts, into the table `flux_checkpoints` (created if need be),
    /// how many records this sink has taken in all and the highest input
    /// sequence among them, so the rows and the progress are committed
    /// together or not at all.
    ///
    /// A run that finds a checkpoint under `name` passes over as many
    /// records as it says before writing again ([`Resume::Replay`]): with
    /// the same input through a deterministic pipeline, that writes
    /// exactly the rows a run that was never stopped would have written.
    /// Records passed over are counted in [`PostgresStats::skipped`].
    #[must_use]
    pub fn checkpoint_as(mut self, name: &str) -> Self {
        self.checkpoints = Some(Checkpoints::new(name));
        self
    }

    /// Sets how a restarted load goes on (default [`Resume::Replay`]: the
    /// sink passes over what was committed). With [`Resume::FromSource`]
    /// the caller restores the source from the committed checkpoint
    /// ([`checkpoint`](crate::checkpoint()), [`Checkpoint::token`](crate::Checkpoint::token))
    /// and the sink writes all it gets.
    #[must_use]
    pub fn resume(mut self, resume: Resume) -> Self {
        self.resume = resume;
        self
    }

    /// Writes a batch by binary `COPY ... FROM STDIN` (the default): the
    /// fastest way into a table.
    #[must_use]
    pub fn copy(mut self) -> Self {
        self.mode = Mode::Copy;
        self
    }

    /// Writes a batch as one `INSERT` per row, pipelined in its
    /// transaction.
    #[must_use]
    pub fn insert(mut self) -> Self {
        self.mode = Mode::Insert;
        self
    }

    /// Writes a batch as one `INSERT ... ON CONFLICT (key)` per row: a row
    /// whose key is in the table already updates it there
    /// ([`OnConflict::Update`]) or is skipped ([`OnConflict::Nothing`]).
    /// `key` names the columns of a unique index or the primary key; a name
    /// that is not a column of the table fails the run when it opens.
    #[must_use]
    pub fn upsert(mut self, key: &[&str], on_conflict: OnConflict) -> Self {
        self.mode = Mode::Upsert { key: key.iter().map(|&name| name.to_owned()).collect(), on_conflict };
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
    pub fn batch_linger(mut self, linger: Duration) -> Self {
        self.batch = self.batch.linger(linger);
        self
    }

    /// Tries a batch again this many times (default 3) after a lost
    /// connection, a serialization failure or a deadlock.
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Waits this long before the first retry of a batch, and twice as
    /// long before each next one (default 100 ms).
    #[must_use]
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// A handle to the sink's figures, readable after the run.
    pub fn stats(&self) -> PostgresStats {
        self.stats.clone()
    }

    /// What the sink connects with: the URL's settings and its statements.
    fn setup(&self) -> Result<Setup, Box<dyn Error + Send + Sync>> {
        let mut config: Config = self.url.parse()?;
        if config.get_connect_timeout().is_none() {
            // A host that drops packets fails the open in seconds, not
            // after the system's TCP timeout.
            config.connect_timeout(Duration::from_secs(10));
        }
        let mut inserts = Vec::with_capacity(self.tables.len());
        for table in &self.tables {
            inserts.push(match &self.mode {
                Mode::Copy | Mode::Insert => table.insert_sql(),
                Mode::Upsert { key, on_conflict } => {
                    let key: Vec<&str> = key.iter().map(String::as_str).collect();
                    table.upsert_sql(&key, *on_conflict)?
                }
            });
        }
        let copies = matches!(self.mode, Mode::Copy).then(|| self.tables.iter().map(Table::copy_sql).collect());
        let creates = if self.create { self.tables.iter().map(Table::create_sql).collect() } else { Vec::new() };
        Ok(Setup { config, creates, inserts, copies, checkpoints: self.checkpoints.is_some() })
    }

    /// Connects, unless connected; learns the columns' types the first time.
    fn connect(&mut self) -> Result<(), Failure> {
        if self.link.as_ref().is_some_and(|link| !link.is_closed()) {
            return Ok(());
        }
        self.link = None;
        let setup = self.setup().map_err(|error| Failure::give_up(chain(&*error)))?;
        let driver = match &mut self.driver {
            Some(driver) => driver,
            none => none.insert(Driver::new().map_err(|error| Failure::give_up(chain(&error)))?),
        };
        let link = match driver.run(Link::open(setup)) {
            Ok(Ok(link)) => link,
            Ok(Err(error)) => return Err(Failure { next: next(&error, true), message: describe(&error) }),
            Err(_) => return Err(Failure::give_up("the connection's task ended".to_owned())),
        };
        if !self.columns.is_empty() {
            self.stats.count_reconnect();
        }
        self.columns = (self.tables.iter().enumerate())
            .map(|(index, table)| {
                table.column_names().map(str::to_owned).zip(link.types(index).iter().cloned()).collect()
            })
            .collect();
        self.link = Some(link);
        if !self.resumed {
            self.resume_load()?;
        }
        Ok(())
    }

    /// Reads the checkpoint an earlier run left, once, and takes it over.
    fn resume_load(&mut self) -> Result<(), Failure> {
        let Some(found) = self.committed()? else {
            self.resumed = true;
            return Ok(());
        };
        let checkpoints = self.checkpoints.as_mut().expect("a checkpoint was read");
        match self.resume {
            Resume::Replay => {
                self.batch.skip(found.records);
                checkpoints.found(found, 0);
            }
            // The source starts after the checkpoint: the count goes on
            // from it.
            Resume::FromSource => checkpoints.found(found, found.records),
        }
        self.resumed = true;
        Ok(())
    }

    /// The checkpoint committed under the load's name, if it has one.
    fn committed(&self) -> Result<Option<crate::Checkpoint>, Failure> {
        let (Some(checkpoints), Some(driver), Some(link)) = (&self.checkpoints, &self.driver, &self.link) else {
            return Ok(None);
        };
        match driver.run(link.checkpoint(checkpoints.name())) {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(error)) => Err(Failure { next: next(&error, link.is_closed()), message: describe(&error) }),
            Err(_) => Err(Failure::give_up("the connection's task ended".to_owned())),
        }
    }

    /// Encodes every held record's rows for their columns' types, one
    /// batch per table.
    fn encode(&mut self) -> Result<Vec<Encoded>, Failure> {
        let mut encoders: Vec<Encoder> = self.tables.iter().map(|_| Encoder::new()).collect();
        let mut rows = Rows::new(&self.tables, &self.columns, &mut encoders);
        for item in self.batch.records() {
            if let Err(refused) = self.map.rows(item.payload(), &mut rows) {
                let message = format!("the record at sequence {}: {}", item.meta().sequence, chain(&*refused));
                return Err(Failure::give_up(message));
            }
        }
        Ok(encoders.into_iter().zip(&self.tables).map(|(encoder, table)| encoder.finish(table.width())).collect())
    }

    /// Writes what is held in one transaction, tried again as
    /// [`PostgresSink::retries`] says; if it fails for good, every held
    /// record goes to the dead letters with the batch's error.
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
        let records = self.batch.len() as u64;
        let mark = self.checkpoints.as_ref().map(|checkpoints| checkpoints.mark(records, covered));
        let failure = match self.deliver(mark.as_ref()) {
            Ok(rows) => {
                self.stats.count_batch(rows);
                if let (Some(checkpoints), Some(mark)) = (&mut self.checkpoints, &mark) {
                    checkpoints.committed(mark);
                }
                self.batch.written();
                return;
            }
            Err(failure) => failure,
        };
        self.stats.count_failed_batch();
        // The failed records keep their places in the count of records
        // taken: a restarted run passes over them as over the rows
        // written, so the count stays a position in the stream.
        if let Some(checkpoints) = &mut self.checkpoints {
            checkpoints.passed(records);
        }
        let table = self.tables.iter().map(Table::name).collect::<Vec<_>>().join(", ");
        self.batch.fail(&table, &failure.message);
    }

    /// Encodes the held records (once) and writes them with `mark`,
    /// trying again while the failure is one that may pass: the rows
    /// written.
    fn deliver(&mut self, mark: Option<&Mark>) -> Result<u64, Failure> {
        let mut encoded = None;
        let mut tries = 0;
        // Whether the last try may have committed: its connection was lost.
        let mut uncertain = false;
        loop {
            let failure = match self.attempt(&mut encoded, mark, uncertain) {
                Ok(()) => return Ok(encoded.iter().flatten().map(|batch| batch.rows() as u64).sum()),
                Err(failure) => failure,
            };
            if failure.next == Next::GiveUp || tries >= self.retries {
                return Err(failure);
            }
            tries += 1;
            self.stats.count_retry();
            if failure.next == Next::Reconnect {
                self.link = None;
                uncertain = true;
            }
            let delay = self.retry_delay.saturating_mul(1 << (tries - 1).min(16));
            if let Some(driver) = &self.driver {
                // Made inside the runtime: a timer needs its clock.
                let _ = driver.run(async move { tokio::time::sleep(delay).await });
            }
        }
    }

    /// One try: connect if need be, encode if not yet, write. After a
    /// lost connection (`uncertain`), a load with a checkpoint first
    /// looks whether the last try committed after all.
    fn attempt(
        &mut self,
        encoded: &mut Option<Vec<Encoded>>,
        mark: Option<&Mark>,
        uncertain: bool,
    ) -> Result<(), Failure> {
        self.connect()?;
        let batch = match encoded {
            Some(batch) => batch.clone(),
            None => encoded.insert(self.encode()?).clone(),
        };
        if uncertain
            && let Some(mark) = mark
            && self.committed()?.is_some_and(|found| found.records == mark.records)
        {
            return Ok(());
        }
        let (Some(driver), Some(link)) = (&self.driver, &self.link) else {
            return Err(Failure::give_up("not connected".to_owned()));
        };
        match driver.run(link.write(batch, mark.cloned())) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Failure { next: next(&error, link.is_closed()), message: describe(&error) }),
            Err(_) => Err(Failure::give_up("the connection's task ended".to_owned())),
        }
    }
}

impl<T: Send + 'static, M: ToRows<T>> Sink<T> for PostgresSink<T, M> {
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        match self.batch.take(item, cx.now()) {
            // Committed by an earlier run of this load.
            Taken::Skipped => {
                self.stats.count_skipped();
                if let Some(checkpoints) = &mut self.checkpoints {
                    checkpoints.passed(1);
                }
            }
            Taken::Held => {}
            Taken::Full => self.flush(),
        }
        Ok(())
    }

    /// Connects, creates the tables, prepares the statements and reads
    /// the load's checkpoint, before the first record.
    fn poll_open(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Box<dyn Error + Send + Sync>>> {
        Poll::Ready(self.connect().map_err(|failure| {
            let url = redacted(&self.url);
            let tables = self.tables.iter().map(Table::name).collect::<Vec<_>>().join("`, `");
            format!("cannot open the PostgreSQL table `{tables}` at {url}: {}", failure.message).into()
        }))
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

    /// Writes what is held, then says goodbye to the server.
    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        self.flush();
        if let (Some(driver), Some(link)) = (&self.driver, self.link.take()) {
            let _ = driver.run(link.close());
        }
        self.driver = None;
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

impl<T: Send + 'static, M: ToRows<T>> TransactionalSink<T> for PostgresSink<T, M> {
    /// Writes what is held in one transaction, with `token.sequence` as
    /// the input sequence the checkpoint covers (see
    /// [`PostgresSink::checkpoint_as`]).
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

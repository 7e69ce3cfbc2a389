//! `PostgresSink`: records into a table, in batched transactions.

use core::fmt;
use core::task::Poll;
use core::time::Duration;
use std::error::Error;

use flux_core::{Context, EngineHint, Envelope, Instant, Position, Sink, Undelivered, WriteError};
use tokio_postgres::Config;
use tokio_postgres::types::Type;

use crate::batch::{Encoded, Encoder};
use crate::driver::Driver;
use crate::failure::{Failure, Next, chain, describe, next};
use crate::link::{Link, Setup};
use crate::redact::redacted;
use crate::{OnConflict, PostgresStats, RowError, Table, ToRow};

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
///   ([`BatchFailed`]), and the run goes on. A connection lost while the
///   server was committing leaves it unknown whether the batch is in the
///   table; it is tried again, so a table with no unique key may then
///   hold it twice.
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
    table: Table,
    mode: Mode,
    create: bool,
    map: M,
    max_rows: usize,
    max_bytes: u64,
    linger: Option<Duration>,
    /// When the oldest held record arrived, on the engine's clock.
    since: Option<Instant>,
    retries: u32,
    retry_delay: Duration,
    driver: Option<Driver>,
    link: Option<Link>,
    /// The columns' names and types, as the server reported them when the
    /// sink first connected: what a row's values are encoded for.
    columns: Vec<(String, Type)>,
    pending: Vec<Envelope<T>>,
    pending_bytes: u64,
    undelivered: Vec<Undelivered>,
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
            .field("table", &self.table.name())
            .field("mode", &self.mode)
            .field("max_rows", &self.max_rows)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static, M: ToRow<T>> PostgresSink<T, M> {
    /// A sink writing into `table` of the database at `url`
    /// (`postgresql://user:password@host:port/database`, or tokio-postgres's
    /// `key=value` form), each record made a row by `map`, by binary COPY.
    pub fn new(url: &str, table: Table, map: M) -> Self {
        PostgresSink {
            url: url.to_owned(),
            table,
            mode: Mode::Copy,
            create: false,
            map,
            max_rows: 1_000,
            max_bytes: u64::MAX,
            linger: None,
            since: None,
            retries: 3,
            retry_delay: Duration::from_millis(100),
            driver: None,
            link: None,
            columns: Vec::new(),
            pending: Vec::new(),
            pending_bytes: 0,
            undelivered: Vec::new(),
            stats: PostgresStats::default(),
        }
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

    /// Creates the table when the run opens, if it does not exist.
    #[must_use]
    pub fn create_table(mut self) -> Self {
        self.create = true;
        self
    }

    /// Writes a transaction every `rows` rows (at least one).
    #[must_use]
    pub fn batch_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows.max(1);
        self
    }

    /// Also writes a transaction once the held envelopes' costs reach
    /// `bytes` (envelopes from a framed source carry their frame's size).
    #[must_use]
    pub fn batch_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Also writes a transaction once its oldest record has waited
    /// `linger` on the engine's clock, full or not: a slow trickle of
    /// records still reaches the table within `linger`.
    #[must_use]
    pub fn batch_linger(mut self, linger: Duration) -> Self {
        self.linger = Some(linger);
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
        let insert = match &self.mode {
            Mode::Copy | Mode::Insert => self.table.insert_sql(),
            Mode::Upsert { key, on_conflict } => {
                let key: Vec<&str> = key.iter().map(String::as_str).collect();
                self.table.upsert_sql(&key, *on_conflict)?
            }
        };
        let copy = matches!(self.mode, Mode::Copy).then(|| self.table.copy_sql());
        Ok(Setup { config, create: self.create.then(|| self.table.create_sql()), insert, copy })
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
        self.columns = self.table.column_names().map(str::to_owned).zip(link.types().iter().cloned()).collect();
        self.link = Some(link);
        Ok(())
    }

    /// Encodes every held record for the columns' types.
    fn encode(&mut self) -> Result<Encoded, Failure> {
        let mut encoder = Encoder::new();
        for item in &self.pending {
            let mut row = encoder.row(&self.columns);
            let bound = self.map.bind(item.payload(), &mut row);
            let pushed = row.pushed();
            let refused = match bound {
                Ok(()) if pushed == self.table.width() => continue,
                Ok(()) => Box::new(RowError::TooFewValues { pushed, width: self.table.width() }),
                Err(error) => error,
            };
            let message = format!("the record at sequence {}: {}", item.meta().sequence, chain(&*refused));
            return Err(Failure::give_up(message));
        }
        Ok(encoder.finish(self.table.width()))
    }

    /// Writes what is held in one transaction, tried again as
    /// [`PostgresSink::retries`] says; if it fails for good, every held
    /// record goes to the dead letters with the batch's error.
    fn flush(&mut self) {
        self.since = None;
        if self.pending.is_empty() {
            return;
        }
        let failure = match self.deliver() {
            Ok(()) => {
                self.stats.count_batch(self.pending.len() as u64);
                self.pending.clear();
                self.pending_bytes = 0;
                return;
            }
            Err(failure) => failure,
        };
        self.stats.count_failed_batch();
        let rows = self.pending.len();
        let table = self.table.name().to_owned();
        for item in self.pending.drain(..) {
            let (_, meta, _) = item.into_parts();
            let cause = BatchFailed { table: table.clone(), rows, error: failure.message.clone() };
            self.undelivered.push(Undelivered {
                position: Position::Sequence(meta.sequence),
                meta,
                cause: Box::new(cause),
            });
        }
        self.pending_bytes = 0;
    }

    /// Encodes the held records (once) and writes them, trying again
    /// while the failure is one that may pass.
    fn deliver(&mut self) -> Result<(), Failure> {
        let mut encoded = None;
        let mut tries = 0;
        loop {
            let failure = match self.attempt(&mut encoded) {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            if failure.next == Next::GiveUp || tries >= self.retries {
                return Err(failure);
            }
            tries += 1;
            self.stats.count_retry();
            if failure.next == Next::Reconnect {
                self.link = None;
            }
            let delay = self.retry_delay.saturating_mul(1 << (tries - 1).min(16));
            if let Some(driver) = &self.driver {
                // Made inside the runtime: a timer needs its clock.
                let _ = driver.run(async move { tokio::time::sleep(delay).await });
            }
        }
    }

    /// One try: connect if need be, encode if not yet, write.
    fn attempt(&mut self, encoded: &mut Option<Encoded>) -> Result<(), Failure> {
        self.connect()?;
        let batch = match encoded {
            Some(batch) => batch.clone(),
            None => encoded.insert(self.encode()?).clone(),
        };
        let (Some(driver), Some(link)) = (&self.driver, &self.link) else {
            return Err(Failure::give_up("not connected".to_owned()));
        };
        match driver.run(link.write(batch)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Failure { next: next(&error, link.is_closed()), message: describe(&error) }),
            Err(_) => Err(Failure::give_up("the connection's task ended".to_owned())),
        }
    }
}

impl<T: Send + 'static, M: ToRow<T>> Sink<T> for PostgresSink<T, M> {
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.since.get_or_insert(cx.now());
        self.pending_bytes += u64::from(item.cost().bytes);
        self.pending.push(item);
        if self.pending.len() >= self.max_rows || self.pending_bytes >= self.max_bytes {
            self.flush();
        }
        Ok(())
    }

    /// Connects, creates the table and prepares the statements, before
    /// the first record.
    fn poll_open(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Box<dyn Error + Send + Sync>>> {
        Poll::Ready(self.connect().map_err(|failure| {
            let url = redacted(&self.url);
            format!("cannot open the PostgreSQL table `{}` at {url}: {}", self.table.name(), failure.message).into()
        }))
    }

    fn engine_hint(&self) -> EngineHint {
        EngineHint::Blocking
    }

    /// When the held batch has lingered long enough, if a linger is set.
    fn next_deadline(&self) -> Option<Instant> {
        Some(self.since? + self.linger?)
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
        into.append(&mut self.undelivered);
    }

    fn has_news(&self) -> bool {
        !self.undelivered.is_empty()
    }

    fn held(&self) -> u64 {
        self.pending.len() as u64
    }
}

/// Why a record did not reach its table: the batch it was in failed, and
/// was rolled back whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchFailed {
    /// The table.
    pub table: String,
    /// Rows in the batch, every one of them a dead letter.
    pub rows: usize,
    /// What PostgreSQL (or the row's encoding) said, after the retries.
    pub error: String,
}

impl fmt::Display for BatchFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a batch of {} rows into `{}` failed and was rolled back: {}", self.rows, self.table, self.error)
    }
}

impl Error for BatchFailed {}

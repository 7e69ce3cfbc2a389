//! A load's progress, committed in the same transaction as its rows, and
//! read back by the next run.

use std::error::Error;

use tokio_postgres::{Client, Config, NoTls};

use crate::driver::Driver;
use crate::failure::{chain, describe};
use crate::redact::redacted;

/// Where a restartable load stands, as its last committed transaction
/// left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Records the sink has taken in all: written, or dead letters of a
    /// failed batch. A restarted run passes over this many.
    pub records: u64,
    /// The highest input sequence among them (`None` before the first):
    /// with an order-keeping pipeline, the input is covered up to here.
    pub sequence: Option<u64>,
}

impl Checkpoint {
    /// The token a [`RecoverableSource`](flux_core::RecoverableSource)
    /// restores from, for a load that resumes by its source
    /// ([`Resume::FromSource`]): `None` before the first covered sequence.
    pub fn token(&self) -> Option<flux_core::CheckpointToken> {
        Some(flux_core::CheckpointToken { sequence: self.sequence?, state: Default::default() })
    }
}

/// How a restartable load goes on after a stop
/// ([`PostgresSink::resume`](crate::PostgresSink::resume)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Resume {
    /// The input is read again from its start and the sink passes over as
    /// many records as were committed: right for any deterministic
    /// pipeline, with state (an accumulator's open groups) or without. The
    /// default.
    #[default]
    Replay,
    /// The source is restored to the input sequence the checkpoint covers
    /// ([`Checkpoint::token`]) and the sink writes everything it gets:
    /// right for a pipeline that keeps its input's order and holds no
    /// state across records (file -> parse -> table), and it does not read
    /// the covered input again.
    FromSource,
}

/// The table of checkpoints, one row per load name.
pub(crate) const CREATE: &str = "CREATE TABLE IF NOT EXISTS flux_checkpoints (\
    name TEXT PRIMARY KEY, records BIGINT NOT NULL, sequence BIGINT)";

/// The upsert each transaction of a restartable load ends with.
pub(crate) const UPSERT: &str = "INSERT INTO flux_checkpoints (name, records, sequence) VALUES ($1, $2, $3) \
    ON CONFLICT (name) DO UPDATE SET records = EXCLUDED.records, sequence = EXCLUDED.sequence";

/// Reads the checkpoint a load left under `name` in the database at
/// `url`, without changing anything: `None` when there is none (nor a
/// table of checkpoints).
///
/// # Errors
///
/// The server cannot be reached or read; the error is one line naming
/// the URL without its password.
///
/// # Examples
///
/// ```
/// # let Ok(url) = std::env::var("FLUX_POSTGRES_URL") else { return Ok(()) };
/// assert_eq!(flux_postgres::checkpoint(&url, "no such load")?, None);
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub fn checkpoint(url: &str, name: &str) -> Result<Option<Checkpoint>, Box<dyn Error + Send + Sync>> {
    let fail = |message: String| format!("cannot read the checkpoint `{name}` at {}: {message}", redacted(url));
    let config: Config = url.parse().map_err(|error| fail(chain(&error)))?;
    let driver = Driver::new().map_err(|error| fail(chain(&error)))?;
    let name = name.to_owned();
    let read = driver.run(async move {
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(connection);
        let exists: bool = client.query_one("SELECT to_regclass('flux_checkpoints') IS NOT NULL", &[]).await?.get(0);
        if !exists {
            return Ok(None);
        }
        read_settled(&client, &name).await
    });
    match read {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(error)) => Err(fail(describe(&error)).into()),
        Err(_) => Err(fail("the connection's task ended".to_owned()).into()),
    }
}

/// How long a read of a checkpoint waits for a transaction still writing
/// one: past it, the read fails (a lock timeout) rather than guess.
const SETTLE_WAIT: &str = "60s";

/// The checkpoint under `name`, from a table that exists, once no
/// transaction is still writing to the table of checkpoints.
///
/// A load killed just after it sent a transaction's `COMMIT` leaves that
/// commit to the server, which may land it after a restarted load has
/// started: a plain read then sees the checkpoint before it, passes over
/// too little, and writes that transaction's rows a second time. Taking
/// the table in share mode waits for every open transaction that changed
/// it (each holds a lock that conflicts), whether it then commits or rolls
/// back; the lock is let go as soon as the checkpoint is read.
pub(crate) async fn read_settled(client: &Client, name: &str) -> Result<Option<Checkpoint>, tokio_postgres::Error> {
    let lock = format!("BEGIN; SET LOCAL lock_timeout = '{SETTLE_WAIT}'; LOCK TABLE flux_checkpoints IN SHARE MODE");
    let found = match client.batch_execute(&lock).await {
        Ok(()) => read(client, name).await,
        Err(error) => Err(error),
    };
    // Ends the transaction either way, so the connection is usable after
    // a failed lock or read (an aborted transaction refuses everything else).
    let end = client.batch_execute(if found.is_ok() { "COMMIT" } else { "ROLLBACK" }).await;
    let found = found?;
    end?;
    Ok(found)
}

/// The checkpoint under `name`, from a table that exists.
pub(crate) async fn read(client: &Client, name: &str) -> Result<Option<Checkpoint>, tokio_postgres::Error> {
    let row = client.query_opt("SELECT records, sequence FROM flux_checkpoints WHERE name = $1", &[&name]).await?;
    Ok(row.map(|row| Checkpoint {
        records: row.get::<_, i64>(0).max(0) as u64,
        sequence: row.get::<_, Option<i64>>(1).map(|sequence| sequence.max(0) as u64),
    }))
}

/// The checkpoint a transaction writes: the load's name, its records and
/// the sequence it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) name: String,
    pub(crate) records: u64,
    pub(crate) sequence: Option<u64>,
}

/// A sink's side of its checkpoints: the name, and the count of records
/// taken, committed or not.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    name: String,
    /// Records taken, as the next commit will record them.
    records: u64,
    /// The highest input sequence committed so far.
    sequence: Option<u64>,
}

impl Checkpoints {
    pub(crate) fn new(name: &str) -> Self {
        Checkpoints { name: name.to_owned(), records: 0, sequence: None }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Takes over what an earlier run committed: its sequence (its records
    /// count again as they are passed over, or at once with `records`).
    pub(crate) fn found(&mut self, found: Checkpoint, records: u64) {
        self.records = records;
        self.sequence = found.sequence;
    }

    /// Counts records taken without a commit of their own: passed over,
    /// or dead letters of a failed batch.
    pub(crate) fn passed(&mut self, records: u64) {
        self.records += records;
    }

    /// The checkpoint that `records` more records, covering up to
    /// `covered`, make.
    pub(crate) fn mark(&self, records: u64, covered: Option<u64>) -> Mark {
        Mark { name: self.name.clone(), records: self.records + records, sequence: covered.max(self.sequence) }
    }

    /// The transaction that wrote `mark` committed.
    pub(crate) fn committed(&mut self, mark: &Mark) {
        self.records = mark.records;
        self.sequence = mark.sequence;
    }
}

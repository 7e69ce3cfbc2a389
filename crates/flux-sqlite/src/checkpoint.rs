//! A load's progress, committed in the same transaction as its rows.

use rusqlite::{Connection, OptionalExtension, Transaction};

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
/// ([`SqliteSink::resume`](crate::SqliteSink::resume)).
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
    /// the covered input again. Records an earlier stage dropped or made
    /// dead letters below the checkpoint were the earlier run's to report.
    FromSource,
}

/// The table of checkpoints, one row per load name.
const CREATE: &str = "CREATE TABLE IF NOT EXISTS flux_checkpoints (\
    name TEXT PRIMARY KEY, records INTEGER NOT NULL, sequence INTEGER)";

/// Reads the checkpoint a load left under `name` in the database at
/// `path`, without changing anything: `None` when there is none.
///
/// # Errors
///
/// The database cannot be opened or read.
///
/// # Examples
///
/// ```
/// let path = std::env::temp_dir().join(format!("flux-no-checkpoint-{}.db", std::process::id()));
/// assert_eq!(flux_sqlite::checkpoint(&path, "orders")?, None);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), rusqlite::Error>(())
/// ```
pub fn checkpoint(path: impl AsRef<std::path::Path>, name: &str) -> rusqlite::Result<Option<Checkpoint>> {
    let connection = Connection::open(path)?;
    let exists: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flux_checkpoints')",
        [],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    read(&connection, name)
}

fn read(connection: &Connection, name: &str) -> rusqlite::Result<Option<Checkpoint>> {
    connection
        .query_row("SELECT records, sequence FROM flux_checkpoints WHERE name = ?1", [name], |row| {
            Ok(Checkpoint { records: row.get(0)?, sequence: row.get(1)? })
        })
        .optional()
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

    /// Creates the table if needed and reads this load's checkpoint.
    pub(crate) fn open(&mut self, connection: &Connection) -> rusqlite::Result<Option<Checkpoint>> {
        connection.execute(CREATE, [])?;
        let found = read(connection, &self.name)?;
        if let Some(found) = found {
            // Records passed over on the way count as they are skipped.
            self.records = 0;
            self.sequence = found.sequence;
        }
        Ok(found)
    }

    /// Counts records taken without a commit of their own: passed over,
    /// or dead letters of a failed batch.
    pub(crate) fn passed(&mut self, records: u64) {
        self.records += records;
    }

    /// Writes the checkpoint that `records` more records, covering up to
    /// `covered`, make, inside the batch's transaction.
    pub(crate) fn record(
        &self,
        transaction: &Transaction<'_>,
        records: u64,
        covered: Option<u64>,
    ) -> rusqlite::Result<()> {
        let sequence = covered.max(self.sequence);
        transaction.execute(
            "INSERT INTO flux_checkpoints (name, records, sequence) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET records = excluded.records, sequence = excluded.sequence",
            rusqlite::params![self.name, self.records + records, sequence],
        )?;
        Ok(())
    }

    /// The transaction that recorded `records` more committed.
    pub(crate) fn committed(&mut self, records: u64, covered: Option<u64>) {
        self.records += records;
        self.sequence = covered.max(self.sequence);
    }
}

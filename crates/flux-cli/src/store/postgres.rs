//! The demo's tables in a PostgreSQL database: the sink, the checkpoint,
//! and the summary's queries, on a connection of the demo's own.

use core::time::Duration;

use flux_postgres::tokio_postgres::{self, Client, Config, NoTls};
use flux_postgres::{PostgresSink, PostgresStats, Rows, Table, ToRows};
use tokio::runtime::Runtime;

use super::{DeadLetters, sql};
use crate::error::{DemoError, OrSay};
use crate::order::Loaded;
use crate::tables::{Kind, SCHEMA, TABLES, ToTables, Value, column_type};

/// PostgreSQL's name for a kind of column.
fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "TEXT",
        Kind::Integer => "BIGINT",
    }
}

/// The four tables, as PostgreSQL creates them.
pub(crate) fn tables() -> Vec<Table> {
    SCHEMA
        .iter()
        .map(|(name, columns)| {
            columns.iter().try_fold(Table::new(name)?, |table, (column, kind, constraint)| {
                table.column(column, &column_type(*kind, constraint, sql_type))
            })
        })
        .collect::<Result<_, _>>()
        .expect("the demo's table names are plain identifiers")
}

/// The sink writing the four tables at `url`, restartable as `name`: a
/// binary COPY per table in each transaction.
pub(crate) fn sink(url: &str, to_tables: ToTables, name: &str) -> PostgresSink<Loaded, impl ToRows<Loaded> + use<>> {
    let map = move |loaded: &Loaded, rows: &mut Rows<'_>| {
        to_tables.each_row(loaded, |table, values| {
            rows.insert(table, |row| {
                for value in values {
                    match *value {
                        Value::Text(text) => row.push(text)?,
                        Value::Integer(n) => row.push(n)?,
                    };
                }
                Ok(())
            })
        })
    };
    PostgresSink::tables(url, tables(), map).create_table().batch_rows(2_000).checkpoint_as(name)
}

/// The sink's figures, as the report lists them.
pub(crate) fn figures(stats: &PostgresStats) -> [(&'static str, u64); 6] {
    [
        ("rows", stats.rows()),
        ("transactions", stats.batches()),
        ("passed over (committed by an earlier run)", stats.skipped()),
        ("failed batches", stats.failed_batches()),
        ("retries", stats.retries()),
        ("reconnects", stats.reconnects()),
    ]
}

pub(super) fn prepare(url: &str, name: &str, fresh: bool) -> Result<u64, DemoError> {
    let session = Session::open(url)?;
    if !fresh
        && let Some(found) = flux_postgres::checkpoint(url, name).or_say(format_args!("cannot resume the load"))?
    {
        return Ok(found.records);
    }
    // The four tables hold one demo load at a time: another load's
    // checkpoint goes with them.
    let clear = format!(
        "BEGIN; DROP TABLE IF EXISTS {}; \
         DO $$ BEGIN IF to_regclass('flux_checkpoints') IS NOT NULL THEN \
         DELETE FROM flux_checkpoints WHERE name LIKE 'demo:%'; END IF; END $$; COMMIT",
        TABLES.join(", ")
    );
    session.execute(&clear, "clear the demo's tables")?;
    Ok(0)
}

/// A connection of the demo's own, on a one-thread runtime: the demo asks
/// its questions from plain code, before and after the load.
pub(crate) struct Session {
    runtime: Runtime,
    client: Client,
    /// The URL without its password, for errors.
    shown: String,
}

impl Session {
    /// Connects to `url`.
    ///
    /// # Errors
    ///
    /// A bad URL, or a server that is not there or refuses the login: one
    /// line naming the URL without its password.
    pub(crate) fn open(url: &str) -> Result<Session, DemoError> {
        let shown = flux_postgres::redacted(url);
        let mut config: Config = url.parse().or_say(format_args!("cannot use the PostgreSQL URL {shown}"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .or_say(format_args!("cannot start a runtime for PostgreSQL"))?;
        let client = runtime
            .block_on(async {
                let (client, connection) = config.connect(NoTls).await?;
                tokio::spawn(connection);
                Ok::<_, tokio_postgres::Error>(client)
            })
            .map_err(|error| one_line(&error))
            .or_say(format_args!("cannot connect to PostgreSQL at {shown}"))?;
        Ok(Session { runtime, client, shown })
    }

    fn execute(&self, sql: &str, what: &str) -> Result<(), DemoError> {
        let shown = &self.shown;
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(|error| one_line(&error))
            .or_say(format_args!("cannot {what} at {shown}"))
    }

    fn query(&self, sql: &str) -> Result<Vec<tokio_postgres::Row>, DemoError> {
        let shown = &self.shown;
        self.runtime
            .block_on(self.client.query(sql, &[]))
            .map_err(|error| one_line(&error))
            .or_say(format_args!("cannot read the tables at {shown}"))
    }

    pub(super) fn count_rows(&self) -> Result<[u64; 4], DemoError> {
        let mut rows = [0; 4];
        for (count, table) in rows.iter_mut().zip(TABLES) {
            let found = self.query(&format!("SELECT COUNT(*) FROM {table}"))?;
            *count = found.first().map_or(0, |row| row.get::<_, i64>(0)).max(0) as u64;
        }
        Ok(rows)
    }

    pub(super) fn dead_letters(&self) -> Result<DeadLetters, DemoError> {
        let causes = self.query(sql::CAUSES)?.iter().map(|row| (row.get(0), row.get(1))).collect();
        let first = self.query(sql::FIRST)?.iter().map(|row| (row.get(0), row.get(1), row.get(2))).collect();
        Ok(DeadLetters { causes, first })
    }
}

/// A client error as one line: the server's message, or the error and
/// its causes.
fn one_line(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut line = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}

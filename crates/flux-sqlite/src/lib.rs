//! Flux's SQLite sink: a pipeline's records as rows of a table, written
//! in batched transactions with SQLite built in (nothing to install).
//!
//! Describe the table ([`Table`]), say how a record binds to a row (any
//! `FnMut(&T, &mut Row) -> rusqlite::Result<()>`, see [`ToRow`]), and end
//! the pipeline at a [`SqliteSink`]. A batch that fails is rolled back
//! whole and its records become dead letters with their sequence and the
//! batch's error: a table never holds half a batch, and no record is lost
//! without a trace. It runs on both engines: on the sync engine in the
//! caller's thread, on tokio on a thread of its own.
//!
//! A record may also write rows into several tables in one transaction
//! ([`SqliteSink::tables`]), and a load can be made restartable
//! ([`SqliteSink::checkpoint_as`]): its progress is committed with its
//! rows, and a run after a stop or a crash writes exactly what is missing.
//!
//! See [`SqliteSink`] for an example.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod checkpoint;
mod row;
mod sink;
mod table;

pub use checkpoint::{Checkpoint, Resume, checkpoint};
pub use flux_sql::{BadName, BatchFailed};
pub use row::{OneTable, Row, Rows, ToRow, ToRows};
pub use sink::{SqliteSink, SqliteStats};
pub use table::Table;

/// SQLite's own crate, for the values and errors a [`ToRow`] handles.
pub use rusqlite;

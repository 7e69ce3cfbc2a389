//! Flux's PostgreSQL sink: a pipeline's records as rows of a table,
//! written in batched transactions by binary COPY, batched inserts or
//! upserts.
//!
//! Describe the table ([`Table`]), say how a record becomes a row (any
//! `FnMut(&T, &mut Row<'_>) -> Result<(), Box<dyn Error + Send + Sync>>`,
//! see [`ToRow`]), and end the pipeline at a [`PostgresSink`]. A batch that
//! fails is rolled back whole; a lost connection is made again and the
//! batch tried again; a batch that fails for good makes its records dead
//! letters with their sequence and the batch's error: a table never holds
//! half a batch, and no record is lost without a trace. It runs on both
//! engines: on the sync engine in the caller's thread with no runtime
//! needed there, on tokio on a thread of its own.
//!
//! A crate of its own, depending on `flux-core` and `flux-sql` (the held
//! batch and its dead letters, shared with `flux-sqlite`) only, so that a
//! pipeline that writes elsewhere does not build a PostgreSQL client. The client is
//! tokio-postgres (the protocol in pure Rust: no libpq to install).
//!
//! A record may also write rows into several tables in one transaction
//! ([`PostgresSink::tables`]), and a load can be made restartable
//! ([`PostgresSink::checkpoint_as`]): its progress is committed with its
//! rows, and a run after a stop or a crash writes exactly what is missing.
//!
//! See [`PostgresSink`] for an example.
//!
//! [`Error`]: std::error::Error

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod batch;
mod checkpoint;
mod driver;
mod failure;
mod link;
mod redact;
mod row;
mod rows;
mod sink;
mod stats;
mod table;

pub use checkpoint::{Checkpoint, Resume, checkpoint};
pub use flux_sql::{BadName, BatchFailed};
pub use redact::redacted;
pub use row::{Row, RowError, ToRow};
pub use rows::{OneTable, Rows, ToRows};
pub use sink::PostgresSink;
pub use stats::PostgresStats;
pub use table::{NotAColumn, OnConflict, Table};

/// The client's crate, for the types a [`ToRow`] pushes and for a caller's
/// own queries.
pub use tokio_postgres;

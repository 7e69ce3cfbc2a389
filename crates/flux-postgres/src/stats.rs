//! The figures a PostgreSQL sink keeps, shared with whoever holds a handle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A PostgreSQL sink's figures, shared with it: readable during the run
/// and after it.
#[derive(Clone, Debug, Default)]
pub struct PostgresStats {
    rows: Arc<AtomicU64>,
    batches: Arc<AtomicU64>,
    failed_batches: Arc<AtomicU64>,
    retries: Arc<AtomicU64>,
    reconnects: Arc<AtomicU64>,
    skipped: Arc<AtomicU64>,
}

impl PostgresStats {
    pub(crate) fn count_batch(&self, rows: u64) {
        self.rows.fetch_add(rows, Relaxed);
        self.batches.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_failed_batch(&self) {
        self.failed_batches.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_skipped(&self) {
        self.skipped.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_reconnect(&self) {
        self.reconnects.fetch_add(1, Relaxed);
    }

    /// Records passed over because an earlier run of the load committed
    /// them ([`PostgresSink::checkpoint_as`](crate::PostgresSink::checkpoint_as)).
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Relaxed)
    }

    /// Rows committed, in every table (an upsert's skipped rows among
    /// them; a record may write several, or none).
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

    /// Times a batch was tried again after a lost connection, a
    /// serialization failure or a deadlock.
    pub fn retries(&self) -> u64 {
        self.retries.load(Relaxed)
    }

    /// Times the sink connected again after losing its connection.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Relaxed)
    }
}

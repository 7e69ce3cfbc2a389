//! The records a SQL sink holds until it writes them in one transaction.

use core::fmt;
use core::time::Duration;

use flux_core::{Envelope, Instant, Position, Undelivered};

use crate::BatchFailed;

/// The batch a SQL sink holds: its records in arrival order, when it is
/// full (a count of rows or a total of the envelopes' costs), when it has
/// waited long enough (a linger on the engine's clock), the records a
/// restarted load passes over before holding any, and the dead letters of
/// batches that failed, until the engine takes them.
///
/// The sink writes the batch its own way; around the write it calls
/// [`take`](HeldBatch::take) for each record,
/// [`start_flush`](HeldBatch::start_flush) before a write,
/// [`written`](HeldBatch::written) after one that committed, and
/// [`fail`](HeldBatch::fail) after one that failed for good.
pub struct HeldBatch<T> {
    records: Vec<Envelope<T>>,
    /// The held envelopes' costs, added up.
    bytes: u64,
    /// When the oldest held record arrived, on the engine's clock.
    since: Option<Instant>,
    max_rows: usize,
    max_bytes: u64,
    linger: Option<Duration>,
    /// Records an earlier run of the load committed, still to be passed over.
    to_skip: u64,
    undelivered: Vec<Undelivered>,
}

/// What [`HeldBatch::take`] did with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// Passed over: an earlier run of the load committed it.
    Skipped,
    /// Held; the batch is not full yet.
    Held,
    /// Held, and the batch is now full: write it.
    Full,
}

impl<T> fmt::Debug for HeldBatch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeldBatch")
            .field("records", &self.records.len())
            .field("bytes", &self.bytes)
            .field("max_rows", &self.max_rows)
            .field("max_bytes", &self.max_bytes)
            .field("linger", &self.linger)
            .field("to_skip", &self.to_skip)
            .finish_non_exhaustive()
    }
}

impl<T> Default for HeldBatch<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> HeldBatch<T> {
    /// An empty batch, full at 1,000 rows, with no byte limit and no linger.
    pub fn new() -> Self {
        HeldBatch {
            records: Vec::new(),
            bytes: 0,
            since: None,
            max_rows: 1_000,
            max_bytes: u64::MAX,
            linger: None,
            to_skip: 0,
            undelivered: Vec::new(),
        }
    }

    /// Full at `rows` records (at least one).
    #[must_use]
    pub fn max_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows.max(1);
        self
    }

    /// Also full once the held envelopes' costs reach `bytes`.
    #[must_use]
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Due once its oldest record has waited `linger`, full or not.
    #[must_use]
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = Some(linger);
        self
    }

    /// Passes over the next `records` records: an earlier run of the load
    /// committed them.
    pub fn skip(&mut self, records: u64) {
        self.to_skip = records;
    }

    /// Holds `item`, which arrived at `now`, or passes over it (see
    /// [`skip`](HeldBatch::skip)); says which, and whether the batch is
    /// now full.
    pub fn take(&mut self, item: Envelope<T>, now: Instant) -> Taken {
        if self.to_skip > 0 {
            self.to_skip -= 1;
            return Taken::Skipped;
        }
        self.since.get_or_insert(now);
        self.bytes += u64::from(item.cost().bytes);
        self.records.push(item);
        if self.records.len() >= self.max_rows || self.bytes >= self.max_bytes { Taken::Full } else { Taken::Held }
    }

    /// When the batch has lingered long enough, if a linger is set and a
    /// record is held.
    pub fn next_deadline(&self) -> Option<Instant> {
        Some(self.since? + self.linger?)
    }

    /// The held records, in arrival order.
    pub fn records(&self) -> &[Envelope<T>] {
        &self.records
    }

    /// How many records are held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The highest input sequence among the held records: what a
    /// checkpoint written with them covers.
    pub fn highest_sequence(&self) -> Option<u64> {
        self.records.iter().map(|item| item.meta().sequence).max()
    }

    /// A write begins: the linger starts again with the next record. True
    /// if there is anything to write.
    pub fn start_flush(&mut self) -> bool {
        self.since = None;
        !self.records.is_empty()
    }

    /// The held records were committed: the batch is empty again.
    pub fn written(&mut self) {
        self.records.clear();
        self.bytes = 0;
    }

    /// The held records failed for good in `table`: each becomes a dead
    /// letter with its sequence and a [`BatchFailed`] saying `error`, and
    /// the batch is empty again.
    pub fn fail(&mut self, table: &str, error: &str) {
        let rows = self.records.len();
        for item in self.records.drain(..) {
            let (_, meta, _) = item.into_parts();
            let cause = BatchFailed { table: table.to_owned(), rows, error: error.to_owned() };
            self.undelivered.push(Undelivered {
                position: Position::Sequence(meta.sequence),
                meta,
                cause: Box::new(cause),
            });
        }
        self.bytes = 0;
    }

    /// Drops the held records unwritten (a transaction aborted: the next
    /// run writes them again).
    pub fn abort(&mut self) {
        self.records.clear();
        self.bytes = 0;
        self.since = None;
    }

    /// Moves the dead letters of failed batches into `into`.
    pub fn take_undelivered(&mut self, into: &mut Vec<Undelivered>) {
        into.append(&mut self.undelivered);
    }

    /// Whether a failed batch left dead letters not yet taken.
    pub fn has_news(&self) -> bool {
        !self.undelivered.is_empty()
    }

    /// Records held, as the engine's ledger counts them.
    pub fn held(&self) -> u64 {
        self.records.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use flux_core::Cost;

    use super::*;

    fn record(sequence: u64, bytes: u32) -> Envelope<u64> {
        Envelope::new(sequence).with_sequence(sequence).with_cost(Cost::bytes(bytes))
    }

    #[test]
    fn a_batch_is_full_at_its_rows_or_at_its_bytes_whichever_comes_first() {
        let mut by_rows = HeldBatch::new().max_rows(3);
        let taken: Vec<Taken> = (0..3).map(|n| by_rows.take(record(n, 10), Instant::ZERO)).collect();
        assert_eq!(taken, [Taken::Held, Taken::Held, Taken::Full]);
        let mut by_bytes = HeldBatch::new().max_rows(100).max_bytes(25);
        let taken: Vec<Taken> = (0..3).map(|n| by_bytes.take(record(n, 10), Instant::ZERO)).collect();
        assert_eq!(taken, [Taken::Held, Taken::Held, Taken::Full], "30 bytes reach 25 at the third");
        by_bytes.written();
        assert_eq!(by_bytes.take(record(3, 10), Instant::ZERO), Taken::Held, "a written batch counts its bytes again");
        let mut one = HeldBatch::new().max_rows(0);
        assert_eq!(one.take(record(0, 0), Instant::ZERO), Taken::Full, "at least one row");
        assert!(format!("{one:?}").contains("records: 1"), "{one:?}");
    }

    #[test]
    fn the_linger_counts_from_the_oldest_record_since_the_last_write() {
        let mut batch = HeldBatch::new().linger(Duration::from_secs(5));
        assert_eq!(batch.next_deadline(), None, "nothing held");
        batch.take(record(1, 0), Instant::from_secs(10));
        batch.take(record(2, 0), Instant::from_secs(12));
        assert_eq!(batch.next_deadline(), Some(Instant::from_secs(15)));
        assert!(batch.start_flush());
        batch.written();
        assert_eq!(batch.next_deadline(), None);
        batch.take(record(3, 0), Instant::from_secs(20));
        assert_eq!(batch.next_deadline(), Some(Instant::from_secs(25)));
        let mut unlingering = HeldBatch::new();
        unlingering.take(record(4, 0), Instant::ZERO);
        assert_eq!(unlingering.next_deadline(), None, "no linger, no deadline");
    }

    #[test]
    fn records_a_load_committed_before_are_passed_over_then_held() {
        let mut batch = HeldBatch::new();
        batch.skip(2);
        let taken: Vec<Taken> = (0..4).map(|n| batch.take(record(n, 0), Instant::ZERO)).collect();
        assert_eq!(taken, [Taken::Skipped, Taken::Skipped, Taken::Held, Taken::Held]);
        assert_eq!(batch.records().iter().map(|r| r.meta().sequence).collect::<Vec<_>>(), [2, 3]);
        assert_eq!((batch.len(), batch.held(), batch.highest_sequence()), (2, 2, Some(3)));
    }

    #[test]
    fn a_failed_batch_makes_each_record_a_dead_letter_at_its_sequence() {
        let mut batch = HeldBatch::new();
        for n in [7, 3, 9] {
            batch.take(record(n, 4), Instant::ZERO);
        }
        assert!(!batch.has_news() && !batch.is_empty());
        batch.fail("a, b", "constraint");
        assert!(batch.is_empty() && batch.has_news());
        let mut letters = Vec::new();
        batch.take_undelivered(&mut letters);
        assert!(!batch.has_news());
        let positions: Vec<Position> = letters.iter().map(|l| l.position).collect();
        assert_eq!(positions, [7, 3, 9].map(Position::Sequence));
        let cause = letters[1].cause.downcast_ref::<BatchFailed>().expect("a failed batch");
        assert_eq!(cause, &BatchFailed { table: "a, b".into(), rows: 3, error: "constraint".into() });
        assert_eq!(batch.take(record(1, 4), Instant::ZERO), Taken::Held, "the bytes start again from nothing");
    }

    #[test]
    fn an_aborted_batch_holds_nothing_and_waits_for_nothing() {
        let mut batch = HeldBatch::new().linger(Duration::from_secs(1));
        batch.take(record(1, 1), Instant::ZERO);
        batch.abort();
        assert!(batch.is_empty());
        assert_eq!((batch.next_deadline(), batch.has_news()), (None, false));
        assert!(!batch.start_flush(), "nothing to write");
    }
}

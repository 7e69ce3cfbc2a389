//! What Flux's SQL sinks share: the batch a sink holds between its
//! transactions ([`HeldBatch`]), the cause its records carry to the dead
//! letters when that batch fails for good ([`BatchFailed`]), and the check
//! that a table or column name is a plain identifier ([`identifier`]).
//!
//! `flux-sqlite` and `flux-postgres` each write a batch their own way (a
//! prepared `INSERT` in a SQLite transaction; binary COPY, inserts or
//! upserts over tokio-postgres, with reconnects); what happens around the
//! write is the same in both and lives here once: when a batch is full or
//! has lingered long enough, which records a restarted load passes over,
//! and how a failed batch's records become dead letters, every one of them
//! with its sequence and the batch's error. A crate of its own, depending
//! on `flux-core` only, so that neither sink depends on the other.
//!
//! ```
//! use flux_core::{Envelope, Instant};
//! use flux_sql::{HeldBatch, Taken};
//!
//! let mut batch = HeldBatch::new().max_rows(2);
//! assert_eq!(batch.take(Envelope::new(1u32).with_sequence(1), Instant::ZERO), Taken::Held);
//! assert_eq!(batch.take(Envelope::new(2u32).with_sequence(2), Instant::ZERO), Taken::Full);
//! // The write failed for good: both records become dead letters.
//! assert!(batch.start_flush());
//! batch.fail("orders", "disk full");
//! let mut letters = Vec::new();
//! batch.take_undelivered(&mut letters);
//! assert_eq!(letters.len(), 2);
//! assert_eq!(letters[0].cause.to_string(), "a batch of 2 rows into `orders` failed and was rolled back: disk full");
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod failed;
mod held;
mod name;

pub use failed::BatchFailed;
pub use held::{HeldBatch, Taken};
pub use name::{BadName, identifier};

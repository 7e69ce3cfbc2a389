//! The `flux` command's library: the pieces of `flux demo`, public so that
//! tests (and readers) can use them on their own.
//!
//! `flux demo` is the job a new user runs first: it generates a feed of
//! orders whose parts (a header, item lines, a payment, a shipment) arrive
//! interleaved and out of order, some never completing, some late, some
//! garbled; frames and parses it; accumulates each order until it is whole
//! or its event-time TTL runs out; and writes complete orders, partial ones
//! with their reason, and garbled lines with their file offset to four
//! tables of a SQLite database (or of PostgreSQL, `--postgres URL`). The
//! load is restartable: killed at any point and run again, it leaves the
//! same tables as one clean run.
//!
//! ```
//! use flux_cli::demo::{DemoOptions, EngineChoice, run};
//!
//! let dir = std::env::temp_dir().join(format!("flux-cli-doc-{}", std::process::id()));
//! let options = DemoOptions {
//!     dir: dir.clone(),
//!     postgres: None,
//!     input: None,
//!     records: 2_000,
//!     seed: 1,
//!     engine: EngineChoice::Sync,
//!     metrics: None,
//!     progress: false,
//!     fresh: true,
//! };
//! let outcome = run(&options, &mut std::io::sink())?;
//! let truth = outcome.truth.expect("the feed was generated");
//! assert_eq!(outcome.rows, [truth.complete, truth.complete_items, truth.partial(), truth.malformed]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod demo;
mod error;
pub mod feed;
pub mod order;
pub mod parse;
pub mod store;
mod summary;
pub mod tables;

pub use error::DemoError;

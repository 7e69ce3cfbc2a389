//! Flux sources for real file formats: CSV rows and JSON lines, read into
//! pooled slabs and parsed where they were read.
//!
//! **Depend on it** to read CSV or JSON-lines files into a pipeline. It is
//! a connector crate: it builds on `flux-memory`'s slabs and framers (the
//! one sibling a connector may depend on, docs/ARCHITECTURE.md "Crates")
//! and on `flux-core`'s [`Source`](flux_core::Source) trait.
//!
//! - [`ParsedSource`] frames its input and parses each frame in place, so a
//!   record that does not parse is a dead letter at its byte offset
//!   ([`Position::ByteOffset`](flux_core::Position::ByteOffset)): a step
//!   after the source would know only its sequence.
//! - [`CsvSource`] / [`Csv`]: records cut where csv-core says they end
//!   (quoted fields with delimiters, newlines and doubled quotes), rows whose
//!   fields are slices of the slab unless unquoting changed them, a header
//!   row, field counts checked.
//! - [`JsonLines`]: each line deserialized with serde_json into any
//!   `T: DeserializeOwned`; a bad line is a dead letter with serde's message.
//!
//! Records and lines of up to 1 MiB are read whatever the slab size (a
//! longer one is a dead letter), and compressed input is read as
//! `flux-memory` reads it.
//!
//! # Example
//!
//! ```
//! use flux_core::{Pipeline, Position, Runnable};
//! use flux_formats::JsonLines;
//! use flux_test::VecSink;
//! # use flux_engine_sync::SyncEngine;
//! # use flux_plan::Planner;
//!
//! #[derive(Clone, Debug, PartialEq, serde::Deserialize)]
//! struct Order {
//!     id: u32,
//!     total: f64,
//! }
//!
//! let path = std::env::temp_dir().join(format!("flux-formats-doc-{}.jsonl", std::process::id()));
//! std::fs::write(&path, "{\"id\":1,\"total\":9.5}\n{\"id\":\"two\"}\n{\"id\":3,\"total\":1.0}\n")?;
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(JsonLines::<Order>::file(&path)?).sink(out.clone());
//! # let plan = Planner::for_one_thread().plan(pipeline.describe())?;
//! let report = SyncEngine::new().run(&plan, pipeline)?;
//!
//! assert_eq!(out.payloads(), [Order { id: 1, total: 9.5 }, Order { id: 3, total: 1.0 }]);
//! assert_eq!(report.dead_letters[0].error.position(), Position::ByteOffset(21));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod csv;
mod json;
mod parsed;

pub use csv::{Csv, CsvError, CsvRecords, CsvRow, CsvRows, CsvSource, Headers};
pub use json::{JsonLine, JsonLineError, JsonLines};
pub use parsed::{Parse, ParsedSource};

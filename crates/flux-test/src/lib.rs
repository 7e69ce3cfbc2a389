//! The Flux test kit: faults on demand, and exact conservation checks.
//!
//! Flux promises that nothing is lost: every envelope that enters a
//! pipeline reaches the output, becomes a dead letter, or is counted as a
//! drop a policy asked for, also when a reader fails half-way through a
//! slab, a writer fills the disk, or user code panics. This crate is how
//! that promise is tested, in Flux and in your own crate:
//!
//! - [`FaultyReader`] and [`FaultyWriter`] script I/O by byte offset: an
//!   error once or for good, `WouldBlock` or `Interrupted` a few times,
//!   short reads and short writes.
//! - [`Tripwire`] makes any closure panic at a chosen call; [`PanicOnPull`],
//!   [`PanicOnWrite`] and [`PanicOnMerge`] put one in a source, a sink or an
//!   accumulator.
//! - [`Conservation`] checks, sequence by sequence, that each input ended
//!   exactly once.
//! - [`CountingAllocator`] counts live heap bytes and their peak, for memory
//!   bounds shown by a test.
//! - Test doubles: [`IterSource`] and [`TimedSource`] stand in for a real
//!   source ([`ScriptedSource`] returns any answer a source can give, in
//!   the order a test scripts), [`VecSink`] for a real sink, [`Diverted`] for an engine's
//!   dead-letter and side outputs when a node is driven by hand, and
//!   [`WaitWhenQueued`] is a backpressure policy that holds its sender by
//!   its answers alone.
//!
//! **Depend on it** as a dev-dependency. It depends on `flux-core` only,
//! so it works with any engine.
//!
//! # Example
//!
//! A reader that fails at byte 10 of its input, after two short reads:
//!
//! ```
//! use std::io::{ErrorKind, Read};
//! use flux_test::{Fault, FaultyReader};
//!
//! let mut reader = FaultyReader::new(b"hello world, hello flux".to_vec())
//!     .max_read(4)
//!     .at(10, Fault::Error(ErrorKind::Other));
//! let mut buf = [0u8; 64];
//! assert_eq!(reader.read(&mut buf).unwrap(), 4);
//! assert_eq!(reader.read(&mut buf).unwrap(), 4);
//! assert_eq!(reader.read(&mut buf).unwrap(), 2); // a read never crosses a fault
//! assert_eq!(reader.read(&mut buf).unwrap_err().kind(), ErrorKind::Other);
//! assert_eq!(reader.read(&mut buf).unwrap(), 4); // a one-off error: the data flows again
//! ```

// `unsafe` lives in `alloc.rs` alone: a global allocator needs it.
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod alloc;
mod careless;
mod conservation;
mod doubles;
mod fault;
mod panic;
mod reader;
mod writer;

pub use alloc::CountingAllocator;
pub use careless::{CarelessNode, PanicInNode};
pub use conservation::Conservation;
pub use doubles::{Diverted, IterSource, ScriptedSource, TimedSource, VecSink, WaitWhenQueued};
pub use fault::Fault;
pub use panic::{PanicOnMerge, PanicOnPull, PanicOnWrite, Tripwire};
pub use reader::FaultyReader;
pub use writer::FaultyWriter;

//! Flux and async Rust: any [`Stream`] as the source of a pipeline, a
//! pipeline's output as one, and stages whose work is a future.
//!
//! [`StreamSource`] polls a stream with the engine's waker
//! ([`Context::waker`](flux_core::Context::waker)): when the stream has
//! nothing ready, the source returns [`Pull::Pending`](flux_core::Pull::Pending) and the engine asks
//! again only once the stream wakes it. On the tokio engine the source's
//! task is suspended meanwhile; on the sync engine the thread blocks, once
//! nothing else can run, with its virtual clock standing still.
//! [`TryStreamSource`] does the same for a stream of `Result`s, each error
//! a dead letter.
//!
//! The other way, [`output`] makes a sink and a [`Stream`] of what it is
//! given, through a bounded channel: async code consumes a pipeline's
//! records at its own pace, and a full channel holds the pipeline back.
//!
//! It depends on `flux-core`, `futures-core` (the `Stream` trait alone) and
//! flume (the channel behind [`output`], whose receiver is a `Stream`).
//!
//! # Example
//!
//! ```
//! use flux_core::{Pipeline, Runnable};
//! use flux_stream::StreamSource;
//! use flux_steps::Steps;
//! use flux_test::VecSink;
//! # use flux_engine_sync::SyncEngine;
//! # use flux_plan::Planner;
//!
//! // Any `Stream`; here a channel's, fed from another thread.
//! let (tx, rx) = flume::bounded(4);
//! let feeder = std::thread::spawn(move || (1..=10u32).for_each(|n| tx.send(n).unwrap()));
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(StreamSource::new(rx.into_stream())).map(|n| n * n).sink(out.clone());
//! # let plan = Planner::new().plan(pipeline.describe())?;
//! # let _report = SyncEngine::new().run(&plan, pipeline)?;
//! feeder.join().unwrap();
//! assert_eq!(out.payloads(), (1..=10u32).map(|n| n * n).collect::<Vec<_>>());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Within a pipeline, [`AsyncSteps::map_async`] transforms each payload
//! with a future, a bounded number in flight, every one of them polled
//! while the stage waits for input or for room downstream:
//!
//! ```
//! use flux_core::{Pipeline, Runnable};
//! use flux_stream::AsyncSteps;
//! use flux_test::{IterSource, VecSink};
//! # use flux_engine_sync::SyncEngine;
//! # use flux_plan::Planner;
//!
//! // Each request is answered by a worker thread, through a channel.
//! let (requests, inbox) = flume::unbounded::<(u32, flume::Sender<u32>)>();
//! let worker = std::thread::spawn(move || inbox.iter().for_each(|(n, reply)| reply.send(n * n).unwrap()));
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(IterSource::new(1..=10u32))
//!     .map_async(4, move |n| {
//!         let (reply, answer) = flume::bounded(1);
//!         requests.send((n, reply)).unwrap();
//!         async move { answer.recv_async().await.unwrap() }
//!     })
//!     .sink(out.clone());
//! # let plan = Planner::new().plan(pipeline.describe())?;
//! # let _report = SyncEngine::new().run(&plan, pipeline)?;
//! assert_eq!(out.payloads(), (1..=10u32).map(|n| n * n).collect::<Vec<_>>(), "in the inputs' order");
//! # drop(_report); worker.join().unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod flow;
mod map_async;
mod outcome;
mod output;
mod source;

pub use futures_core::Stream;
pub use map_async::{AsyncSteps, AsyncTransform, MapAsync, MapAsyncNode, Order, Plain, WithEnv};
pub use outcome::{AsIs, OkOrDeadLetter, Outcome};
pub use output::{OutputStream, StreamSink, output};
pub use source::{StreamSource, TryStreamSource};

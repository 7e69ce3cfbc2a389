//! What most pipelines use, in one `use flux::prelude::*;`.
//!
//! The builder and its envelopes, the traits a user implements (source,
//! sink, stage, accumulator), the test doubles for trying a pipeline, and,
//! with their features, the framed source, the write sink and the
//! accumulation step.

pub use flux_core::{
    Accumulator, Completeness, Emit, EmitReason, Envelope, IterSource, Meta, Pipeline, Position, Pull, Runnable, Sink,
    Source, Stage, StageError, VecSink,
};
pub use flux_engine_sync::RunReport;

#[cfg(feature = "memory")]
pub use flux_memory::{
    Delimit, FramedSource, LengthPrefixed, NewlineDelimited, OnWriteError, PoolConfig, SlabPool, WriteSink,
};

#[cfg(feature = "accumulate")]
pub use flux_accumulate::{Accumulate, AccumulateExt, AtEnd, Keyed, Policy, collect, count, fold, reduce};

#[cfg(feature = "fan-in")]
pub use flux_fan_in::{FanIn, Sourced};

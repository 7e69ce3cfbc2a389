//! What most pipelines use, in one `use flux::prelude::*;`.
//!
//! The builder and its envelopes, the traits a user implements (source,
//! sink, stage, accumulator), the test doubles for trying a pipeline, and,
//! with their features, the framed source, the write sink and the
//! accumulation step.

pub use flux_core::{
    Accumulator, Completeness, Emit, EmitReason, Envelope, Meta, Pipeline, Position, Pull, Runnable, Sink, Source,
    Stage, StageError,
};
pub use flux_engine_sync::RunReport;

/// The builder's steps (`map`, `filter`, `key_by`, ...) as pipeline methods.
pub use flux_steps::{HintSteps, Steps};

/// Stand-ins for a real source and sink, for trying a pipeline out.
pub use flux_test::{IterSource, VecSink};

/// The byte buffer of frames, keys and headers: a slice of it is a
/// reference count, not a copy.
pub use bytes::Bytes;

/// The error type user closures return when several kinds of error can
/// happen (`?` converts each): what `try_map` and jobs' `main` take.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a job that runs into memory returns: the outputs and the run's
/// report (as [`flux::run_to_vec`](crate::run_to_vec) gives them), or why
/// it could not.
pub type Outputs<T> = Result<(Vec<T>, RunReport), BoxError>;

#[cfg(feature = "memory")]
pub use flux_memory::{
    Delimit, FramedSource, LengthPrefixed, NewlineDelimited, OnWriteError, PoolConfig, SlabPool, WriteSink,
};

#[cfg(feature = "accumulate")]
pub use flux_accumulate::{
    Accumulate, AccumulateExt, Assembled, AtEnd, Boundaries, Keyed, Policy, Watermark, collect, count, fold, parts,
    reduce,
};

/// Vector's `reduce` as a table: merge strategies per field for records
/// that are JSON objects.
#[cfg(feature = "fields")]
pub use flux_accumulate::fields::{FieldMerge, Fields};

#[cfg(feature = "fan-in")]
pub use flux_fan_in::{FanIn, Sourced};

#[cfg(feature = "stream")]
pub use flux_stream::{AsyncSteps, StreamSource, TryStreamSource};

/// Watching a run: spans per stage (`.spanned()`), a tap between stages,
/// the report printed after a run.
#[cfg(feature = "observe")]
pub use flux_observe::{Metrics, Progress, Report, SpanSteps, StageTimes, Tap, TimeSteps};

//! What the planner knows about a stage without knowing its types.

use core::fmt;
use std::borrow::Cow;

/// A stage's name, unique within a pipeline.
///
/// Builder methods assign ids such as `map-2` from the stage's kind and
/// position; [`Pipeline::named`](crate::Pipeline::named) replaces the last
/// one with a name of the user's choice. Every error names the stage by id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StageId(Cow<'static, str>);

impl StageId {
    /// An id from a static name.
    pub const fn from_static(name: &'static str) -> Self {
        StageId(Cow::Borrowed(name))
    }

    /// An id from any string.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        StageId(name.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The role a stage plays, which decides how the planner may treat it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StageKind {
    /// Produces envelopes.
    Source,
    /// One input to zero, one or many outputs with no state kept between inputs.
    Transform,
    /// Keeps keyed state across inputs and emits on completion or timers.
    Accumulate,
    /// Consumes envelopes.
    Sink,
}

/// Whether a stage may be fused with its neighbours into one call path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purity {
    /// Output depends only on input: safe to fuse and to run anywhere.
    Pure,
    /// Keeps state or has timers: runs as its own unit unless a pass says otherwise.
    Stateful,
}

/// Where a stage would like to run; engines may ignore hints they cannot honour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EngineHint {
    /// No preference.
    #[default]
    Any,
    /// Heavy work: give the stage a segment of its own so it can run in parallel.
    Isolate,
    /// Blocking I/O: run it where blocking does not stall other stages.
    Blocking,
}

/// A stage as the planner sees it: no types, just the facts needed to plan.
///
/// # Examples
///
/// ```
/// use flux_core::{Purity, StageDescriptor, StageKind};
///
/// let d = StageDescriptor::new("parse", StageKind::Transform, Purity::Pure)
///     .with_cpu_hint_ns(900)
///     .with_types("bytes::Bytes", "Record");
/// assert_eq!(d.id.as_str(), "parse");
/// assert_eq!(d.cpu_hint_ns, 900);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageDescriptor {
    /// The stage's id.
    pub id: StageId,
    /// What the stage does.
    pub kind: StageKind,
    /// Whether it may be fused.
    pub purity: Purity,
    /// Where it would like to run.
    pub engine_hint: EngineHint,
    /// Estimated CPU per item in nanoseconds (0 = cheap / unknown).
    pub cpu_hint_ns: u32,
    /// Estimated memory the stage holds, in bytes (state, buffers).
    pub memory_hint_bytes: u64,
    /// Estimated time an item may wait inside the stage (timers, windows), in nanoseconds.
    pub latency_hint_ns: u64,
    /// Name of the input type, for run-time continuity checks and diagnostics.
    pub input_type: &'static str,
    /// Name of the output type.
    pub output_type: &'static str,
}

impl StageDescriptor {
    /// A descriptor with default hints and unnamed types.
    pub fn new(id: impl Into<Cow<'static, str>>, kind: StageKind, purity: Purity) -> Self {
        StageDescriptor {
            id: StageId::new(id),
            kind,
            purity,
            engine_hint: EngineHint::Any,
            cpu_hint_ns: 0,
            memory_hint_bytes: 0,
            latency_hint_ns: 0,
            input_type: "()",
            output_type: "()",
        }
    }

    /// Records the input and output type names, usually from `core::any::type_name`.
    #[must_use]
    pub fn with_types(mut self, input: &'static str, output: &'static str) -> Self {
        self.input_type = input;
        self.output_type = output;
        self
    }

    /// Sets the engine hint.
    #[must_use]
    pub fn with_engine_hint(mut self, hint: EngineHint) -> Self {
        self.engine_hint = hint;
        self
    }

    /// Sets the CPU hint per item.
    #[must_use]
    pub fn with_cpu_hint_ns(mut self, ns: u32) -> Self {
        self.cpu_hint_ns = ns;
        self
    }

    /// Sets the memory hint.
    #[must_use]
    pub fn with_memory_hint(mut self, bytes: u64) -> Self {
        self.memory_hint_bytes = bytes;
        self
    }

    /// Sets the latency hint.
    #[must_use]
    pub fn with_latency_hint_ns(mut self, ns: u64) -> Self {
        self.latency_hint_ns = ns;
        self
    }
}

//! What the planner knows about a stage without knowing its types.

use core::fmt;
use std::borrow::Cow;

/// A stage's name, unique within a pipeline.
///
/// Builder methods assign ids such as `map-2` from the stage's kind and
/// position; [`Pipeline::named`](crate::Pipeline::named) replaces the last
/// one with a name of the user's choice. Every error names the stage by id.
///
/// The source is `source` and the sink `sink` unless renamed. Ids are what
/// ties a plan to its pipeline ([`Runnable::assemble`](crate::Runnable::assemble)
/// checks them in order) and what each row of a run's ledger is kept
/// under, so two stages of one pipeline must not share one. Cloning an id
/// made from a `&'static str` copies no text.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable, StageId};
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// let pipeline = Pipeline::from_source(IterSource::new(["1", "x"]))
///     .try_map(|s: &str| s.parse::<u32>())
///     .named("parse")
///     .map(|n| n + 1)
///     .sink(VecSink::new());
/// let ids: Vec<StageId> = pipeline.describe().into_iter().map(|d| d.id).collect();
/// assert_eq!(ids[1], StageId::from_static("parse"));
/// assert_eq!(ids[2].as_str(), "map-2");
/// assert_eq!(format!("stage `{}`", ids[3]), "stage `sink`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct StageId(Cow<'static, str>);

impl StageId {
    /// An id from a static name, borrowed (usable in a `const`).
    pub const fn from_static(name: &'static str) -> Self {
        StageId(Cow::Borrowed(name))
    }

    /// An id from any string: a `&'static str` is borrowed, a `String`
    /// (an id made at run time, such as `map-2`) is owned.
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
///
/// The planner checks the shape with it (a source first, a sink last,
/// nothing else at either end) and reports accumulating stages in its
/// diagnostics. Builder steps and user [`Stage`](crate::Stage)s are
/// transforms; the accumulating stage of `flux-accumulate` says
/// [`StageKind::Accumulate`].
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable, StageKind};
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// let pipeline = Pipeline::from_source(IterSource::new(0..3)).map(|n| n * 2).sink(VecSink::new());
/// let kinds: Vec<StageKind> = pipeline.describe().iter().map(|d| d.kind).collect();
/// assert_eq!(kinds, [StageKind::Source, StageKind::Transform, StageKind::Sink]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
///
/// The default planner fuses pure transforms with each other and with the
/// source and sink, and cuts a boundary on both sides of a stateful one,
/// so that its state and timers belong to one segment. Sources and sinks
/// are described as stateful but fuse all the same: the planner treats
/// them by their [kind](StageKind).
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Purity, Runnable};
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// let pipeline = Pipeline::from_source(IterSource::new(0..3)).filter(|n| n % 2 == 0).sink(VecSink::new());
/// let stages = pipeline.describe();
/// assert_eq!(stages[1].purity, Purity::Pure, "a filter keeps no state");
/// assert_eq!(stages[0].purity, Purity::Stateful, "a source is a stateful end");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Purity {
    /// Output depends only on input: safe to fuse and to run anywhere.
    Pure,
    /// Keeps state or has timers: runs as its own unit unless a pass says otherwise.
    Stateful,
}

/// Where a stage would like to run; engines may ignore hints they cannot honour.
///
/// The default planner reads it too: a stage hinted [`EngineHint::Isolate`]
/// or [`EngineHint::Blocking`] gets a boundary on each side, so it runs as
/// a segment of its own. A stage sets it in its
/// [`describe`](crate::Stage::describe) (see the example there).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
/// [`Runnable::describe`](crate::Runnable::describe) lists one per stage,
/// source first; each [`Layer`](crate::Layer) makes its own. The planner
/// copies them into the [`ExecutionPlan`](crate::ExecutionPlan), passes
/// read them to decide where to cut, and engines read the ids to name
/// segments and ledger rows. The hints are estimates: nothing checks them
/// against what the stage does.
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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
    ///
    /// The planner's type-continuity pass compares it with the previous
    /// stage's `output_type`; builder-made pipelines always agree, since the
    /// compiler checked them. `"()"` until [`StageDescriptor::with_types`] sets it.
    pub input_type: &'static str,
    /// Name of the output type.
    pub output_type: &'static str,
}

impl StageDescriptor {
    /// A descriptor with default hints and unnamed types.
    ///
    /// The hints are zero (unknown), the engine hint is
    /// [`EngineHint::Any`], and both type names are `"()"`.
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

    /// Sets the engine hint (see [`EngineHint`]).
    #[must_use]
    pub fn with_engine_hint(mut self, hint: EngineHint) -> Self {
        self.engine_hint = hint;
        self
    }

    /// Sets the CPU hint per item. The default planner gives a stage whose
    /// hint is 500 ns or more a segment of its own, where it can run in
    /// parallel with its neighbours, and cuts a run of stages whose hints
    /// add up to two parts of 40 ns or more into two segments of about
    /// equal work (`flux-plan`'s `SplitByCost`).
    #[must_use]
    pub fn with_cpu_hint_ns(mut self, ns: u32) -> Self {
        self.cpu_hint_ns = ns;
        self
    }

    /// Sets the memory hint: what the planner adds to its memory estimate
    /// for the stage.
    #[must_use]
    pub fn with_memory_hint(mut self, bytes: u64) -> Self {
        self.memory_hint_bytes = bytes;
        self
    }

    /// Sets the latency hint: what the planner adds to the pipeline's
    /// longest latency window for the stage.
    #[must_use]
    pub fn with_latency_hint_ns(mut self, ns: u64) -> Self {
        self.latency_hint_ns = ns;
        self
    }
}

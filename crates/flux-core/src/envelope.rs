//! The unit of data that flows through a pipeline.

use bytes::Bytes;

use crate::{Cost, Headers, Instant};

/// A payload with its metadata and cost.
///
/// The payload is immutable once wrapped: a transform consumes the envelope
/// and produces a new one with [`Envelope::map`], which keeps every piece of
/// metadata (sequence, key, event time, trace, headers). Creating an envelope
/// with no headers allocates nothing; the key is a [`Bytes`] slice, so
/// cloning an envelope for fan-out copies no key or payload bytes when the
/// payload is itself `Bytes`.
///
/// Sources make envelopes ([`Envelope::new`] and the `with_*` methods);
/// stages take them by value and hand on new ones. Whoever holds an
/// envelope owns it: a stage that neither passes it on nor diverts it
/// must count it (see [`StageLedger`](crate::StageLedger)), or the run's
/// ledger will not balance.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::Envelope;
///
/// let env = Envelope::new(7u32).with_sequence(3).with_key(Bytes::from_static(b"customer-1"));
/// let doubled = env.map(|n| n * 2);
/// assert_eq!(*doubled.payload(), 14);
/// assert_eq!(doubled.meta().sequence, 3);
/// assert_eq!(doubled.meta().key.as_deref(), Some(&b"customer-1"[..]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<T> {
    payload: T,
    meta: Meta,
    cost: Cost,
}

/// Everything about an envelope except its payload.
///
/// `Meta` is what dead letters and side outputs keep, so that an envelope that
/// could not be processed can still be correlated with its origin.
///
/// Its fields are public: a stage that builds an output from parts
/// ([`Envelope::from_parts`]) chooses what the output carries, and a test
/// builds one with `Meta { sequence: 7, ..Meta::default() }`. Cloning it
/// copies no key or header bytes (both are reference-counted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Meta {
    /// Position of the envelope in its source, assigned by the source.
    pub sequence: u64,
    /// Key or correlation id; `None` when the source has none.
    pub key: Option<Bytes>,
    /// Event time as carried by the data, if any (distinct from the engine's clock).
    pub event_time: Option<Instant>,
    /// Distributed-trace context, propagated unchanged through transforms.
    pub trace: TraceContext,
    /// Free-form headers; empty headers allocate nothing.
    ///
    /// Serialized as a map of name to value; not read back (a header's
    /// name is a static string of the program that set it), so a
    /// deserialized `Meta` has none.
    #[cfg_attr(feature = "serde", serde(skip_deserializing))]
    pub headers: Headers,
}

impl Meta {
    /// The parts of the metadata that are plain values (sequence, event
    /// time, trace), without the key or headers: what a node keeps, at no
    /// cost, to name an input whose envelope it has handed on, should the
    /// call it handed it to panic.
    ///
    /// It copies plain values only: no reference count is touched.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use flux_core::{Envelope, Instant};
    ///
    /// let input = Envelope::new(7)
    ///     .with_sequence(12)
    ///     .with_event_time(Instant::from_secs(3))
    ///     .with_key(Bytes::from_static(b"ada"))
    ///     .with_header("origin", Bytes::from_static(b"import"));
    /// let kept = input.meta().correlation();
    /// assert_eq!((kept.sequence, kept.event_time), (12, Some(Instant::from_secs(3))));
    /// assert!(kept.key.is_none() && kept.headers.is_empty());
    /// ```
    #[inline(always)]
    pub fn correlation(&self) -> Meta {
        Meta {
            sequence: self.sequence,
            key: None,
            event_time: self.event_time,
            trace: self.trace,
            headers: Headers::default(),
        }
    }
}

/// A W3C-style trace context: which trace an envelope belongs to and its parent span.
///
/// Zero means "no trace"; the kernel only carries it, observers interpret it.
/// The 128-bit trace id is stored as two words so that the context (and
/// every envelope holding it) needs only 8-byte alignment, which keeps
/// envelopes cheap to move through a fused segment.
///
/// # Examples
///
/// ```
/// use flux_core::TraceContext;
///
/// let trace = TraceContext::new(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef, 42);
/// assert_eq!(trace.trace_id(), 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
/// assert_eq!(trace.span_id(), 42);
/// assert!(TraceContext::default().is_empty());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TraceContext {
    trace_id: [u64; 2],
    span_id: u64,
}

impl TraceContext {
    /// A context for span `span_id` of trace `trace_id`.
    pub const fn new(trace_id: u128, span_id: u64) -> Self {
        TraceContext { trace_id: [(trace_id >> 64) as u64, trace_id as u64], span_id }
    }

    /// The trace this envelope belongs to.
    pub const fn trace_id(&self) -> u128 {
        ((self.trace_id[0] as u128) << 64) | self.trace_id[1] as u128
    }

    /// The span that produced this envelope.
    pub const fn span_id(&self) -> u64 {
        self.span_id
    }

    /// True when no trace is set.
    pub const fn is_empty(&self) -> bool {
        self.trace_id[0] == 0 && self.trace_id[1] == 0 && self.span_id == 0
    }
}

impl<T> Envelope<T> {
    /// Wraps a payload with empty metadata and zero cost: sequence 0, no
    /// key, no event time, no trace, no headers. Allocates nothing.
    #[inline(always)]
    pub fn new(payload: T) -> Self {
        Envelope { payload, meta: Meta::default(), cost: Cost::ZERO }
    }

    /// Wraps a payload with the given metadata and cost.
    ///
    /// The way back from [`Envelope::into_parts`]: a stage that makes
    /// several outputs from one input gives each a clone of the input's
    /// metadata, so every output can be traced to it.
    #[inline(always)]
    pub fn from_parts(payload: T, meta: Meta, cost: Cost) -> Self {
        Envelope { payload, meta, cost }
    }

    // The `with_` setters rebuild the envelope from its parts instead of
    // assigning a field of `mut self`: rebuilt, the envelope stays in
    // registers until it is stored where it goes (a batch's slot). An
    // assignment left a copy on the stack, read back with wider loads than
    // it was written with, which stalls the load until the stores drain:
    // 12 ns against 3 ns an envelope pushed into a batch (docs/BENCHMARKS.md,
    // "An envelope built on the stack").

    /// Sets the sequence number: the envelope's position in its source,
    /// which errors and dead letters name.
    #[inline(always)]
    #[must_use]
    pub fn with_sequence(self, sequence: u64) -> Self {
        let Envelope { payload, meta, cost } = self;
        Envelope { payload, meta: Meta { sequence, ..meta }, cost }
    }

    /// Sets the key (correlation id): what keyed stages, such as an
    /// accumulator, group by.
    #[inline(always)]
    #[must_use]
    pub fn with_key(self, key: Bytes) -> Self {
        let Envelope { payload, meta, cost } = self;
        // The key it had, if any, is dropped here.
        Envelope { payload, meta: Meta { key: Some(key), ..meta }, cost }
    }

    /// Sets the event time: when the data says it happened, which
    /// watermarks and event-time windows read. It is not engine time.
    #[inline(always)]
    #[must_use]
    pub fn with_event_time(self, at: Instant) -> Self {
        let Envelope { payload, meta, cost } = self;
        Envelope { payload, meta: Meta { event_time: Some(at), ..meta }, cost }
    }

    /// Sets the trace context.
    #[inline(always)]
    #[must_use]
    pub fn with_trace(self, trace: TraceContext) -> Self {
        let Envelope { payload, meta, cost } = self;
        Envelope { payload, meta: Meta { trace, ..meta }, cost }
    }

    /// Sets the cost.
    #[inline(always)]
    #[must_use]
    pub fn with_cost(self, cost: Cost) -> Self {
        let Envelope { payload, meta, .. } = self;
        Envelope { payload, meta, cost }
    }

    /// Adds a header, allocating the header list on first use; a header of
    /// the same name is replaced (see [`Headers::insert`]).
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: Bytes) -> Self {
        self.meta.headers.insert(name, value);
        self
    }

    /// The payload.
    #[inline(always)]
    pub fn payload(&self) -> &T {
        &self.payload
    }

    /// The metadata.
    #[inline(always)]
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The cost.
    #[inline(always)]
    pub fn cost(&self) -> Cost {
        self.cost
    }

    /// Transforms the payload, keeping metadata and cost: how a `map` step
    /// makes its output, so the output is still traced to its input.
    #[inline(always)]
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Envelope<U> {
        Envelope { payload: f(self.payload), meta: self.meta, cost: self.cost }
    }

    /// Replaces the payload, keeping metadata and cost: for a new payload
    /// computed from a borrow of the old one (parse `input.payload()`,
    /// then `input.replace(parsed)`).
    #[inline(always)]
    pub fn replace<U>(self, payload: U) -> Envelope<U> {
        Envelope { payload, meta: self.meta, cost: self.cost }
    }

    /// Splits the envelope into payload, metadata and cost: the metadata
    /// is what a dead letter keeps once the payload has been used up.
    #[inline(always)]
    pub fn into_parts(self) -> (T, Meta, Cost) {
        (self.payload, self.meta, self.cost)
    }

    /// Consumes the envelope, returning the payload; the metadata and cost
    /// are dropped.
    #[inline(always)]
    pub fn into_payload(self) -> T {
        self.payload
    }
}

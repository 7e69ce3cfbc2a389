//! Built-in merge strategies per field, for records that are JSON objects
//! (feature `fields`): Vector's `reduce` as a table, not a merge function.
//!
//! [`FieldMerge`] is an accumulator whose fragments and record are
//! [`Fields`] (a `serde_json::Map`, what `JsonLine<Map<String, Value>>`
//! reads from JSON lines: a line that is not an object is then a dead
//! letter at the source). Name a [`Strategy`] per field; fields not named
//! take [`Strategy::ByType`], or the one set with [`FieldMerge::others`].
//! A record is the group's key and its merged fields ([`Keyed`]).
//! [`group_by`] makes the key from named fields, as Vector's `group_by`.

mod error;
mod group_by;
mod spill;
mod state;
mod strategy;

use core::fmt;
use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, EmitReason, Envelope};
use rustc_hash::FxHashMap;

pub use error::FieldMergeError;
pub use group_by::group_by;
pub use state::FieldsState;
pub use strategy::Strategy;

use crate::Keyed;

/// A record of named JSON values: what [`FieldMerge`] merges and makes.
pub type Fields = serde_json::Map<String, serde_json::Value>;

/// An accumulator that merges each field of a group's fragments by the
/// strategy named for it, like Vector's `reduce` and its
/// `merge_strategies`.
///
/// Each fragment's fields are checked against the group before any is
/// written: a value its strategy refuses (a string summed, a sum past what
/// a JSON number holds) makes the fragment a dead letter naming the field
/// ([`FieldMergeError`]), and leaves the group as it was, so the
/// fragments after it still merge. A field missing from a fragment is
/// left as it was.
///
/// Boundaries and limits are the stage's: `ends_when` and `starts_when`
/// ([`Boundaries`](crate::Boundaries)) on the incoming fields, and the
/// [`Policy`](crate::Policy)'s item limit, TTL and the rest. A spilled
/// group comes back exactly as it was: its values are encoded as they are
/// held (integers as integers, floats bit for bit), not as JSON text.
///
/// # Examples
///
/// Multi-line log events of one process merged into one, ended by the
/// line that says `done` (Vector's `reduce` with `ends_when`):
///
/// ```
/// use flux_accumulate::fields::{FieldMerge, Fields};
/// use flux_accumulate::{AccumulateExt, Boundaries, Policy};
/// use flux_core::{Pipeline, Runnable};
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
/// use serde_json::json;
/// # use flux_engine_sync::SyncEngine;
/// # use flux_plan::Planner;
///
/// let events: Vec<Fields> = [
///     json!({"pid": 7, "ts": "10:00:01", "message": "panic at main.rs:3", "bytes": 18}),
///     json!({"pid": 7, "ts": "10:00:02", "message": "  in foo()", "bytes": 10}),
///     json!({"pid": 7, "ts": "10:00:04", "message": "done", "bytes": 4}),
/// ]
/// .into_iter()
/// .map(|event| serde_json::from_value(event).unwrap())
/// .collect();
/// let merge = FieldMerge::new().concat("message", "\n").timestamp_window("ts").first("pid");
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(events))
///     .key_by(|event: &Fields| event.get("pid").map(|pid| pid.to_string()).unwrap_or_default())
///     .accumulate(merge.ends_when(|event: &Fields| event.get("message") == Some(&json!("done"))), Policy::default())
///     .sink(out.clone());
/// # let plan = Planner::new().plan(pipeline.describe())?;
/// # let _report = SyncEngine::new().run(&plan, pipeline)?;
/// let record = serde_json::Value::Object(out.payloads()[0].value.clone());
/// assert_eq!(
///     record,
///     json!({
///         "pid": 7,
///         "ts": "10:00:01",
///         "ts_end": "10:00:04",
///         "message": "panic at main.rs:3\n  in foo()\ndone",
///         "bytes": 32, // not named: numbers are summed
///     })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct FieldMerge {
    named: FxHashMap<String, Strategy>,
    others: Strategy,
}

impl FieldMerge {
    /// A table with no field named: every field merges by
    /// [`Strategy::ByType`] (numbers summed, anything else its first value).
    pub fn new() -> Self {
        FieldMerge { named: FxHashMap::default(), others: Strategy::ByType }
    }

    /// Merges `field` by `strategy`.
    ///
    /// # Panics
    ///
    /// If `field` already has a strategy: a table names each field once.
    pub fn field(mut self, field: impl Into<String>, strategy: Strategy) -> Self {
        let field = field.into();
        if let Some(earlier) = self.named.get(&field) {
            panic!("field `{field}` has two strategies: {} and {}", earlier.name(), strategy.name());
        }
        self.named.insert(field, strategy);
        self
    }

    /// The strategy of every field not named (by default [`Strategy::ByType`]).
    pub fn others(mut self, strategy: Strategy) -> Self {
        self.others = strategy;
        self
    }

    /// `field`'s numbers added up ([`Strategy::Sum`]).
    pub fn sum(self, field: impl Into<String>) -> Self {
        self.field(field, Strategy::Sum)
    }

    /// `field`'s smallest number or string ([`Strategy::Min`]).
    pub fn min(self, field: impl Into<String>) -> Self {
        self.field(field, Strategy::Min)
    }

    /// `field`'s largest number or string ([`Strategy::Max`]).
    pub fn max(self, field: impl Into<String>) -> Self {
        self.field(field, Strategy::Max)
    }

    /// `field`'s first value ([`Strategy::First`]).
    pub fn first(self, field: impl Into<String>) -> Self {
        self.field(field, Strategy::First)
    }

    /// `field`'s last value, `null` included ([`Strategy::Last`]).
    pub fn last(self, field: impl Into<String>) -> Self {
        self.field(field, Strategy::Last)
    }

    /// `field`'s last value that is not `null` ([`Strategy::LastNonNull`]).
    pub fn last_non_null(self, field: impl Into<String>) -> Self {
        self.field(field, Strategy::LastNonNull)
    }

    /// `field`'s strings joined with `separator` ([`Strategy::Concat`]).
    pub fn concat(self, field: impl Into<String>, separator: impl Into<String>) -> Self {
        self.field(field, Strategy::Concat(separator.into()))
    }

    /// Every value of `field` in one array, arrays spliced in ([`Strategy::Append`]).
    pub fn append(self, field: impl Into<String>) -> Self {
        self.field(field, Strategy::Append)
    }

    /// Every distinct value of `field`, arrays spliced in ([`Strategy::FlatUnique`]).
    pub fn flat_unique(self, field: impl Into<String>) -> Self {
        self.field(field, Strategy::FlatUnique)
    }

    /// `field`'s first value, and its last as `<field>_end`
    /// ([`Strategy::TimestampWindow`]).
    pub fn timestamp_window(self, field: impl Into<String>) -> Self {
        self.field(field, Strategy::TimestampWindow)
    }

    /// The strategy `field` merges by.
    pub fn strategy(&self, field: &str) -> &Strategy {
        self.named.get(field).unwrap_or(&self.others)
    }
}

impl Default for FieldMerge {
    fn default() -> Self {
        FieldMerge::new()
    }
}

impl Accumulator for FieldMerge {
    type Fragment = Fields;
    type State = FieldsState;
    type Output = Keyed<Fields>;

    fn open(&mut self, _key: &Bytes) -> FieldsState {
        FieldsState::default()
    }

    fn merge(
        &mut self,
        state: &mut FieldsState,
        fragment: Envelope<Fields>,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        // Every field is checked before any is written: a refused value
        // leaves the group as it was (the `Accumulator` contract).
        let fields = fragment.into_payload();
        let mut steps = Vec::with_capacity(fields.len());
        for (name, value) in fields {
            match self.strategy(&name).step(state.fields.get(&name), value) {
                Ok(step) => steps.push((name, step)),
                Err(reason) => return Err(Box::new(FieldMergeError::new(name, reason))),
            }
        }
        for (name, step) in steps {
            state.apply(name, step);
        }
        Ok(())
    }

    fn completeness(&self, _state: &FieldsState) -> Completeness {
        Completeness::EMPTY
    }

    fn close(&mut self, key: Bytes, state: FieldsState, _reason: EmitReason) -> Keyed<Fields> {
        Keyed { key, value: state.into_record() }
    }

    fn state_bytes(&self, state: &FieldsState) -> usize {
        core::mem::size_of::<FieldsState>() + state.bytes
    }

    fn encode_state(&self, state: &FieldsState, out: &mut Vec<u8>) -> bool {
        spill::encode(state, out);
        true
    }

    fn decode_state(&mut self, _key: &Bytes, encoded: &[u8]) -> Result<FieldsState, Box<dyn Error + Send + Sync>> {
        spill::decode(encoded).map_err(|why| format!("a spilled field state that cannot be read: {why}").into())
    }
}

impl fmt::Debug for FieldMerge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sorted by field, so that the table prints the same every time.
        let mut named: Vec<_> = self.named.iter().collect();
        named.sort_by(|a, b| a.0.cmp(b.0));
        f.debug_struct("FieldMerge").field("named", &named).field("others", &self.others).finish()
    }
}

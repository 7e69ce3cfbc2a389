//! A group's merged fields, written only once every field of a fragment
//! has been checked.

use serde_json::Value;

use super::Fields;
use super::strategy::Step;

/// A [`FieldMerge`](super::FieldMerge) group: the merged fields, the last
/// value of each timestamp window, and an estimate of their heap bytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldsState {
    pub(super) fields: Fields,
    /// The last value of each `timestamp_window` field, by field name.
    pub(super) ends: Fields,
    /// What `fields` and `ends` hold on the heap, kept as they change
    /// (walking them on every merge would cost the group's size each time).
    pub(super) bytes: usize,
}

impl FieldsState {
    /// The merged fields so far (without the windows' `_end` fields).
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Writes one checked step; nothing here can fail.
    pub(super) fn apply(&mut self, name: String, step: Step) {
        match step {
            Step::Keep => {}
            Step::Set(value) => set(&mut self.fields, &mut self.bytes, name, value),
            Step::Concat(piece) => match self.fields.get_mut(&name) {
                Some(Value::String(text)) => {
                    self.bytes += piece.len();
                    text.push_str(&piece);
                }
                // A concatenation step is only made for a field that holds
                // a string; anything else is replaced, never lost silently.
                _ => set(&mut self.fields, &mut self.bytes, name, Value::String(piece)),
            },
            Step::Extend(values) => match self.fields.get_mut(&name) {
                Some(Value::Array(items)) => {
                    self.bytes += values.iter().map(value_bytes).sum::<usize>();
                    items.extend(values);
                }
                _ => set(&mut self.fields, &mut self.bytes, name, Value::Array(values)),
            },
            Step::Unique(values) => {
                let mut values = values.into_iter().filter(|value| !value.is_null()).peekable();
                if values.peek().is_none() {
                    return;
                }
                if !matches!(self.fields.get(&name), Some(Value::Array(_))) {
                    set(&mut self.fields, &mut self.bytes, name.clone(), Value::Array(Vec::new()));
                }
                if let Some(Value::Array(items)) = self.fields.get_mut(&name) {
                    for value in values {
                        // A linear scan: JSON values have no hash, and the
                        // lists this strategy is for (hosts, tags) are short.
                        if !items.contains(&value) {
                            self.bytes += value_bytes(&value);
                            items.push(value);
                        }
                    }
                }
            }
            Step::Window(value) => {
                if !self.fields.contains_key(&name) {
                    set(&mut self.fields, &mut self.bytes, name.clone(), value.clone());
                }
                set(&mut self.ends, &mut self.bytes, name, value);
            }
        }
    }

    /// The record: the fields, and each window's last value as `<field>_end`.
    pub(super) fn into_record(self) -> Fields {
        let mut record = self.fields;
        for (name, end) in self.ends {
            record.insert(format!("{name}_end"), end);
        }
        record
    }
}

/// Sets `fields[name]`, keeping `bytes` in step.
fn set(fields: &mut Fields, bytes: &mut usize, name: String, value: Value) {
    *bytes += value_bytes(&value);
    let entry = entry_bytes(&name);
    match fields.insert(name, value) {
        Some(old) => *bytes = bytes.saturating_sub(value_bytes(&old)),
        None => *bytes += entry,
    }
}

/// What a field's name costs in a map besides its value.
fn entry_bytes(name: &str) -> usize {
    core::mem::size_of::<String>() + name.len()
}

/// A value's inline size and the heap it holds (lengths, not capacities:
/// an estimate, cheap to keep).
pub(super) fn value_bytes(value: &Value) -> usize {
    core::mem::size_of::<Value>()
        + match value {
            Value::String(text) => text.len(),
            Value::Array(items) => items.iter().map(value_bytes).sum(),
            Value::Object(map) => map.iter().map(|(name, value)| entry_bytes(name) + value_bytes(value)).sum(),
            Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        }
}

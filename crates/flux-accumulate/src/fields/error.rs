//! Why a fragment's fields could not be merged.

use core::fmt;
use std::error::Error;

/// A field of a fragment that its strategy refused: a value of the wrong
/// type, or a sum past what a JSON number holds. The fragment becomes a
/// dead letter (the stage's [`FragmentError::Merge`](crate::FragmentError::Merge)
/// wraps this error) and its group is left as it was.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_accumulate::fields::{FieldMerge, FieldMergeError, Fields};
/// use flux_core::{Accumulator, Envelope};
/// use serde_json::json;
///
/// let fields = |value: serde_json::Value| -> Fields { serde_json::from_value(value).unwrap() };
/// let mut acc = FieldMerge::new().sum("bytes");
/// let mut state = acc.open(&Bytes::from_static(b"k"));
/// let error = acc.merge(&mut state, Envelope::new(fields(json!({"bytes": "12"})))).unwrap_err();
/// let error = error.downcast_ref::<FieldMergeError>().unwrap();
/// assert_eq!(error.field(), "bytes");
/// assert_eq!(error.to_string(), "field `bytes`: sum takes numbers, found a string");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldMergeError {
    field: String,
    reason: String,
}

impl FieldMergeError {
    pub(super) fn new(field: String, reason: String) -> Self {
        FieldMergeError { field, reason }
    }

    /// The field whose value was refused.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Why, without the field's name: `sum takes numbers, found a string`.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for FieldMergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.reason)
    }
}

impl Error for FieldMergeError {}

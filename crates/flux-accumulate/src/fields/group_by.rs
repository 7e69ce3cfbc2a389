//! `group_by(fields)`: a key from the values of named fields, as Vector's
//! `reduce` groups events.

use bytes::Bytes;

use super::Fields;

/// A key function for `key_by`: the values of `fields`, in that order.
/// Two records share a key when each named field holds the same JSON
/// value in both; a missing field is a value of its own (records missing
/// it group together, apart from those where it is `null`).
///
/// The key is each value's JSON text, joined by a zero byte (JSON text
/// never holds one: control characters in strings are escaped), with
/// nothing for a missing field.
///
/// # Examples
///
/// ```
/// use flux_accumulate::fields::{Fields, group_by};
/// use serde_json::json;
///
/// let fields = |value: serde_json::Value| -> Fields { serde_json::from_value(value).unwrap() };
/// let key = group_by(["host", "pid"]);
/// assert_eq!(key(&fields(json!({"host": "a", "pid": 7, "msg": "x"}))), key(&fields(json!({"pid": 7, "host": "a"}))));
/// assert_ne!(key(&fields(json!({"host": "a", "pid": 7}))), key(&fields(json!({"host": "a", "pid": "7"}))));
/// assert_ne!(key(&fields(json!({"host": "a"}))), key(&fields(json!({"host": "a", "pid": null}))));
/// assert_eq!(&key(&fields(json!({"host": "a", "pid": 7})))[..], b"\"a\"\x007");
/// ```
pub fn group_by<I, S>(fields: I) -> impl Fn(&Fields) -> Bytes + Send + Sync + 'static
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let names: Vec<String> = fields.into_iter().map(Into::into).collect();
    move |record: &Fields| {
        let mut key = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                key.push(0);
            }
            if let Some(value) = record.get(name) {
                // Writing a `Value` into a `Vec` cannot fail.
                let _ = serde_json::to_writer(&mut key, value);
            }
        }
        Bytes::from(key)
    }
}

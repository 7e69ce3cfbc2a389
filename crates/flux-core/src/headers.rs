//! Envelope headers that cost nothing when empty.

use bytes::Bytes;
use std::sync::Arc;

/// An ordered list of `(name, value)` headers.
///
/// Empty headers are a null pointer: an envelope without headers costs no
/// heap allocation and one word of the envelope (one word, not a slice's
/// two: it keeps an envelope of a `Bytes` payload at 128 bytes, which the
/// compiler moves with inline stores instead of a `memcpy` call). A list
/// is shared, not copied, when headers are cloned (a reference count, no
/// allocation), so a stage that stamps the same headers on many records
/// makes them once; [`insert`](Headers::insert) copies a shared list
/// before changing it.
/// Names are `&'static str` because header names are part of a stage's
/// vocabulary (for example `acc.completeness`), not data.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::Headers;
///
/// let mut headers = Headers::new();
/// assert!(headers.is_empty());
/// headers.insert("acc.reason", Bytes::from_static(b"complete"));
/// headers.insert("acc.reason", Bytes::from_static(b"lifetime"));
/// assert_eq!(headers.get("acc.reason").unwrap(), &b"lifetime"[..]);
/// assert_eq!(headers.len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Option<Arc<Vec<(&'static str, Bytes)>>>);

impl Headers {
    /// Creates empty headers without allocating.
    pub const fn new() -> Self {
        Headers(None)
    }

    /// Sets `name` to `value`, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &'static str, value: Bytes) {
        // Headers are few and set once: the list is shared, changed in
        // place while this is its only holder, and copied first otherwise.
        let list = Arc::make_mut(self.0.get_or_insert_with(Arc::default));
        match list.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => list.push((name, value)),
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.entries().iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// Iterates over `(name, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Bytes)> {
        self.entries().iter().map(|(n, v)| (*n, v))
    }

    fn entries(&self) -> &[(&'static str, Bytes)] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl FromIterator<(&'static str, Bytes)> for Headers {
    /// Headers from `(name, value)` pairs, a later value of a name replacing
    /// an earlier one; one allocation when the names are distinct and the
    /// iterator knows its length (an array, say), besides the list's
    /// shared count.
    fn from_iter<I: IntoIterator<Item = (&'static str, Bytes)>>(pairs: I) -> Self {
        let list: Vec<(&'static str, Bytes)> = pairs.into_iter().collect();
        let distinct = list.iter().enumerate().all(|(i, (name, _))| list[..i].iter().all(|(n, _)| n != name));
        if distinct {
            return Headers((!list.is_empty()).then(|| Arc::new(list)));
        }
        let mut headers = Headers::new();
        list.iter().for_each(|(name, value)| headers.insert(name, value.clone()));
        headers
    }
}

//! Envelope headers that cost nothing when empty.

use bytes::Bytes;
use std::sync::Arc;

/// An ordered list of `(name, value)` headers.
///
/// Empty headers are a null pointer: an envelope without headers costs no
/// heap allocation and two words of the envelope. A list is shared, not
/// copied, when headers are cloned (a reference count, no allocation), so
/// a stage that stamps the same headers on many records makes them once;
/// [`insert`](Headers::insert) copies a shared list before changing it.
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
pub struct Headers(Option<Arc<[(&'static str, Bytes)]>>);

impl Headers {
    /// Creates empty headers without allocating.
    pub const fn new() -> Self {
        Headers(None)
    }

    /// Sets `name` to `value`, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &'static str, value: Bytes) {
        let unique = self.0.as_mut().and_then(Arc::get_mut);
        if let Some(slot) = unique.and_then(|list| list.iter_mut().find(|(n, _)| *n == name)) {
            slot.1 = value;
            return;
        }
        // Headers are few and set once, so the list is a shared slice (two
        // words in the envelope) copied, and regrown by one on a new name,
        // whenever it changes while shared or grows.
        let mut list = self.0.take().map(|list| list.to_vec()).unwrap_or_default();
        match list.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => list.push((name, value)),
        }
        self.0 = Some(list.into());
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
        self.0.as_deref().unwrap_or(&[])
    }
}

impl FromIterator<(&'static str, Bytes)> for Headers {
    /// Headers from `(name, value)` pairs, a later value of a name replacing
    /// an earlier one; one allocation when the names are distinct and the
    /// iterator knows its length (an array, say).
    fn from_iter<I: IntoIterator<Item = (&'static str, Bytes)>>(pairs: I) -> Self {
        let list: Arc<[(&'static str, Bytes)]> = pairs.into_iter().collect();
        let distinct = list.iter().enumerate().all(|(i, (name, _))| list[..i].iter().all(|(n, _)| n != name));
        if distinct {
            return Headers((!list.is_empty()).then_some(list));
        }
        let mut headers = Headers::new();
        list.iter().for_each(|(name, value)| headers.insert(name, value.clone()));
        headers
    }
}

//! Envelope headers that cost nothing when empty.

use bytes::Bytes;

/// An ordered list of `(name, value)` headers.
///
/// Empty headers are an empty `Vec`, which does not allocate: an envelope
/// without headers costs no heap allocation. Names are `&'static str`
/// because header names are part of a stage's vocabulary (for example
/// `acc.completeness`), not data.
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
/// headers.insert("acc.reason", Bytes::from_static(b"ttl-expired"));
/// assert_eq!(headers.get("acc.reason").unwrap(), &b"ttl-expired"[..]);
/// assert_eq!(headers.len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<(&'static str, Bytes)>);

impl Headers {
    /// Creates empty headers without allocating.
    pub const fn new() -> Self {
        Headers(Vec::new())
    }

    /// Sets `name` to `value`, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &'static str, value: Bytes) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over `(name, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Bytes)> {
        self.0.iter().map(|(n, v)| (*n, v))
    }
}

//! Envelope headers that cost nothing when empty.

use bytes::Bytes;

/// An ordered list of `(name, value)` headers.
///
/// Empty headers are a null pointer: an envelope without headers costs no
/// heap allocation and two words of the envelope. Names are `&'static str`
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
pub struct Headers(Option<Box<[(&'static str, Bytes)]>>);

impl Headers {
    /// Creates empty headers without allocating.
    pub const fn new() -> Self {
        Headers(None)
    }

    /// Sets `name` to `value`, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &'static str, value: Bytes) {
        if let Some(slot) = self.0.as_deref_mut().and_then(|list| list.iter_mut().find(|(n, _)| *n == name)) {
            slot.1 = value;
            return;
        }
        // Headers are few and set once, so the list is a boxed slice (two
        // words in the envelope) regrown by one on each new name.
        let mut list = self.0.take().map(Vec::from).unwrap_or_default();
        list.push((name, value));
        self.0 = Some(list.into_boxed_slice());
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

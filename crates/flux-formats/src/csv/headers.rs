//! The names of a CSV input's columns, from its header row.

/// The header row's names, shared by every row of the input.
///
/// # Examples
///
/// ```
/// use flux_formats::Headers;
///
/// let headers = Headers::new(["id", "name"]);
/// assert_eq!(headers.index_of("name"), Some(1));
/// assert_eq!(headers.names(), ["id", "name"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    names: Vec<String>,
}

impl Headers {
    /// Headers with these names, in column order.
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        Headers { names: names.into_iter().map(Into::into).collect() }
    }

    /// The names, in column order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column of `name` (the first, if the name is repeated).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// How many columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True for a header row with no names.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

//! One parsed CSV row: its fields as slices of the record's slab, or as
//! owned bytes where unquoting changed them.

use core::fmt;
use core::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::Headers;

/// One field: where it is in the record, or its unescaped bytes.
#[derive(Clone)]
pub(crate) enum Field {
    /// The field's bytes are these bytes of the record (no quotes, or
    /// quotes around bytes that needed no unescaping).
    InRecord(Range<usize>),
    /// The field had doubled quotes (or other bytes csv-core dropped); its
    /// unescaped bytes were copied out.
    Copied(Bytes),
}

/// A CSV record, split into fields.
///
/// The row holds its record as a zero-copy [`Bytes`] slice of the slab it
/// was read into; a field is a range of it unless unquoting changed its
/// bytes (doubled quotes), and only then owns a copy. [`CsvRow::field`]
/// hands a field out as `Bytes` without copying.
///
/// # Examples
///
/// ```
/// use flux_formats::CsvRow;
///
/// let row = CsvRow::from_record(bytes::Bytes::from_static(b"1,\"say \"\"hi\"\"\",\"plain\""));
/// assert_eq!(row.get(0), Some(&b"1"[..]));
/// assert_eq!(row.get_str(1), Some("say \"hi\""));
/// assert_eq!(row.get_str(2), Some("plain"));
/// assert!(row.is_copied(1), "doubled quotes: unescaped into a copy");
/// assert!(!row.is_copied(2), "quotes around plain bytes: a slice of the record");
/// ```
#[derive(Clone)]
pub struct CsvRow {
    record: Bytes,
    offset: u64,
    fields: Vec<Field>,
    headers: Option<Arc<Headers>>,
}

impl CsvRow {
    pub(crate) fn new(record: Bytes, offset: u64, fields: Vec<Field>, headers: Option<Arc<Headers>>) -> Self {
        CsvRow { record, offset, fields, headers }
    }

    /// The fields of one comma-separated, double-quoted `record`
    /// (terminator excluded), with no headers and offset 0: a row outside
    /// a source.
    pub fn from_record(record: Bytes) -> Self {
        let fields = super::fields::Splitter::new(b',', b'"').split(&record, 8);
        CsvRow::new(record, 0, fields, None)
    }

    /// How many fields the row has.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True for a row with no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Field `index`'s bytes, unquoted and unescaped.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.fields.get(index).map(|field| match field {
            Field::InRecord(range) => &self.record[range.clone()],
            Field::Copied(bytes) => &bytes[..],
        })
    }

    /// Field `index` as text; `None` when there is no such field or it is
    /// not UTF-8.
    pub fn get_str(&self, index: usize) -> Option<&str> {
        self.get(index).and_then(|bytes| core::str::from_utf8(bytes).ok())
    }

    /// The field under the header `name`; `None` without a header row or
    /// without that column.
    pub fn by_name(&self, name: &str) -> Option<&[u8]> {
        self.get(self.headers.as_ref()?.index_of(name)?)
    }

    /// Field `index` as an owned `Bytes`: a slice of the slab (no copy)
    /// unless unescaping made it a copy already.
    pub fn field(&self, index: usize) -> Option<Bytes> {
        self.fields.get(index).map(|field| match field {
            Field::InRecord(range) => self.record.slice(range.clone()),
            Field::Copied(bytes) => bytes.clone(),
        })
    }

    /// Whether field `index` had to be copied out of the record to be
    /// unescaped (it had doubled quotes).
    pub fn is_copied(&self, index: usize) -> bool {
        matches!(self.fields.get(index), Some(Field::Copied(_)))
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).filter_map(|index| self.get(index))
    }

    /// The header row's names, when the input has one.
    pub fn headers(&self) -> Option<&Headers> {
        self.headers.as_deref()
    }

    /// Byte offset of the record in the input.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The record as it was in the input (quotes and delimiters included,
    /// terminator excluded).
    pub fn record(&self) -> &Bytes {
        &self.record
    }
}

impl fmt::Debug for CsvRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<_> = self.iter().map(String::from_utf8_lossy).collect();
        f.debug_struct("CsvRow").field("offset", &self.offset).field("fields", &fields).finish()
    }
}

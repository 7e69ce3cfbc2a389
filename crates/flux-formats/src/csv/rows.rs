//! Parsing CSV records into rows: the header row, field counts, rows.

use core::fmt;
use std::sync::Arc;

use flux_memory::Frame;

use super::fields::Splitter;
use super::{CsvError, CsvRow, Headers};
use crate::Parse;

/// The [`Parse`] of CSV records into [`CsvRow`]s.
///
/// With a header row (the default) the first record names the columns:
/// it becomes the rows' [`Headers`] and no row. Unless the input is
/// flexible, every record must then have as many fields as the first one;
/// one that does not is a [`CsvError::FieldCount`].
pub struct CsvRows {
    splitter: Splitter,
    header_row: bool,
    flexible: bool,
    headers: Option<Arc<Headers>>,
    fields: Option<usize>,
}

impl CsvRows {
    pub(crate) fn new(delimiter: u8, quote: u8, header_row: bool, flexible: bool) -> Self {
        CsvRows { splitter: Splitter::new(delimiter, quote), header_row, flexible, headers: None, fields: None }
    }

    /// The header row's names, once it has been read.
    pub fn headers(&self) -> Option<&Headers> {
        self.headers.as_deref()
    }
}

impl Parse for CsvRows {
    type Item = CsvRow;
    type Error = CsvError;

    fn parse(&mut self, frame: Frame<'_>) -> Result<Option<CsvRow>, CsvError> {
        let record = frame.to_bytes();
        let fields = self.splitter.split(&record, self.fields.unwrap_or(8));
        if self.header_row && self.headers.is_none() {
            let row = CsvRow::new(record, frame.offset(), fields, None);
            let names = row.iter().map(|name| String::from_utf8_lossy(name).into_owned());
            self.headers = Some(Arc::new(Headers::new(names)));
            self.fields = Some(row.len());
            return Ok(None);
        }
        match self.fields {
            Some(expected) if !self.flexible && expected != fields.len() => {
                return Err(CsvError::FieldCount { offset: frame.offset(), expected, found: fields.len() });
            }
            Some(_) => {}
            None => self.fields = Some(fields.len()),
        }
        Ok(Some(CsvRow::new(record, frame.offset(), fields, self.headers.clone())))
    }
}

impl fmt::Debug for CsvRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvRows")
            .field("header_row", &self.header_row)
            .field("flexible", &self.flexible)
            .field("headers", &self.headers)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

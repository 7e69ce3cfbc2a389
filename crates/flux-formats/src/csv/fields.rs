//! Splitting one record into fields with csv-core, keeping each field in
//! place where unquoting leaves its bytes as they are.

use core::ops::Range;

use bytes::Bytes;
use csv_core::{ReadFieldResult, Reader, ReaderBuilder};

use super::row::Field;

/// Splits records into fields; keeps the buffer csv-core unescapes into.
pub(crate) struct Splitter {
    csv: Reader,
    quote: u8,
    unescaped: Vec<u8>,
}

impl Splitter {
    pub(crate) fn new(delimiter: u8, quote: u8) -> Self {
        Splitter { csv: ReaderBuilder::new().delimiter(delimiter).quote(quote).build(), quote, unescaped: vec![0; 256] }
    }

    /// The fields of `record` (one record, terminator excluded).
    pub(crate) fn split(&mut self, record: &Bytes, capacity: usize) -> Vec<Field> {
        self.csv.reset();
        let mut fields = Vec::with_capacity(capacity);
        let (mut at, mut start, mut written) = (0, 0, 0);
        loop {
            if written == self.unescaped.len() {
                self.unescaped.resize(written * 2, 0);
            }
            let (result, read, wrote) = self.csv.read_field(&record[at..], &mut self.unescaped[written..]);
            at += read;
            written += wrote;
            match result {
                ReadFieldResult::InputEmpty | ReadFieldResult::OutputFull => {}
                ReadFieldResult::Field { record_end } => {
                    // A field ended by a delimiter consumed it; the last
                    // field ends with the input, consuming nothing.
                    let end = if read > 0 { at - 1 } else { at };
                    fields.push(self.field(record, start..end, written));
                    (start, written) = (at, 0);
                    if record_end {
                        return fields;
                    }
                }
                ReadFieldResult::End => return fields,
            }
        }
    }

    /// The field whose input bytes are `raw` and whose unescaped bytes are
    /// the first `written` of the buffer: in place when they are the same
    /// bytes (unquoted, or quoted with nothing to unescape), else a copy.
    fn field(&self, record: &Bytes, raw: Range<usize>, written: usize) -> Field {
        let unescaped = &self.unescaped[..written];
        let input = &record[raw.clone()];
        // csv-core only ever drops bytes, so equal lengths mean equal bytes.
        if input.len() == written {
            return Field::InRecord(raw);
        }
        if input.first() == Some(&self.quote) && input.get(1..=written) == Some(unescaped) {
            return Field::InRecord(raw.start + 1..raw.start + 1 + written);
        }
        Field::Copied(Bytes::copy_from_slice(unescaped))
    }
}

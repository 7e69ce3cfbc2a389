//! A batch's rows, encoded once: PostgreSQL's binary COPY stream, which a
//! COPY sends as it is, and where each value lies in it, which an INSERT
//! sends as its parameters. A batch tried again is sent again, not encoded
//! again.

use std::error::Error;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::Row;

/// Where a value's bytes lie in the stream; `None` is NULL.
pub(crate) type Span = Option<(usize, usize)>;

/// The start of every binary COPY stream: a signature, no flags, no
/// header extension.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Rows being encoded.
#[derive(Debug)]
pub(crate) struct Encoder {
    stream: BytesMut,
    spans: Vec<Span>,
    rows: usize,
}

impl Encoder {
    pub(crate) fn new() -> Self {
        let mut stream = BytesMut::with_capacity(64 * 1024);
        stream.put_slice(SIGNATURE);
        stream.put_i32(0);
        stream.put_i32(0);
        Encoder { stream, spans: Vec::new(), rows: 0 }
    }

    /// The next row, with `columns.len()` fields.
    pub(crate) fn row<'a>(&'a mut self, columns: &'a [(String, Type)]) -> Row<'a> {
        // The table has at most 1,600 columns: the count fits.
        self.stream.put_i16(i16::try_from(columns.len()).unwrap_or(i16::MAX));
        self.rows += 1;
        Row::new(&mut self.stream, &mut self.spans, columns)
    }

    pub(crate) fn finish(mut self, width: usize) -> Encoded {
        self.stream.put_i16(-1);
        Encoded { stream: self.stream.freeze(), spans: self.spans.into(), width, rows: self.rows }
    }
}

/// A batch, encoded: cheap to clone into each try.
#[derive(Clone, Debug)]
pub(crate) struct Encoded {
    stream: Bytes,
    spans: Arc<[Span]>,
    width: usize,
    rows: usize,
}

impl Encoded {
    /// Rows in the batch.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// The binary COPY stream, trailer included.
    pub(crate) fn stream(&self) -> Bytes {
        self.stream.clone()
    }

    /// Each row's values, as parameters of a prepared statement.
    pub(crate) fn parameters(&self) -> impl Iterator<Item = impl ExactSizeIterator<Item = Value<'_>>> {
        self.spans
            .chunks(self.width.max(1))
            .map(|row| row.iter().map(|span| Value(span.map(|(start, end)| &self.stream[start..end]))))
    }
}

/// A value already in PostgreSQL's binary form for its parameter's type
/// (the type it was encoded for came from the same statement), passed
/// through as it is.
#[derive(Debug)]
pub(crate) struct Value<'a>(Option<&'a [u8]>);

impl ToSql for Value<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self.0 {
            Some(bytes) => {
                out.put_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

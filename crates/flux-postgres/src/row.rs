//! How a record becomes a row: values pushed in column order, each encoded
//! at once in PostgreSQL's binary form, with no row object in between.

use core::fmt;
use std::error::Error;

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{IsNull, ToSql, Type};

use crate::batch::Span;

/// The row being made: [`Row::push`] encodes the next column's value.
///
/// Each value is encoded for its column's type as the server reported it
/// when the sink connected, so a value of the wrong Rust type (an `i32`
/// for a `BIGINT` column; PostgreSQL has no unsigned integers, so a `u64`
/// goes as an `i64`) is refused here, naming the column, before anything
/// is sent.
pub struct Row<'a> {
    stream: &'a mut BytesMut,
    spans: &'a mut Vec<Span>,
    columns: &'a [(String, Type)],
    pushed: usize,
}

impl fmt::Debug for Row<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Row").field("pushed", &self.pushed).field("width", &self.columns.len()).finish_non_exhaustive()
    }
}

impl<'a> Row<'a> {
    pub(crate) fn new(stream: &'a mut BytesMut, spans: &'a mut Vec<Span>, columns: &'a [(String, Type)]) -> Self {
        Row { stream, spans, columns, pushed: 0 }
    }

    /// Encodes `value` as the next column's.
    ///
    /// # Errors
    ///
    /// More values than columns, or a value the column's type cannot take.
    pub fn push(&mut self, value: impl ToSql) -> Result<&mut Self, RowError> {
        let Some((name, sql_type)) = self.columns.get(self.pushed) else {
            return Err(RowError::TooManyValues { width: self.columns.len() });
        };
        self.pushed += 1;
        // A value is its length (four bytes, -1 for NULL) and its bytes.
        let at = self.stream.len();
        self.stream.put_i32(0);
        let refused = |cause| RowError::Value { column: name.clone(), sql_type: sql_type.to_string(), cause };
        let span = match value.to_sql_checked(sql_type, self.stream).map_err(refused)? {
            IsNull::Yes => {
                self.stream.truncate(at + 4);
                self.stream[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes());
                None
            }
            IsNull::No => {
                let start = at + 4;
                let length = i32::try_from(self.stream.len() - start)
                    .map_err(|_| refused("a value of 2 GiB or more does not fit a PostgreSQL field".into()))?;
                self.stream[at..start].copy_from_slice(&length.to_be_bytes());
                Some((start, self.stream.len()))
            }
        };
        self.spans.push(span);
        Ok(self)
    }

    /// Values pushed so far.
    pub(crate) fn pushed(&self) -> usize {
        self.pushed
    }
}

/// Why a record could not be made into a row. Its batch fails (nothing of
/// it is sent) and its records become dead letters.
#[derive(Debug)]
#[non_exhaustive]
pub enum RowError {
    /// A value was pushed past the table's last column.
    TooManyValues {
        /// The table's columns.
        width: usize,
    },
    /// Fewer values were pushed than the table has columns (PostgreSQL
    /// would have stored NULL, or a default, in the others).
    TooFewValues {
        /// Values pushed.
        pushed: usize,
        /// The table's columns.
        width: usize,
    },
    /// A row named a table the sink does not write
    /// ([`Rows::insert`](crate::Rows::insert)).
    NoTable {
        /// The name given.
        table: String,
    },
    /// The column's type cannot take the value (the cause says why).
    Value {
        /// The column.
        column: String,
        /// Its type, as PostgreSQL names it (`int8`, `text`).
        sql_type: String,
        /// What the encoder said.
        cause: Box<dyn Error + Send + Sync>,
    },
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowError::TooManyValues { width } => write!(f, "a row pushed more values than the table's {width} columns"),
            RowError::TooFewValues { pushed, width } => {
                write!(f, "a row pushed {pushed} values for the table's {width} columns")
            }
            RowError::NoTable { table } => write!(f, "no table `{table}` in this sink"),
            RowError::Value { column, sql_type, .. } => {
                write!(f, "column `{column}` ({sql_type}) cannot take the value pushed")
            }
        }
    }
}

impl Error for RowError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            RowError::Value { cause, .. } => Some(&**cause),
            RowError::TooManyValues { .. } | RowError::TooFewValues { .. } | RowError::NoTable { .. } => None,
        }
    }
}

/// Maps a record of type `T` to a row: any
/// `FnMut(&T, &mut Row<'_>) -> Result<(), Box<dyn Error + Send + Sync>>`
/// is one (a [`RowError`] converts with `?`, and so does any error of the
/// mapping's own).
pub trait ToRow<T>: Send + 'static {
    /// Pushes `record`'s values to `row`, one per column, in order.
    ///
    /// # Errors
    ///
    /// The record cannot be a row; its batch fails.
    fn bind(&mut self, record: &T, row: &mut Row<'_>) -> Result<(), Box<dyn Error + Send + Sync>>;
}

impl<T, F> ToRow<T> for F
where
    F: FnMut(&T, &mut Row<'_>) -> Result<(), Box<dyn Error + Send + Sync>> + Send + 'static,
{
    fn bind(&mut self, record: &T, row: &mut Row<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        self(record, row)
    }
}

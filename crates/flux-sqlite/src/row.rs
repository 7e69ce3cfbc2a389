//! How a record becomes a row: values bound in column order, straight
//! from the record, with no row object in between.

use core::fmt;

use rusqlite::{Statement, ToSql};

/// The row being bound: [`Row::push`] binds the next column's value.
///
/// A record's fields are bound by reference, so a text field is not
/// copied on its way to SQLite.
pub struct Row<'a> {
    statement: &'a mut (dyn Bind + 'a),
    bound: usize,
}

/// A statement's parameters, by position: what a [`Row`] binds into.
trait Bind {
    fn bind(&mut self, index: usize, value: &dyn ToSql) -> rusqlite::Result<()>;
}

impl Bind for Statement<'_> {
    fn bind(&mut self, index: usize, value: &dyn ToSql) -> rusqlite::Result<()> {
        self.raw_bind_parameter(index, value)
    }
}

impl fmt::Debug for Row<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Row").field("bound", &self.bound).finish_non_exhaustive()
    }
}

impl<'a> Row<'a> {
    pub(crate) fn new(statement: &'a mut Statement<'_>) -> Self {
        Row { statement, bound: 0 }
    }

    /// Binds `value` to the next column.
    ///
    /// # Errors
    ///
    /// More values than columns, or a value SQLite cannot take.
    pub fn push(&mut self, value: impl ToSql) -> rusqlite::Result<&mut Self> {
        self.bound += 1;
        self.statement.bind(self.bound, &value)?;
        Ok(self)
    }

    pub(crate) fn bound(&self) -> usize {
        self.bound
    }
}

/// Maps a record of type `T` to a row: any
/// `FnMut(&T, &mut Row<'_>) -> rusqlite::Result<()>` is one.
pub trait ToRow<T>: Send + 'static {
    /// Binds `record`'s values to `row`, one per column, in order.
    ///
    /// # Errors
    ///
    /// A value could not be bound; the record's batch fails.
    fn bind(&mut self, record: &T, row: &mut Row<'_>) -> rusqlite::Result<()>;
}

impl<T, F> ToRow<T> for F
where
    F: FnMut(&T, &mut Row<'_>) -> rusqlite::Result<()> + Send + 'static,
{
    fn bind(&mut self, record: &T, row: &mut Row<'_>) -> rusqlite::Result<()> {
        self(record, row)
    }
}

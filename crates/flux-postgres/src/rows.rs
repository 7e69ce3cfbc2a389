//! A record's rows in several tables: [`Rows::insert`] encodes a row
//! into one of the sink's tables, in the batch's transaction.

use core::fmt;
use std::error::Error;

use tokio_postgres::types::Type;

use crate::batch::Encoder;
use crate::{Row, RowError, Table, ToRow};

/// Maps a record of type `T` to rows of any of the sink's tables (see
/// [`PostgresSink::tables`](crate::PostgresSink::tables)): a record may
/// write no row, one, or several, in one table or in several.
pub trait ToRows<T>: Send + 'static {
    /// Inserts `record`'s rows through `rows`.
    ///
    /// # Errors
    ///
    /// A row could not be made; the record's batch fails.
    fn rows(&mut self, record: &T, rows: &mut Rows<'_>) -> Result<(), Box<dyn Error + Send + Sync>>;
}

impl<T, F> ToRows<T> for F
where
    F: FnMut(&T, &mut Rows<'_>) -> Result<(), Box<dyn Error + Send + Sync>> + Send + 'static,
{
    fn rows(&mut self, record: &T, rows: &mut Rows<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        self(record, rows)
    }
}

/// A one-table mapping ([`ToRow`]) seen as a [`ToRows`]: what
/// [`PostgresSink::new`](crate::PostgresSink::new) writes through.
#[derive(Debug)]
pub struct OneTable<M>(pub(crate) M);

impl<T, M: ToRow<T>> ToRows<T> for OneTable<M> {
    #[inline]
    fn rows(&mut self, record: &T, rows: &mut Rows<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        rows.insert_at(0, |row| self.0.bind(record, row))
    }
}

/// The sink's tables while a batch is encoded: [`Rows::insert`] adds a
/// row to one of them.
pub struct Rows<'a> {
    tables: &'a [Table],
    columns: &'a [Vec<(String, Type)>],
    encoders: &'a mut [Encoder],
}

impl fmt::Debug for Rows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.tables.iter().map(Table::name).collect();
        f.debug_struct("Rows").field("tables", &names).finish_non_exhaustive()
    }
}

impl<'a> Rows<'a> {
    pub(crate) fn new(tables: &'a [Table], columns: &'a [Vec<(String, Type)>], encoders: &'a mut [Encoder]) -> Self {
        Rows { tables, columns, encoders }
    }

    /// Adds one row to the table named `table`, its values pushed by
    /// `bind` in column order.
    ///
    /// # Errors
    ///
    /// No table of the sink has that name ([`RowError::NoTable`]), `bind`
    /// failed, or the row has not one value per column.
    pub fn insert(
        &mut self,
        table: &str,
        bind: impl FnOnce(&mut Row<'_>) -> Result<(), Box<dyn Error + Send + Sync>>,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        let Some(index) = self.tables.iter().position(|t| t.name() == table) else {
            return Err(Box::new(RowError::NoTable { table: table.to_owned() }));
        };
        self.insert_at(index, bind)
    }

    /// Adds a row to the sink's `index`th table.
    fn insert_at(
        &mut self,
        index: usize,
        bind: impl FnOnce(&mut Row<'_>) -> Result<(), Box<dyn Error + Send + Sync>>,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        let width = self.tables[index].width();
        let mut row = self.encoders[index].row(&self.columns[index]);
        bind(&mut row)?;
        let pushed = row.pushed();
        if pushed != width {
            return Err(Box::new(RowError::TooFewValues { pushed, width }));
        }
        Ok(())
    }
}

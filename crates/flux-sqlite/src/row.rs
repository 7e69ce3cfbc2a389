//! How a record becomes a row (or rows, in several tables): values bound
//! in column order, straight from the record, with no row object in
//! between.

use core::fmt;

use rusqlite::{CachedStatement, Statement, ToSql};

use crate::Table;

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

/// Maps a record of type `T` to rows of any of the sink's tables (see
/// [`SqliteSink::tables`](crate::SqliteSink::tables)): a record may write
/// no row, one, or several, in one table or in several.
pub trait ToRows<T>: Send + 'static {
    /// Inserts `record`'s rows through `rows`.
    ///
    /// # Errors
    ///
    /// A row could not be bound or inserted; the record's batch fails.
    fn rows(&mut self, record: &T, rows: &mut Rows<'_, '_>) -> rusqlite::Result<()>;
}

impl<T, F> ToRows<T> for F
where
    F: FnMut(&T, &mut Rows<'_, '_>) -> rusqlite::Result<()> + Send + 'static,
{
    fn rows(&mut self, record: &T, rows: &mut Rows<'_, '_>) -> rusqlite::Result<()> {
        self(record, rows)
    }
}

/// A one-table mapping ([`ToRow`]) seen as a [`ToRows`]: what
/// [`SqliteSink::new`](crate::SqliteSink::new) writes through.
#[derive(Debug)]
pub struct OneTable<M>(pub(crate) M);

impl<T, M: ToRow<T>> ToRows<T> for OneTable<M> {
    #[inline]
    fn rows(&mut self, record: &T, rows: &mut Rows<'_, '_>) -> rusqlite::Result<()> {
        rows.insert_at(0, |row| self.0.bind(record, row))
    }
}

/// The sink's tables during one transaction: [`Rows::insert`] adds a row
/// to one of them.
pub struct Rows<'t, 'c> {
    tables: &'t [Table],
    statements: &'t mut [CachedStatement<'c>],
    inserted: u64,
}

impl fmt::Debug for Rows<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.tables.iter().map(Table::name).collect();
        f.debug_struct("Rows").field("tables", &names).field("inserted", &self.inserted).finish()
    }
}

impl<'t, 'c> Rows<'t, 'c> {
    pub(crate) fn new(tables: &'t [Table], statements: &'t mut [CachedStatement<'c>]) -> Self {
        Rows { tables, statements, inserted: 0 }
    }

    /// Inserts one row into the table named `table`, its values bound by
    /// `bind` in column order.
    ///
    /// # Errors
    ///
    /// No table of the sink has that name, `bind` failed, the row has not
    /// one value per column, or SQLite refused the row.
    pub fn insert(
        &mut self,
        table: &str,
        bind: impl FnOnce(&mut Row<'_>) -> rusqlite::Result<()>,
    ) -> rusqlite::Result<()> {
        let Some(index) = self.tables.iter().position(|t| t.name() == table) else {
            return Err(rusqlite::Error::InvalidParameterName(format!("no table `{table}` in this sink")));
        };
        self.insert_at(index, bind)
    }

    /// Inserts into the sink's `index`th table.
    fn insert_at(
        &mut self,
        index: usize,
        bind: impl FnOnce(&mut Row<'_>) -> rusqlite::Result<()>,
    ) -> rusqlite::Result<()> {
        let statement = &mut self.statements[index];
        let mut row = Row::new(statement);
        bind(&mut row)?;
        let width = self.tables[index].width();
        if row.bound() != width {
            return Err(rusqlite::Error::InvalidParameterCount(row.bound(), width));
        }
        statement.raw_execute()?;
        self.inserted += 1;
        Ok(())
    }

    /// Rows inserted so far in this transaction.
    pub(crate) fn inserted(&self) -> u64 {
        self.inserted
    }
}

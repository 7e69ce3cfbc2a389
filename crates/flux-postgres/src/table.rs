//! The table a sink writes: its name and columns, checked once, and the
//! SQL made from them.

use core::fmt;
use std::error::Error;

use flux_sql::{BadName, identifier};

/// A table: its name and its columns with their SQL types, in the order a
/// record's values are pushed.
///
/// Names are checked when they are given: a letter or `_` first, then
/// letters, digits or `_` (so they never need quoting and never carry SQL
/// in; PostgreSQL folds them to lower case, in every statement alike).
/// Types are PostgreSQL's (`BIGINT`, `INTEGER`, `TEXT`, `DOUBLE PRECISION`,
/// `BYTEA`, with any constraint such as `PRIMARY KEY` or `NOT NULL`); they
/// are used only to create the table: what a row may hold is read from
/// the server when the sink connects.
///
/// # Examples
///
/// ```
/// use flux_postgres::Table;
///
/// let orders = Table::new("orders")?.column("id", "BIGINT PRIMARY KEY")?.column("total_cents", "BIGINT NOT NULL")?;
/// assert_eq!(orders.create_sql(), "CREATE TABLE IF NOT EXISTS orders (id BIGINT PRIMARY KEY, total_cents BIGINT NOT NULL)");
/// assert_eq!(orders.insert_sql(), "INSERT INTO orders (id, total_cents) VALUES ($1, $2)");
/// assert_eq!(orders.copy_sql(), "COPY orders (id, total_cents) FROM STDIN (FORMAT binary)");
/// assert!(Table::new("orders; DROP TABLE x").is_err());
/// # Ok::<(), flux_postgres::BadName>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    name: String,
    columns: Vec<(String, String)>,
}

/// An upsert key naming a column the table does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAColumn {
    /// The name given.
    pub name: String,
    /// The table.
    pub table: String,
}

impl fmt::Display for NotAColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a column of `{}`", self.name, self.table)
    }
}

impl Error for NotAColumn {}

impl Table {
    /// A table named `name`, with no columns yet.
    ///
    /// # Errors
    ///
    /// `name` is not a plain identifier.
    pub fn new(name: &str) -> Result<Self, BadName> {
        Ok(Table { name: identifier(name)?, columns: Vec::new() })
    }

    /// Adds a column `name` of SQL type `sql_type`.
    ///
    /// # Errors
    ///
    /// `name` is not a plain identifier.
    pub fn column(mut self, name: &str, sql_type: &str) -> Result<Self, BadName> {
        self.columns.push((identifier(name)?, sql_type.to_owned()));
        Ok(self)
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many values a row pushes.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The columns' names, in order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(name, _)| name.as_str())
    }

    /// `CREATE TABLE IF NOT EXISTS` for it.
    pub fn create_sql(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|(name, kind)| format!("{name} {kind}")).collect();
        format!("CREATE TABLE IF NOT EXISTS {} ({})", self.name, columns.join(", "))
    }

    /// The `INSERT` a row is sent with, one parameter per column.
    pub fn insert_sql(&self) -> String {
        let slots: Vec<String> = (1..=self.columns.len()).map(|i| format!("${i}")).collect();
        format!("INSERT INTO {} ({}) VALUES ({})", self.name, self.names(), slots.join(", "))
    }

    /// The binary `COPY` a batch's rows are streamed with.
    pub fn copy_sql(&self) -> String {
        format!("COPY {} ({}) FROM STDIN (FORMAT binary)", self.name, self.names())
    }

    /// The `INSERT ... ON CONFLICT (key) DO UPDATE` (or `DO NOTHING`) of an
    /// upsert: a row whose key is already in the table replaces the other
    /// columns' values there, or is skipped.
    ///
    /// # Errors
    ///
    /// A name of `key` is not a column of the table (the key must also be
    /// a unique index or the primary key, which the server checks).
    ///
    /// # Examples
    ///
    /// ```
    /// use flux_postgres::{OnConflict, Table};
    ///
    /// let prices = Table::new("prices")?.column("sku", "TEXT PRIMARY KEY")?.column("cents", "BIGINT")?;
    /// assert_eq!(
    ///     prices.upsert_sql(&["sku"], OnConflict::Update)?,
    ///     "INSERT INTO prices (sku, cents) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET cents = EXCLUDED.cents"
    /// );
    /// assert_eq!(prices.upsert_sql(&["id"], OnConflict::Nothing).unwrap_err().to_string(), "`id` is not a column of `prices`");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn upsert_sql(&self, key: &[&str], on_conflict: OnConflict) -> Result<String, NotAColumn> {
        if let Some(stranger) = key.iter().find(|name| !self.column_names().any(|column| column == **name)) {
            return Err(NotAColumn { name: (*stranger).to_owned(), table: self.name.clone() });
        }
        let rest: Vec<String> = self
            .column_names()
            .filter(|column| !key.contains(column))
            .map(|column| format!("{column} = EXCLUDED.{column}"))
            .collect();
        let action = match on_conflict {
            // Every column is in the key: nothing is left to update.
            OnConflict::Update if !rest.is_empty() => format!("DO UPDATE SET {}", rest.join(", ")),
            OnConflict::Update | OnConflict::Nothing => "DO NOTHING".to_owned(),
        };
        Ok(format!("{} ON CONFLICT ({}) {action}", self.insert_sql(), key.join(", ")))
    }

    fn names(&self) -> String {
        self.column_names().collect::<Vec<_>>().join(", ")
    }
}

/// What an upsert does with a row whose key is already in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    /// Replace the row's other columns with the new values.
    Update,
    /// Keep the row there, and skip the new one.
    Nothing,
}

//! The table a sink writes: its name and columns, checked once, and the
//! SQL made from them.

use flux_sql::{BadName, identifier};

/// A table: its name and its columns with their SQL types, in the order a
/// record's values are bound.
///
/// Names are checked when they are given: a letter or `_` first, then
/// letters, digits or `_` (so they never need quoting and never carry SQL
/// in). Types are SQLite's (`INTEGER`, `TEXT`, `REAL`, `BLOB`, with any
/// constraint such as `PRIMARY KEY` or `NOT NULL UNIQUE`).
///
/// # Examples
///
/// ```
/// use flux_sqlite::Table;
///
/// let orders = Table::new("orders")?.column("id", "INTEGER PRIMARY KEY")?.column("total_cents", "INTEGER NOT NULL")?;
/// assert_eq!(orders.create_sql(), "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, total_cents INTEGER NOT NULL)");
/// assert_eq!(orders.insert_sql(), "INSERT INTO orders (id, total_cents) VALUES (?1, ?2)");
/// assert!(Table::new("orders; DROP TABLE x").is_err());
/// # Ok::<(), flux_sqlite::BadName>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    name: String,
    columns: Vec<(String, String)>,
}

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

    /// How many values a row binds.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// `CREATE TABLE IF NOT EXISTS` for it.
    pub fn create_sql(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|(name, kind)| format!("{name} {kind}")).collect();
        format!("CREATE TABLE IF NOT EXISTS {} ({})", self.name, columns.join(", "))
    }

    /// The `INSERT` a row is bound to.
    pub fn insert_sql(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| name.as_str()).collect();
        let slots: Vec<String> = (1..=self.columns.len()).map(|i| format!("?{i}")).collect();
        format!("INSERT INTO {} ({}) VALUES ({})", self.name, names.join(", "), slots.join(", "))
    }
}

//! The demo's tables, for SQLite and PostgreSQL alike, and the rows each
//! loaded record makes: one schema and one mapping, the databases' own
//! types and sinks apart ([`crate::store`]).

use crate::order::{Loaded, Order};

/// What a column holds; each database names the type its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text: SQLite's `TEXT`, PostgreSQL's `TEXT`.
    Text,
    /// A 64-bit integer: SQLite's `INTEGER`, PostgreSQL's `BIGINT`.
    Integer,
}

/// A column: its name, what it holds, and its constraint (`NOT NULL`,
/// `PRIMARY KEY`, or nothing).
pub type Column = (&'static str, Kind, &'static str);

/// The four tables, in the order the summary lists them:
///
/// - `orders`: one row per complete order;
/// - `order_items`: one row per item line of a complete order;
/// - `partial_orders`: one row per order let go before it was whole, with
///   why and what it lacked;
/// - `dead_letters`: one row per line that could not be read, with the
///   file, the byte offset and the line.
pub const SCHEMA: [(&str, &[Column]); 4] = [
    (
        "orders",
        &[
            ("order_id", Kind::Text, "PRIMARY KEY"),
            ("customer", Kind::Text, "NOT NULL"),
            ("items", Kind::Integer, "NOT NULL"),
            ("total_cents", Kind::Integer, "NOT NULL"),
            ("paid_cents", Kind::Integer, "NOT NULL"),
            ("method", Kind::Text, "NOT NULL"),
            ("carrier", Kind::Text, "NOT NULL"),
            ("first_event_ms", Kind::Integer, ""),
            ("last_event_ms", Kind::Integer, ""),
        ],
    ),
    (
        "order_items",
        &[
            ("order_id", Kind::Text, "NOT NULL"),
            ("sku", Kind::Text, "NOT NULL"),
            ("qty", Kind::Integer, "NOT NULL"),
            ("cents", Kind::Integer, "NOT NULL"),
        ],
    ),
    (
        "partial_orders",
        &[
            ("order_id", Kind::Text, "NOT NULL"),
            ("reason", Kind::Text, "NOT NULL"),
            ("missing", Kind::Text, "NOT NULL"),
            ("parts", Kind::Integer, "NOT NULL"),
            ("first_event_ms", Kind::Integer, ""),
        ],
    ),
    (
        "dead_letters",
        &[
            ("file", Kind::Text, "NOT NULL"),
            // Not `offset`: PostgreSQL reserves the word.
            ("byte_offset", Kind::Integer, "NOT NULL"),
            ("line", Kind::Text, "NOT NULL"),
            ("error", Kind::Text, "NOT NULL"),
        ],
    ),
];

/// The tables' names, in [`SCHEMA`]'s order.
pub const TABLES: [&str; 4] = ["orders", "order_items", "partial_orders", "dead_letters"];

/// A column's SQL type and constraint, `sql_type` naming its kind.
pub(crate) fn column_type(kind: Kind, constraint: &str, sql_type: fn(Kind) -> &'static str) -> String {
    format!("{} {constraint}", sql_type(kind)).trim_end().to_owned()
}

/// A value of a row, as both databases take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// Text.
    Text(&'a str),
    /// An integer, or NULL.
    Integer(Option<i64>),
}

/// Makes each loaded record its rows; `file` names the input in the
/// dead-letter rows.
#[derive(Debug)]
pub struct ToTables {
    /// The input file, as the dead-letter rows name it.
    pub file: String,
}

impl ToTables {
    /// Hands `loaded`'s rows to `insert`, each as its table's name and its
    /// values in column order.
    ///
    /// # Errors
    ///
    /// `insert` refused a row; the batch fails whole.
    pub fn each_row<E>(
        &self,
        loaded: &Loaded,
        mut insert: impl FnMut(&'static str, &[Value<'_>]) -> Result<(), E>,
    ) -> Result<(), E> {
        use Value::{Integer, Text};
        match loaded {
            Loaded::Complete(order) => complete(order, insert),
            Loaded::Partial { order, reason } => {
                let parts = order.items.len()
                    + usize::from(order.customer.is_some())
                    + usize::from(order.payment.is_some())
                    + usize::from(order.carrier.is_some());
                let first = order.events.map(|(first, _)| first as i64);
                let missing = order.missing();
                insert("partial_orders", &[Text(&order.id), Text(reason), Text(&missing), int(parts), Integer(first)])
            }
            Loaded::Malformed(bad) => insert(
                "dead_letters",
                &[Text(&self.file), Integer(Some(bad.offset as i64)), Text(&bad.text), Text(bad.error)],
            ),
        }
    }
}

fn int(n: usize) -> Value<'static> {
    Value::Integer(Some(n as i64))
}

fn complete<E>(order: &Order, mut insert: impl FnMut(&'static str, &[Value<'_>]) -> Result<(), E>) -> Result<(), E> {
    use Value::{Integer, Text};
    let (paid, method) = order.payment.clone().unwrap_or_default();
    let (first, last) = (order.events.map(|(first, _)| first as i64), order.events.map(|(_, last)| last as i64));
    insert(
        "orders",
        &[
            Text(&order.id),
            Text(order.customer.as_deref().unwrap_or_default()),
            int(order.items.len()),
            Integer(Some(order.total_cents())),
            Integer(Some(paid)),
            Text(&method),
            Text(order.carrier.as_deref().unwrap_or_default()),
            Integer(first),
            Integer(last),
        ],
    )?;
    for item in &order.items {
        let values = [Text(&order.id), Text(&item.sku), Integer(Some(i64::from(item.qty))), Integer(Some(item.cents))];
        insert("order_items", &values)?;
    }
    Ok(())
}

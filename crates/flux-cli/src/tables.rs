//! The demo's tables, and how each loaded record becomes rows of them.

use flux_sqlite::{Rows, Table};

use crate::order::{Loaded, Order};

/// The four tables, each created when the load opens.
///
/// - `orders`: one row per complete order;
/// - `order_items`: one row per item line of a complete order;
/// - `partial_orders`: one row per order let go before it was whole, with
///   why and what it lacked;
/// - `dead_letters`: one row per line that could not be read, with the
///   file, the byte offset and the line.
///
/// # Panics
///
/// Never: every name is a plain identifier.
pub fn tables() -> Vec<Table> {
    let table = |name: &str, columns: &[(&str, &str)]| {
        columns.iter().try_fold(Table::new(name)?, |table, (column, kind)| table.column(column, kind))
    };
    [
        table(
            "orders",
            &[
                ("order_id", "TEXT PRIMARY KEY"),
                ("customer", "TEXT NOT NULL"),
                ("items", "INTEGER NOT NULL"),
                ("total_cents", "INTEGER NOT NULL"),
                ("paid_cents", "INTEGER NOT NULL"),
                ("method", "TEXT NOT NULL"),
                ("carrier", "TEXT NOT NULL"),
                ("first_event_ms", "INTEGER"),
                ("last_event_ms", "INTEGER"),
            ],
        ),
        table(
            "order_items",
            &[
                ("order_id", "TEXT NOT NULL"),
                ("sku", "TEXT NOT NULL"),
                ("qty", "INTEGER NOT NULL"),
                ("cents", "INTEGER NOT NULL"),
            ],
        ),
        table(
            "partial_orders",
            &[
                ("order_id", "TEXT NOT NULL"),
                ("reason", "TEXT NOT NULL"),
                ("missing", "TEXT NOT NULL"),
                ("parts", "INTEGER NOT NULL"),
                ("first_event_ms", "INTEGER"),
            ],
        ),
        table(
            "dead_letters",
            &[
                ("file", "TEXT NOT NULL"),
                ("offset", "INTEGER NOT NULL"),
                ("line", "TEXT NOT NULL"),
                ("error", "TEXT NOT NULL"),
            ],
        ),
    ]
    .into_iter()
    .collect::<Result<_, _>>()
    .expect("the demo's table names are plain identifiers")
}

/// Writes each loaded record as its rows; `file` names the input in the
/// dead-letter rows.
#[derive(Debug)]
pub struct ToTables {
    /// The input file, as the dead-letter rows name it.
    pub file: String,
}

impl ToTables {
    /// Inserts `loaded`'s rows.
    ///
    /// # Errors
    ///
    /// A row was refused; the batch fails whole.
    pub fn rows(&self, loaded: &Loaded, rows: &mut Rows<'_, '_>) -> rusqlite::Result<()> {
        match loaded {
            Loaded::Complete(order) => complete(order, rows),
            Loaded::Partial { order, reason } => rows.insert("partial_orders", |row| {
                let parts = order.items.len()
                    + usize::from(order.customer.is_some())
                    + usize::from(order.payment.is_some())
                    + usize::from(order.carrier.is_some());
                row.push(&order.id)?.push(reason)?.push(order.missing())?.push(parts as i64)?;
                row.push(order.events.map(|(first, _)| first as i64))?;
                Ok(())
            }),
            Loaded::Malformed(bad) => rows.insert("dead_letters", |row| {
                row.push(&self.file)?.push(bad.offset as i64)?.push(&bad.text)?.push(bad.error)?;
                Ok(())
            }),
        }
    }
}

fn complete(order: &Order, rows: &mut Rows<'_, '_>) -> rusqlite::Result<()> {
    let (paid, method) = order.payment.clone().unwrap_or_default();
    rows.insert("orders", |row| {
        row.push(&order.id)?.push(order.customer.as_deref().unwrap_or_default())?.push(order.items.len() as i64)?;
        row.push(order.total_cents())?.push(paid)?.push(&method)?.push(order.carrier.as_deref().unwrap_or_default())?;
        row.push(order.events.map(|(first, _)| first as i64))?.push(order.events.map(|(_, last)| last as i64))?;
        Ok(())
    })?;
    for item in &order.items {
        rows.insert("order_items", |row| {
            row.push(&order.id)?.push(&item.sku)?.push(item.qty)?.push(item.cents)?;
            Ok(())
        })?;
    }
    Ok(())
}

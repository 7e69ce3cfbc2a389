//! What the PostgreSQL tests share: the server's URL (or a clear skip),
//! a table of the test's own, and queries that check what landed.

#![allow(dead_code, reason = "each test file uses its own part of these helpers")]

use flux_postgres::tokio_postgres::{self, NoTls, SimpleQueryMessage};
use flux_postgres::{Row, Table, ToRow};

/// The environment variable naming the server the tests write to.
pub(crate) const URL_VARIABLE: &str = "FLUX_POSTGRES_URL";

/// The server's URL, or `None` after saying the test is skipped and why.
///
/// The URL puts a schema of the test's own first on the search path, so
/// every table, sequence, function and checkpoint a test makes lands
/// there: two suites run against one server at once (a local run beside
/// CI's) cannot drop or fill each other's tables.
pub(crate) fn server(test: &str) -> Option<Server> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(Server::with_own_schema(url)),
        _ => {
            eprintln!("{test}: skipped: {URL_VARIABLE} is not set (.ci/run installs and starts PostgreSQL)");
            None
        }
    }
}

/// The server as one test sees it: its URL with the test's schema on the
/// search path (reads as that URL). The schema is named after the test's
/// process and its place among the process's tests (nextest runs each
/// test in a process of its own, `cargo test` many on threads of one), made
/// afresh, and dropped with everything in it when the test is over; a
/// failed test leaves it to look at, and whatever test next gets its name
/// starts it afresh.
pub(crate) struct Server {
    root: String,
    schema: String,
    url: String,
}

impl Server {
    fn with_own_schema(root: String) -> Self {
        static TESTS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
        let test = TESTS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        let schema = format!("flux_test_{}_{test}", std::process::id());
        execute(&root, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"));
        let separator = if root.contains('?') { '&' } else { '?' };
        let url = format!("{root}{separator}options=-c%20search_path%3D{schema}");
        assert_eq!(query(&url, "SHOW search_path"), [schema.as_str()], "the URL's options set the search path");
        Server { root, schema, url }
    }
}

impl core::ops::Deref for Server {
    type Target = str;

    fn deref(&self) -> &str {
        &self.url
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            execute(&self.root, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// A table of the test's own, dropped before the test and after it.
pub(crate) struct Scratch {
    pub(crate) url: String,
    pub(crate) name: String,
}

impl Scratch {
    /// Drops `name` if a previous run left it.
    pub(crate) fn new(url: &str, name: &str) -> Self {
        execute(url, &format!("DROP TABLE IF EXISTS {name}"));
        Scratch { url: url.to_owned(), name: name.to_owned() }
    }

    /// Every row, `id`'s order, each as its columns' text joined by `,`
    /// (NULL as an empty field).
    pub(crate) fn rows(&self) -> Vec<String> {
        query(&self.url, &format!("SELECT * FROM {} ORDER BY id", self.name))
    }

    /// The ids in the table, in order.
    pub(crate) fn ids(&self) -> Vec<u64> {
        let ids = query(&self.url, &format!("SELECT id FROM {} ORDER BY id", self.name));
        ids.iter().map(|id| id.parse().expect("an id")).collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            execute(&self.url, &format!("DROP TABLE IF EXISTS {}", self.name));
        }
    }
}

/// Runs `sql` (one statement or several) on a connection of its own.
pub(crate) fn execute(url: &str, sql: &str) {
    let sql = sql.to_owned();
    let _: Vec<String> = on_a_connection(url, move |client| async move {
        client.batch_execute(&sql).await.expect("the statements run");
        Vec::new()
    });
}

/// The rows `sql` returns, each as its columns' text joined by `,`.
pub(crate) fn query(url: &str, sql: &str) -> Vec<String> {
    let sql = sql.to_owned();
    on_a_connection(url, move |client| async move {
        let messages = client.simple_query(&sql).await.expect("the query runs");
        messages
            .iter()
            .filter_map(|message| match message {
                SimpleQueryMessage::Row(row) => {
                    Some((0..row.len()).map(|i| row.get(i).unwrap_or("")).collect::<Vec<_>>().join(","))
                }
                _ => None,
            })
            .collect()
    })
}

/// Runs `job` with a client, on a thread of its own with a runtime of its
/// own: the tests call it from plain threads and from inside tokio alike.
fn on_a_connection<F, Fut>(url: &str, job: F) -> Vec<String>
where
    F: FnOnce(tokio_postgres::Client) -> Fut + Send + 'static,
    Fut: Future<Output = Vec<String>>,
{
    let url = url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, NoTls).await.expect("the test's own connection");
            tokio::spawn(connection);
            job(client).await
        })
    })
    .join()
    .expect("the query's thread")
}

/// `url` with `application_name` set, so a test can find its sink's
/// session in `pg_stat_activity`.
pub(crate) fn named(url: &str, application: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={application}")
}

/// An order: its id, its total in cents, and a note it may lack.
#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) cents: i64,
    pub(crate) note: Option<String>,
}

/// Orders with the given ids: cents three times the id, a note on every
/// seventh.
pub(crate) fn orders(ids: impl Iterator<Item = u64>) -> Vec<Order> {
    ids.map(|id| Order { id, cents: id as i64 * 3, note: (id.is_multiple_of(7)).then(|| format!("note {id}")) })
        .collect()
}

/// How [`Scratch::rows`] prints the order with this id, as [`orders`] made it.
pub(crate) fn row_of(id: u64) -> String {
    let note = if id.is_multiple_of(7) { format!("note {id}") } else { String::new() };
    format!("{id},{},{note}", id * 3)
}

/// The orders table: id, cents, note.
pub(crate) fn orders_table(name: &str) -> Table {
    let table = Table::new(name).and_then(|t| t.column("id", "BIGINT PRIMARY KEY"));
    let table = table.and_then(|t| t.column("cents", "BIGINT NOT NULL"));
    table.and_then(|t| t.column("note", "TEXT")).expect("plain names")
}

/// An order as a row (PostgreSQL has no unsigned integers: the id goes as
/// an `i64`).
pub(crate) fn order_row() -> impl ToRow<Order> {
    |order: &Order, row: &mut Row<'_>| {
        row.push(order.id as i64)?.push(order.cents)?.push(order.note.as_deref())?;
        Ok(())
    }
}

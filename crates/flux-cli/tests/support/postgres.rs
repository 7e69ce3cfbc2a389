//! What the PostgreSQL tests share: the server (or a clear skip), a schema
//! of the test's own, and the demo's tables as plain text.

use flux_postgres::tokio_postgres::{self, NoTls, SimpleQueryMessage};

/// The environment variable naming the server the tests write to.
const URL_VARIABLE: &str = "FLUX_POSTGRES_URL";

/// The server's URL, or `None` after saying the test is skipped and why.
pub(crate) fn server(test: &str) -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("{test}: skipped: {URL_VARIABLE} is not set (.ci/run installs and starts PostgreSQL)");
            None
        }
    }
}

/// A schema of the test's own, made afresh, dropped with everything in it
/// after the test: the demo's tables and its checkpoint land there, so
/// tests running at once do not meet. Its name ends in the test process's
/// id, so neither do two suites run against one server at once (a local
/// run beside CI's).
pub(crate) struct Schema {
    server: String,
    name: String,
    /// The server's URL with the schema first on the search path.
    pub(crate) url: String,
}

impl Schema {
    pub(crate) fn new(server: &str, name: &str) -> Self {
        let name = format!("{name}_{}", std::process::id());
        let name = name.as_str();
        execute(server, &format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"));
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}options=-c%20search_path%3D{name}");
        assert_eq!(query(&url, "SHOW search_path"), [name], "the URL's options set the search path");
        Schema { server: server.to_owned(), name: name.to_owned(), url }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            execute(&self.server, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// Runs `sql` (one statement or several).
pub(crate) fn execute(url: &str, sql: &str) {
    let _ = query(url, sql);
}

/// The rows `sql` returns, each as its columns' text (NULL as `NULL`)
/// joined by ` | `.
pub(crate) fn query(url: &str, sql: &str) -> Vec<String> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, NoTls).await.expect("the test's own connection");
            tokio::spawn(connection);
            let messages = client.simple_query(&sql).await.expect("the query runs");
            messages
                .iter()
                .filter_map(|message| match message {
                    SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).unwrap_or("NULL")).collect::<Vec<_>>().join(" | "))
                    }
                    _ => None,
                })
                .collect()
        })
    })
    .join()
    .expect("the query's thread")
}

/// Every row of the demo's four tables at `url`, in the order they were
/// written (a fresh table's physical order), as [`super::plain`] prints a
/// SQLite load's.
pub(crate) fn plain(url: &str) -> Vec<String> {
    let mut rows = Vec::new();
    for (table, columns) in super::DUMPED {
        let found = query(url, &format!("SELECT {columns} FROM {table} ORDER BY ctid"));
        rows.extend(found.into_iter().map(|row| format!("{table}: {row}")));
    }
    rows
}

/// Records the demo's load at `url` has committed, if it has begun.
pub(crate) fn committed(url: &str) -> Option<u64> {
    let exists = query(url, "SELECT to_regclass('flux_checkpoints') IS NOT NULL");
    if exists.first().map(String::as_str) != Some("t") {
        return None;
    }
    query(url, "SELECT records FROM flux_checkpoints").first().and_then(|records| records.parse().ok())
}

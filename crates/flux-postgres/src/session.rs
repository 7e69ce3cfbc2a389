//! The connection a sink writes through, and the small runtime of its own
//! that drives it.
//!
//! The sink's methods are plain blocking calls, made from the sync
//! engine's thread (no runtime there), from the tokio engine's thread for
//! blocking stages (inside that runtime's `block_on`), or from a tokio
//! worker when the engine closes it. A runtime's `block_on` refuses to run
//! inside another's, so the client's futures run as tasks on the sink's
//! own one-worker runtime, and the caller waits for their result on a
//! channel: the same code, whatever thread the engine calls from.

use core::future::Future;
use core::pin::pin;
use core::time::Duration;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use futures_util::SinkExt;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls, Statement};

use crate::batch::Encoded;

/// The sink's runtime: one worker thread, shut down without waiting when
/// the sink is dropped (from any thread, inside tokio or not).
#[derive(Debug)]
pub(crate) struct Driver {
    runtime: Option<Runtime>,
}

/// The runtime's task ended without an answer (it panicked).
#[derive(Debug)]
pub(crate) struct TaskLost;

impl Driver {
    pub(crate) fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flux-postgres")
            .enable_all()
            .build()?;
        Ok(Driver { runtime: Some(runtime) })
    }

    /// Runs `work` on the runtime and waits for its result.
    pub(crate) fn run<F>(&self, work: F) -> Result<F::Output, TaskLost>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (done, answer) = sync_channel(1);
        let runtime = self.runtime.as_ref().ok_or(TaskLost)?;
        runtime.spawn(async move {
            let _ = done.send(work.await);
        });
        answer.recv().map_err(|_| TaskLost)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// An open connection with the sink's statements prepared on it.
#[derive(Debug)]
pub(crate) struct Link {
    client: Arc<Client>,
    /// The `INSERT` (or upsert) a row is sent with; its parameters' types
    /// are the columns' types, what a row's values are encoded for.
    insert: Statement,
    /// The binary `COPY`, when the sink writes that way.
    copy: Option<Statement>,
    /// The task reading and writing the socket: it ends once the client
    /// is dropped and the server has been told goodbye.
    connection: JoinHandle<()>,
}

/// What a sink connects with.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) config: Config,
    /// `CREATE TABLE IF NOT EXISTS`, when asked for.
    pub(crate) create: Option<String>,
    pub(crate) insert: String,
    pub(crate) copy: Option<String>,
}

impl Link {
    /// Connects, creates the table if asked, prepares the statements.
    pub(crate) async fn open(plan: Plan) -> Result<Link, tokio_postgres::Error> {
        let (client, connection) = plan.config.connect(NoTls).await?;
        let connection = tokio::spawn(async move {
            // A lost connection shows as `closed` on the client's next call.
            let _ = connection.await;
        });
        if let Some(create) = &plan.create {
            client.batch_execute(create).await?;
        }
        let insert = client.prepare(&plan.insert).await?;
        let copy = match &plan.copy {
            Some(sql) => Some(client.prepare(sql).await?),
            None => None,
        };
        Ok(Link { client: Arc::new(client), insert, copy, connection })
    }

    /// The columns' types, in order.
    pub(crate) fn types(&self) -> &[Type] {
        self.insert.params()
    }

    /// Whether the server has gone (or the connection broke).
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// One transaction writing `batch`: committed whole, or rolled back.
    pub(crate) fn write(&self, batch: Encoded) -> impl Future<Output = Result<(), tokio_postgres::Error>> + use<> {
        let (client, insert, copy) = (self.client.clone(), self.insert.clone(), self.copy.clone());
        async move {
            client.batch_execute("BEGIN").await?;
            let written = match &copy {
                Some(copy) => copy_rows(&client, copy, &batch).await,
                None => insert_rows(&client, &insert, &batch).await,
            };
            match written {
                Ok(()) => client.batch_execute("COMMIT").await,
                Err(error) => {
                    // If the connection is gone, so is the transaction.
                    let _ = client.batch_execute("ROLLBACK").await;
                    Err(error)
                }
            }
        }
    }

    /// Says goodbye to the server and waits (a little) for the socket to
    /// close, so the server does not log a client that vanished.
    pub(crate) fn close(self) -> impl Future<Output = ()> + use<> {
        let Link { client, insert, copy, connection } = self;
        drop((client, insert, copy));
        async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
        }
    }
}

/// The batch's binary COPY stream (the rows were encoded for it), in
/// messages of [`COPY_CHUNK`] bytes: the server reads a message whole
/// before it parses it, so smaller ones let it parse while the rest is on
/// its way.
async fn copy_rows(client: &Client, copy: &Statement, batch: &Encoded) -> Result<(), tokio_postgres::Error> {
    let mut sink = pin!(client.copy_in(copy).await?);
    let stream = batch.stream();
    let mut start = 0;
    while start < stream.len() {
        let end = (start + COPY_CHUNK).min(stream.len());
        sink.feed(stream.slice(start..end)).await?;
        start = end;
    }
    sink.as_mut().finish().await?;
    Ok(())
}

/// The size of a COPY message (a slice of the batch's buffer, not a copy).
const COPY_CHUNK: usize = 64 * 1024;

/// The batch as one prepared statement per row, sent without waiting for
/// each answer (the client pipelines them), answered in order: the first
/// error is the one that aborted the transaction.
async fn insert_rows(client: &Client, insert: &Statement, batch: &Encoded) -> Result<(), tokio_postgres::Error> {
    let rows = batch.parameters().map(|values| client.execute_raw(insert, values));
    futures_util::future::try_join_all(rows).await?;
    Ok(())
}

/// What to do after a batch failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Connect again, then try again: the connection was lost.
    Reconnect,
    /// Try again on the same connection: the server gave up on the
    /// transaction to let another go first (a serialization failure or a
    /// deadlock), and it may succeed now.
    TryAgain,
    /// Trying again would fail the same way (a constraint, a bad value).
    GiveUp,
}

/// What to do after `error`, the connection being `closed` or not.
pub(crate) fn next(error: &tokio_postgres::Error, closed: bool) -> Next {
    match error.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            Next::TryAgain
        }
        // Class 08 is a connection exception; 57P01..57P03 an administrator
        // or a crash ending the session, or a server not yet accepting.
        Some(code) if code.code().starts_with("08") || code.code().starts_with("57P") => Next::Reconnect,
        Some(_) => Next::GiveUp,
        // No answer from the server: the socket, not the batch, failed.
        None if closed || error.is_closed() || io_error(error) => Next::Reconnect,
        None => Next::GiveUp,
    }
}

fn io_error(error: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// One line for `error`: the server's message with its SQLSTATE and
/// detail, or the client's error and its causes.
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let detail = db.detail().map(|detail| format!(": {detail}")).unwrap_or_default();
        return format!("{} (SQLSTATE {}){detail}", db.message(), db.code().code());
    }
    chain(error)
}

/// `error` and its causes, joined by `: `.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

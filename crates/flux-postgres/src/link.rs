//! The connection a sink writes through, with its statements prepared,
//! and the transaction that writes a batch.

use core::future::Future;
use core::pin::pin;
use core::time::Duration;
use std::sync::Arc;

use futures_util::SinkExt;
use tokio::task::JoinHandle;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls, Statement};

use crate::batch::Encoded;

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
pub(crate) struct Setup {
    pub(crate) config: Config,
    /// `CREATE TABLE IF NOT EXISTS`, when asked for.
    pub(crate) create: Option<String>,
    pub(crate) insert: String,
    pub(crate) copy: Option<String>,
}

impl Link {
    /// Connects, creates the table if asked, prepares the statements.
    pub(crate) async fn open(setup: Setup) -> Result<Link, tokio_postgres::Error> {
        let (client, connection) = setup.config.connect(NoTls).await?;
        let connection = tokio::spawn(async move {
            // A lost connection shows as `closed` on the client's next call.
            let _ = connection.await;
        });
        if let Some(create) = &setup.create {
            client.batch_execute(create).await?;
        }
        let insert = client.prepare(&setup.insert).await?;
        let copy = match &setup.copy {
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

//! The connection a sink writes through, with its statements prepared,
//! and the transaction that writes a batch: every table's rows, then the
//! load's checkpoint, committed together.

use core::future::Future;
use core::pin::pin;
use core::time::Duration;
use std::sync::Arc;

use futures_util::SinkExt;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls, Statement};

use crate::batch::Encoded;
use crate::checkpoint::{self, Checkpoint, Mark};

/// An open connection with the sink's statements prepared on it.
#[derive(Debug)]
pub(crate) struct Link {
    client: Arc<Client>,
    /// Per table, the `INSERT` (or upsert) a row is sent with; its
    /// parameters' types are the columns' types, what a row's values are
    /// encoded for.
    inserts: Vec<Statement>,
    /// Per table, the binary `COPY`, when the sink writes that way.
    copies: Option<Vec<Statement>>,
    /// The checkpoint's upsert, for a restartable load.
    checkpoint: Option<Statement>,
    /// The task reading and writing the socket: it ends once the client
    /// is dropped and the server has been told goodbye.
    connection: JoinHandle<()>,
}

/// What a sink connects with.
#[derive(Clone, Debug)]
pub(crate) struct Setup {
    pub(crate) config: Config,
    /// `CREATE TABLE IF NOT EXISTS` per table, when asked for.
    pub(crate) creates: Vec<String>,
    /// Per table, in the sink's order.
    pub(crate) inserts: Vec<String>,
    pub(crate) copies: Option<Vec<String>>,
    /// Whether the load keeps a checkpoint (its table is created if need be).
    pub(crate) checkpoints: bool,
}

impl Link {
    /// Connects, creates the table if asked, prepares the statements.
    pub(crate) async fn open(setup: Setup) -> Result<Link, tokio_postgres::Error> {
        let (client, connection) = setup.config.connect(NoTls).await?;
        let connection = tokio::spawn(async move {
            // A lost connection shows as `closed` on the client's next call.
            let _ = connection.await;
        });
        for create in &setup.creates {
            created(client.batch_execute(create).await)?;
        }
        let mut inserts = Vec::with_capacity(setup.inserts.len());
        for sql in &setup.inserts {
            inserts.push(client.prepare(sql).await?);
        }
        let copies = match &setup.copies {
            Some(copies) => {
                let mut prepared = Vec::with_capacity(copies.len());
                for sql in copies {
                    prepared.push(client.prepare(sql).await?);
                }
                Some(prepared)
            }
            None => None,
        };
        let checkpoint = if setup.checkpoints {
            created(client.batch_execute(checkpoint::CREATE).await)?;
            Some(client.prepare(checkpoint::UPSERT).await?)
        } else {
            None
        };
        Ok(Link { client: Arc::new(client), inserts, copies, checkpoint, connection })
    }

    /// The `table`th table's columns' types, in order.
    pub(crate) fn types(&self, table: usize) -> &[Type] {
        self.inserts[table].params()
    }

    /// The checkpoint committed under `name`, if any.
    pub(crate) fn checkpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Checkpoint>, tokio_postgres::Error>> + use<> {
        let (client, name) = (self.client.clone(), name.to_owned());
        async move { checkpoint::read_settled(&client, &name).await }
    }

    /// Whether the server has gone (or the connection broke).
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// One transaction writing `batches` (one per table, in the sink's
    /// order; a table with no rows is not written) and then `mark`, the
    /// load's checkpoint: committed whole, or rolled back.
    pub(crate) fn write(
        &self,
        batches: Vec<Encoded>,
        mark: Option<Mark>,
    ) -> impl Future<Output = Result<(), tokio_postgres::Error>> + use<> {
        let (client, inserts, copies) = (self.client.clone(), self.inserts.clone(), self.copies.clone());
        let checkpoint = self.checkpoint.clone();
        async move {
            client.batch_execute("BEGIN").await?;
            let written = async {
                for (table, batch) in batches.iter().enumerate().filter(|(_, batch)| batch.rows() > 0) {
                    match &copies {
                        Some(copies) => copy_rows(&client, &copies[table], batch).await?,
                        None => insert_rows(&client, &inserts[table], batch).await?,
                    }
                }
                if let (Some(statement), Some(mark)) = (&checkpoint, &mark) {
                    let records = i64::try_from(mark.records).unwrap_or(i64::MAX);
                    let sequence = mark.sequence.map(|sequence| i64::try_from(sequence).unwrap_or(i64::MAX));
                    client.execute(statement, &[&mark.name, &records, &sequence]).await?;
                }
                Ok(())
            };
            match written.await {
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
        let Link { client, inserts, copies, checkpoint, connection } = self;
        drop((client, inserts, copies, checkpoint));
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

/// A `CREATE TABLE IF NOT EXISTS` that lost a race with another session
/// creating the same table: the table is there, which is what was asked.
fn created(result: Result<(), tokio_postgres::Error>) -> Result<(), tokio_postgres::Error> {
    match result {
        Err(error)
            if error.code().is_some_and(|c| *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::DUPLICATE_TABLE) =>
        {
            Ok(())
        }
        other => other,
    }
}

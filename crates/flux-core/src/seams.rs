//! Extension points connectors implement: a registry descriptor (not yet
//! acted on), and the checkpoint seams of restartable loads
//! (`flux-memory`'s `FramedSource` is a [`RecoverableSource`],
//! `flux-sqlite`'s `SqliteSink` a [`TransactionalSink`]).

use bytes::Bytes;

use crate::{Sink, Source};

/// Names a connector by URI scheme for a future connector registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectorDescriptor {
    /// The URI scheme the connector handles (`file`, `sqlite`, ...).
    pub scheme: &'static str,
    /// Whether the connector reads, writes, or both.
    pub direction: ConnectorDirection,
}

/// What a connector does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorDirection {
    /// A source.
    Source,
    /// A sink.
    Sink,
    /// Both.
    Both,
}

/// An opaque position in a source from which it can resume.
///
/// Made by [`RecoverableSource::checkpoint`] and read back by the same
/// source's [`restore`](RecoverableSource::restore); a
/// [`TransactionalSink`] ties its commits to one. Only `sequence` has a
/// meaning outside the source; `state` is the source's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointToken {
    /// The last sequence number covered.
    pub sequence: u64,
    /// Source-specific resume data (a byte offset, a broker offset).
    pub state: Bytes,
}

/// A source that can say where it is and resume from there.
///
/// For restarting a failed run where it left off: the application
/// restores a new source from the token a sink committed before the run
/// (`flux-memory`'s `FramedSource` passes over the covered frames).
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::{CheckpointToken, Context, Envelope, Instant, Pull, RecoverableSource, Source, SourceError};
/// use flux_test::Diverted;
///
/// /// Lines of a text, resumable at a line.
/// struct Lines {
///     lines: Vec<&'static str>,
///     next: usize,
/// }
///
/// impl Source for Lines {
///     type Item = &'static str;
///     fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<&'static str>, SourceError> {
///         let Some(line) = self.lines.get(self.next) else { return Ok(Pull::End) };
///         self.next += 1;
///         Ok(Pull::Item(Envelope::new(*line).with_sequence(self.next as u64 - 1)))
///     }
/// }
///
/// impl RecoverableSource for Lines {
///     fn checkpoint(&self) -> CheckpointToken {
///         let next = self.next as u64;
///         CheckpointToken { sequence: next.saturating_sub(1), state: Bytes::from(next.to_le_bytes().to_vec()) }
///     }
///     fn restore(&mut self, token: &CheckpointToken) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///         let next = u64::from_le_bytes(token.state[..].try_into()?);
///         self.next = usize::try_from(next)?;
///         Ok(())
///     }
/// }
///
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// let mut first = Lines { lines: vec!["a", "b", "c"], next: 0 };
/// first.pull(&mut cx)?;
/// let token = first.checkpoint();
/// assert_eq!(token.sequence, 0, "line 0 is covered");
///
/// let mut resumed = Lines { lines: vec!["a", "b", "c"], next: 0 };
/// resumed.restore(&token).unwrap();
/// let Pull::Item(next) = resumed.pull(&mut cx)? else { panic!("line 1 is next") };
/// assert_eq!((*next.payload(), next.meta().sequence), ("b", 1));
/// # Ok::<(), SourceError>(())
/// ```
pub trait RecoverableSource: Source {
    /// Where the source is now: every envelope up to the token's
    /// `sequence` has been pulled.
    fn checkpoint(&self) -> CheckpointToken;

    /// Continues from `token`: the next envelope pulled is the first one
    /// after the checkpoint.
    ///
    /// # Errors
    ///
    /// The token is not one this source can resume from.
    fn restore(&mut self, token: &CheckpointToken) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// A sink that writes in transactions tied to checkpoints (for exactly-once delivery).
///
/// Paired with a [`RecoverableSource`]: once the writes up to a checkpoint
/// are committed, a restarted run resumes the source from that checkpoint,
/// and nothing is written twice. `flux-sqlite`'s `SqliteSink` is one: it
/// also commits its own checkpoints, with every batch.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::{CheckpointToken, Context, Envelope, Instant, Sink, TransactionalSink, WriteError};
/// use flux_test::Diverted;
///
/// #[derive(Default)]
/// struct Journal {
///     pending: Vec<u64>,
///     durable: Vec<u64>,
/// }
///
/// impl Sink<u64> for Journal {
///     fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
///         self.pending.push(item.into_payload());
///         Ok(())
///     }
/// }
///
/// impl TransactionalSink<u64> for Journal {
///     fn commit(&mut self, _token: &CheckpointToken) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///         self.durable.append(&mut self.pending);
///         Ok(())
///     }
///     fn abort(&mut self) {
///         self.pending.clear();
///     }
/// }
///
/// let mut sink = Journal::default();
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// sink.write(Envelope::new(10), &mut cx)?;
/// sink.commit(&CheckpointToken { sequence: 0, state: Bytes::new() }).unwrap();
/// sink.write(Envelope::new(20), &mut cx)?;
/// sink.abort();
/// assert_eq!(sink.durable, [10]);
/// assert!(sink.pending.is_empty());
/// # Ok::<(), WriteError>(())
/// ```
pub trait TransactionalSink<T>: Sink<T> {
    /// Makes everything written since the last commit durable, up to `token`.
    ///
    /// # Errors
    ///
    /// The commit failed; the writes since the last commit are not durable.
    fn commit(&mut self, token: &CheckpointToken) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;

    /// Discards everything written since the last commit, as for a run
    /// that failed before its next checkpoint.
    fn abort(&mut self);
}

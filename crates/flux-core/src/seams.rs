//! Prepared extension points for features planned beyond this release.
//!
//! They are kernel types so that connectors and engines written now can
//! carry them; nothing in Flux acts on them yet.

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointToken {
    /// The last sequence number covered.
    pub sequence: u64,
    /// Source-specific resume data (a byte offset, a broker offset).
    pub state: Bytes,
}

/// A source that can say where it is and resume from there.
pub trait RecoverableSource: Source {
    /// Where the source is now.
    fn checkpoint(&self) -> CheckpointToken;

    /// Continues from `token`.
    ///
    /// # Errors
    ///
    /// The token is not one this source can resume from.
    fn restore(&mut self, token: &CheckpointToken) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// A sink that writes in transactions tied to checkpoints (for exactly-once delivery).
pub trait TransactionalSink<T>: Sink<T> {
    /// Makes everything written since the last commit durable, up to `token`.
    ///
    /// # Errors
    ///
    /// The commit failed; the writes since the last commit are not durable.
    fn commit(&mut self, token: &CheckpointToken) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;

    /// Discards everything written since the last commit.
    fn abort(&mut self);
}

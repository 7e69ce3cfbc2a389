//! What a frame sink says when its writer fails.

use core::fmt;
use std::error::Error;
use std::io;
use std::sync::Arc;

use flux_core::{Meta, Position, Undelivered};

/// What happened to a frame a sink had accepted and could not write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Loss {
    /// None of its bytes reached the writer.
    NotWritten,
    /// A short write put part of it out, and the rest could not follow:
    /// the output ends inside this record.
    Torn {
        /// Bytes of the frame (delimiter included) that are in the output.
        written: usize,
        /// The frame's length, delimiter included.
        of: usize,
    },
    /// Its bytes reached the writer, but the writer could not flush them,
    /// so whether they reached their destination is unknown.
    NotFlushed,
}

/// The cause of a frame sink's dead letter: which frame, where in the
/// output, and what happened to it. [`Error::source`] is the writer's error.
///
/// # Examples
///
/// ```
/// use std::io::ErrorKind;
///
/// use bytes::Bytes;
/// use flux_core::{Context, Envelope, Instant, Sink, Undelivered};
/// use flux_test::Diverted;
/// use flux_memory::{FrameLost, Loss, WriteSink};
/// use flux_test::{Fault, FaultyWriter};
///
/// // The disk fills at byte 6: "abcd\n" gets out, "efgh\n" is cut after one byte.
/// let disk = FaultyWriter::new().at(6, Fault::Persistent(ErrorKind::StorageFull));
/// let mut sink = WriteSink::new(disk.clone());
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// for (sequence, frame) in [(0, "abcd"), (1, "efgh"), (2, "ijkl")] {
///     let envelope = Envelope::new(Bytes::from_static(frame.as_bytes())).with_sequence(sequence);
///     sink.write(envelope, &mut cx).unwrap();
/// }
/// Sink::<Bytes>::close(&mut sink, &mut cx).unwrap();
/// let mut lost: Vec<Undelivered> = Vec::new();
/// Sink::<Bytes>::take_undelivered(&mut sink, &mut lost);
///
/// assert_eq!(disk.written(), b"abcd\ne");
/// let causes: Vec<String> = lost.iter().map(|u| u.cause.to_string()).collect();
/// assert_eq!(causes, [
///     "frame at output byte 10 was not written",
///     "frame at output byte 5 was cut short: 1 of 5 bytes written",
/// ]);
/// assert_eq!((lost[0].meta.sequence, lost[1].meta.sequence), (2, 1));
/// let torn = lost[1].cause.downcast_ref::<FrameLost>().unwrap();
/// assert_eq!(torn.kind(), Loss::Torn { written: 1, of: 5 });
/// assert!(Sink::<Bytes>::take_stop(&mut sink).is_some(), "a full disk stops the run");
/// ```
#[derive(Debug)]
pub struct FrameLost {
    pub(super) offset: u64,
    pub(super) kind: Loss,
    pub(super) cause: Arc<io::Error>,
}

impl FrameLost {
    /// Where the frame starts (or would have started) in the output.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// What happened to it.
    pub fn kind(&self) -> Loss {
        self.kind
    }

    /// The envelope described by `meta`, handed back with this cause.
    pub(super) fn into_undelivered(self, meta: Meta) -> Undelivered {
        Undelivered { meta, position: Position::ByteOffset(self.offset), cause: Box::new(self) }
    }
}

impl fmt::Display for FrameLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = self.offset;
        match self.kind {
            Loss::NotWritten => write!(f, "frame at output byte {offset} was not written"),
            Loss::Torn { written, of } => {
                write!(f, "frame at output byte {offset} was cut short: {written} of {of} bytes written")
            }
            Loss::NotFlushed => {
                write!(f, "frame at output byte {offset} reached the writer, which could not flush it")
            }
        }
    }
}

impl Error for FrameLost {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}

/// A frame sink's writer failed and the sink stopped: the reason the run
/// stops, and the cause of each frame refused afterwards.
#[derive(Debug, Clone)]
pub struct WriterFailed {
    pub(super) offset: u64,
    pub(super) cause: Arc<io::Error>,
}

impl WriterFailed {
    /// Bytes of output written when the writer failed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The writer's error.
    pub fn kind(&self) -> io::ErrorKind {
        self.cause.kind()
    }
}

impl fmt::Display for WriterFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the writer failed after {} bytes of output; the sink stopped", self.offset)
    }
}

impl Error for WriterFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}

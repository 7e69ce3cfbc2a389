//! A framed source as a [`RecoverableSource`]: it says where it is, and a
//! new one over the same input goes on from there.

use std::io::Read;

use bytes::Bytes;
use flux_core::{CheckpointToken, RecoverableSource};

use crate::{FramedSource, Framer, Scanned};

/// Why a framed source could not resume from a checkpoint.
#[derive(Debug)]
pub enum ResumeError {
    /// The input ended before the checkpoint's position: it is not the
    /// input the checkpoint was taken from.
    InputTooShort {
        /// Frames the checkpoint covers.
        wanted: u64,
        /// Frames the input has.
        found: u64,
    },
    /// The input could not be read while passing over the covered frames.
    Read(crate::ReadError),
    /// The source has already handed out frames: only a new source resumes.
    AlreadyStarted,
}

impl core::fmt::Display for ResumeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ResumeError::InputTooShort { wanted, found } => {
                write!(f, "the checkpoint covers {wanted} frames but the input has only {found}")
            }
            ResumeError::Read(error) => write!(f, "cannot pass over the covered frames: {error}"),
            ResumeError::AlreadyStarted => f.write_str("only a source that has not started can resume"),
        }
    }
}

impl std::error::Error for ResumeError {}

/// What a framed source's token holds besides the sequence: the next
/// sequence and the byte offset where it starts, big-endian.
fn state(next_sequence: u64, offset: u64) -> Bytes {
    let mut state = Vec::with_capacity(16);
    state.extend_from_slice(&next_sequence.to_be_bytes());
    state.extend_from_slice(&offset.to_be_bytes());
    Bytes::from(state)
}

impl<R: Read + Send, F: Framer> FramedSource<R, F> {
    /// The byte offset where the next frame starts (after the last one
    /// handed out), as a checkpoint records it.
    pub fn offset(&self) -> u64 {
        self.reader.offset()
    }

    /// Frames (and bad frames) handed out so far.
    pub fn frames_handed_out(&self) -> u64 {
        self.next_sequence
    }
}

/// A framed source resumes by framing the input again up to the
/// checkpoint, handing nothing out: any input can (a pipe, a decompressed
/// file), and framing runs at memory speed, so passing over a covered
/// gigabyte costs a fraction of a second. The next envelope has the
/// sequence after the checkpoint's, as in the run that took it.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::{CheckpointToken, Pipeline, RecoverableSource};
/// use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool};
/// use flux_test::VecSink;
/// # use flux_core::Runnable;
///
/// let input = &b"a\nb\nc\nd\n"[..];
/// let pool = SlabPool::new("input", PoolConfig::default().slab_size(64));
/// let mut source = FramedSource::new(input, pool, NewlineDelimited::new(16))?;
/// // A sink committed everything up to sequence 1 ("b").
/// source.restore(&CheckpointToken { sequence: 1, state: Bytes::new() })?;
/// assert_eq!(source.offset(), 4);
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(source).sink(out.clone());
/// # let plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe())?;
/// # let _report = flux_engine_sync::SyncEngine::new().run(&plan, pipeline)?;
/// let lines: Vec<_> = out.take().into_iter().map(|line| (line.meta().sequence, line.into_payload())).collect();
/// assert_eq!(lines, [(2, Bytes::from("c")), (3, Bytes::from("d"))]);
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
impl<R: Read + Send, F: Framer> RecoverableSource for FramedSource<R, F> {
    /// The last sequence handed out, with the next sequence and its byte
    /// offset as the state. Before the first frame, the sequence is 0 and
    /// the state says the next is 0 too.
    fn checkpoint(&self) -> CheckpointToken {
        CheckpointToken {
            sequence: self.next_sequence.saturating_sub(1),
            state: state(self.next_sequence, self.offset()),
        }
    }

    /// Passes over every frame up to the token's position: the next
    /// sequence in its state if it has one (a token this source made),
    /// else the one after its `sequence` (a token a sink committed).
    fn restore(&mut self, token: &CheckpointToken) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.next_sequence > 0 {
            return Err(Box::new(ResumeError::AlreadyStarted));
        }
        let next = match token.state.get(..8) {
            Some(bytes) => u64::from_be_bytes(bytes.try_into().expect("eight bytes")),
            None => token.sequence + 1,
        };
        while self.next_sequence < next {
            let wanted = usize::try_from(next - self.next_sequence).unwrap_or(usize::MAX);
            let mut framed = 0u64;
            let scanned = self.reader.scan(wanted, |_| framed += 1).map_err(ResumeError::Read)?;
            self.next_sequence += framed;
            match scanned {
                Scanned::Bad(_) => self.next_sequence += 1,
                Scanned::Limit | Scanned::Refill | Scanned::WouldBlock => {}
                Scanned::End => {
                    let found = self.next_sequence;
                    return Err(Box::new(ResumeError::InputTooShort { wanted: next, found }));
                }
            }
        }
        Ok(())
    }
}

//! A [`Stage`] that normalises text into buffers rented from a pool.

use bytes::Bytes;
use flux_core::{BufferPool, Emit, Envelope, Position, Stage};

use crate::{PooledBuf, VecPool};

/// Writes the ASCII-lowercase form of each input into a buffer rented from
/// a [`VecPool`], and emits that buffer.
///
/// The buffer goes back to the pool when whoever holds it last drops it
/// (usually a later stage or the sink). When the pool is exhausted the
/// input is sent to the dead-letter output at its sequence, with the
/// pool's [`PoolExhausted`](flux_core::PoolExhausted) as the cause, and
/// the run goes on.
///
/// # Examples
///
/// ```
/// use flux_core::Pipeline;
/// use flux_steps::Steps;
/// use flux_test::VecSink;
/// use flux_user_extension::{LineSource, Lowercase, VecPool};
///
/// let pool = VecPool::new("lowercase", 8, 64);
/// let lengths = VecSink::new();
/// let pipeline = Pipeline::from_source(LineSource::new("Hello\nWORLD\n", 80))
///     .stage(Lowercase::new(pool.clone()))
///     .map(|buf| buf.len()) // the buffer goes back to the pool here
///     .sink(lengths.clone());
/// # let _ = pipeline;
/// ```
#[derive(Clone, Debug)]
pub struct Lowercase {
    pool: VecPool,
}

impl Lowercase {
    /// A stage renting from `pool`.
    pub fn new(pool: VecPool) -> Self {
        Lowercase { pool }
    }
}

impl Stage<Bytes> for Lowercase {
    type Out = PooledBuf;

    fn process(&mut self, input: Envelope<Bytes>, out: &mut impl Emit<PooledBuf>) {
        let (text, meta, cost) = input.into_parts();
        match self.pool.rent() {
            Ok(mut buf) => {
                buf.extend(text.iter().map(u8::to_ascii_lowercase));
                out.emit(Envelope::from_parts(buf, meta, cost));
            }
            Err(exhausted) => {
                let position = Position::Sequence(meta.sequence);
                out.dead_letter(meta, position, Box::new(exhausted));
            }
        }
    }
}

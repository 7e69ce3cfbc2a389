//! Filling a slab from the input, and what the input's failures do to it.

use std::io::{self, Read};

use bytes::Bytes;
use flux_core::BufferPool;

use super::buffer::Buffer;
use super::{Filling, FrameReader, ReadError, ReadMode};
use crate::Framer;

/// What a refill left the reader with.
pub(super) enum Refilled {
    /// A new window to frame (it may end at end of input).
    Window,
    /// The input would block before anything framable arrived; the slab
    /// being filled waits in the reader for the next call.
    WouldBlock,
}

impl<R: Read, F: Framer> FrameReader<R, F> {
    /// Moves the unconsumed tail to the front of a slab (or, when it fills
    /// a whole slab, of a grown buffer), reads into the rest of it, and
    /// makes it the window.
    ///
    /// An error met after the slab got bytes of its own is deferred, so the
    /// frames completed before it are delivered first; `WouldBlock` before
    /// anything framable arrived parks the slab for the next call.
    pub(super) fn refill(&mut self) -> Result<Refilled, ReadError> {
        let mut filling = match self.filling.take() {
            Some(filling) => filling,
            None => self.start_buffer()?,
        };
        while !filling.buffer.is_full() {
            match filling.buffer.fill_from(&mut self.input) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => {
                    self.stats.bytes_read += n as u64;
                    if self.mode == ReadMode::Eager && self.may_frame(&mut filling) {
                        break;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if filling.buffer.len() > filling.carried && self.may_frame(&mut filling) {
                        break;
                    }
                    self.filling = Some(filling);
                    self.publish();
                    return Ok(Refilled::WouldBlock);
                }
                Err(source) if filling.buffer.len() > filling.carried => {
                    self.deferred = Some(source);
                    break;
                }
                Err(source) => {
                    self.publish();
                    return Err(ReadError::Io { offset: filling.offset, source });
                }
            }
        }
        self.window_grown = matches!(filling.buffer, Buffer::Grown(_));
        if !self.window_grown {
            self.stats.slabs += 1;
        }
        self.window = filling.buffer.freeze();
        self.window_offset = filling.offset;
        self.framer.new_window();
        self.publish();
        Ok(Refilled::Window)
    }

    /// Rents a slab and copies the unconsumed tail of the window to its
    /// front (a grown buffer when the tail would fill the slab); or raises
    /// the error deferred by the last refill, at the first byte not
    /// delivered.
    fn start_buffer(&mut self) -> Result<Filling, ReadError> {
        let offset = self.window_offset + self.pos as u64;
        if let Some(source) = self.deferred.take() {
            self.publish();
            return Err(ReadError::Io { offset, source });
        }
        if self.window.len() - self.pos >= self.pool.slab_size() {
            return self.start_grown(offset);
        }
        self.carry.clear();
        self.carry.extend_from_slice(&self.window[self.pos..]);
        // Let go of the old slab before renting: it may be the pool's last.
        self.window = Bytes::new();
        self.pos = 0;
        let mut slab = self.pool.rent().map_err(|source| {
            self.publish();
            ReadError::Exhausted { offset, source }
        })?;
        if !self.carry.is_empty() {
            slab.extend_from_slice(&self.carry);
            self.stats.spanning_copies += 1;
            self.stats.copied_bytes += self.carry.len() as u64;
        }
        let carried = self.carry.len();
        Ok(Filling { buffer: Buffer::Slab(slab), offset, carried, checked: carried })
    }

    /// A partial frame that fills a whole slab goes on in a grown buffer
    /// outside the pool: the reader's spare one when it is large enough.
    ///
    /// The buffer doubles (by a slab at least) each time the frame fills
    /// it, so a long frame is copied and scanned a few times per byte, not
    /// once per slab; and it grows no larger than the framer needs to see a
    /// frame pass its limit, so memory is bounded by the limit.
    fn start_grown(&mut self, offset: u64) -> Result<Filling, ReadError> {
        let rest = &self.window[self.pos..];
        let carried = rest.len();
        let capacity = grown_capacity(carried, self.pool.slab_size(), self.framer.max_carry());
        let mut grown = self.spare.take(capacity).map_err(|source| {
            self.publish();
            ReadError::Io { offset, source }
        })?;
        grown.extend_from_slice(rest);
        // A frame already in a grown buffer, with nothing consumed before
        // it, is the same frame growing; anything else outgrew a slab now.
        if !(self.window_grown && self.pos == 0) {
            self.stats.outgrown_frames += 1;
        }
        self.stats.grown_copied_bytes += carried as u64;
        self.window = Bytes::new();
        self.pos = 0;
        Ok(Filling { buffer: Buffer::Grown(grown), offset, carried, checked: carried })
    }

    /// Whether the bytes in the slab may hold a frame now; remembers how
    /// far it looked, so a frame trickling in is looked at once per byte.
    fn may_frame(&self, filling: &mut Filling) -> bool {
        let filled = filling.buffer.filled();
        if self.framer.may_frame(filled, filling.checked) {
            return true;
        }
        filling.checked = filled.len();
        false
    }
}

/// Room for `carried` bytes and as many again (a slab at least), but no
/// more than a framer with `max_carry` needs to see a frame pass its limit
/// (`max_carry + 1` bytes), and always room for one byte more.
fn grown_capacity(carried: usize, slab_size: usize, max_carry: usize) -> usize {
    carried.saturating_add(carried.max(slab_size)).min(max_carry.saturating_add(1)).max(carried + 1)
}

#[cfg(test)]
mod tests {
    use super::grown_capacity;

    #[test]
    fn a_grown_buffer_doubles_and_stops_one_byte_past_the_largest_carry() {
        assert_eq!(grown_capacity(4096, 4096, 1 << 20), 8192);
        assert_eq!(grown_capacity(8192, 4096, 1 << 20), 16_384);
        assert_eq!(grown_capacity(900_000, 4096, 1 << 20), (1 << 20) + 1);
        assert_eq!(grown_capacity(4096, 4096, 4096), 4097, "one byte past the carry at the limit");
        assert_eq!(grown_capacity(5000, 4096, 4096), 5001, "a framer carrying more than it said still moves on");
    }
}

//! Filling a slab from the input, and what the input's failures do to it.

use std::io::{self, Read};

use bytes::Bytes;
use flux_core::BufferPool;

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
    /// Moves the unconsumed tail to the front of a slab, reads into the
    /// rest of it, and makes it the window.
    ///
    /// An error met after the slab got bytes of its own is deferred, so the
    /// frames completed before it are delivered first; `WouldBlock` before
    /// anything framable arrived parks the slab for the next call.
    pub(super) fn refill(&mut self) -> Result<Refilled, ReadError> {
        let mut filling = match self.filling.take() {
            Some(filling) => filling,
            None => self.start_slab()?,
        };
        while !filling.slab.is_full() {
            match filling.slab.fill_from(&mut self.input) {
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
                    if filling.slab.len() > filling.carried && self.may_frame(&mut filling) {
                        break;
                    }
                    self.filling = Some(filling);
                    self.publish();
                    return Ok(Refilled::WouldBlock);
                }
                Err(source) if filling.slab.len() > filling.carried => {
                    self.deferred = Some(source);
                    break;
                }
                Err(source) => {
                    self.publish();
                    return Err(ReadError::Io { offset: filling.offset, source });
                }
            }
        }
        self.stats.slabs += 1;
        self.window = filling.slab.freeze();
        self.window_offset = filling.offset;
        self.framer.new_window();
        self.publish();
        Ok(Refilled::Window)
    }

    /// Rents a slab and copies the unconsumed tail of the window to its
    /// front; or raises the error deferred by the last refill, at the first
    /// byte not delivered.
    fn start_slab(&mut self) -> Result<Filling, ReadError> {
        let offset = self.window_offset + self.pos as u64;
        if let Some(source) = self.deferred.take() {
            self.publish();
            return Err(ReadError::Io { offset, source });
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
        Ok(Filling { slab, offset, carried: self.carry.len(), checked: self.carry.len() })
    }

    /// Whether the bytes in the slab may hold a frame now; remembers how
    /// far it looked, so a frame trickling in is looked at once per byte.
    fn may_frame(&self, filling: &mut Filling) -> bool {
        let filled = filling.slab.filled();
        if self.framer.may_frame(filled, filling.checked) {
            return true;
        }
        filling.checked = filled.len();
        false
    }
}

//! An owned buffer, outside the pool, for a partial frame that has filled a
//! whole slab: the frame goes on in it, up to the framer's limit.

use std::io::{self, Read};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

/// A buffer being filled, grown past the slab size for one long frame.
///
/// Frozen, it is one [`Bytes`] like a slab; when its last slice is dropped
/// its memory goes back to the reader's [`Spare`], so a file with many long
/// lines allocates once, not once per line.
pub(super) struct Grown {
    /// Always `capacity` long; bytes past `filled` are scratch.
    buf: Vec<u8>,
    filled: usize,
    spare: Spare,
}

/// The one grown buffer a reader keeps for reuse (the largest returned).
///
/// Its size is bounded by the framer's limit, so the memory a reader holds
/// outside its pool is bounded by the limit, not by the input.
#[derive(Clone, Debug, Default)]
pub(super) struct Spare(Arc<Mutex<Option<Vec<u8>>>>);

impl Spare {
    /// A buffer of `capacity` bytes: the spare if it is large enough, else
    /// a fresh allocation (the spare, too small, is let go).
    ///
    /// # Errors
    ///
    /// The memory could not be allocated (a limit larger than memory).
    pub(super) fn take(&self, capacity: usize) -> io::Result<Grown> {
        let mut buf = self.0.lock().unwrap_or_else(PoisonError::into_inner).take().unwrap_or_default();
        if buf.len() < capacity {
            buf = Vec::new();
            buf.try_reserve_exact(capacity).map_err(|error| io::Error::new(io::ErrorKind::OutOfMemory, error))?;
            buf.resize(capacity, 0);
        }
        Ok(Grown { buf, filled: 0, spare: self.clone() })
    }

    /// Lets go of the spare buffer (at end of input).
    pub(super) fn release(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    /// Keeps `buf` for reuse if it is larger than the one kept.
    fn give_back(&self, buf: Vec<u8>) {
        if buf.is_empty() {
            return; // taken by `freeze`: its owner gives it back
        }
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_none_or(|kept| kept.len() < buf.len()) {
            *slot = Some(buf);
        }
    }
}

impl Grown {
    pub(super) fn len(&self) -> usize {
        self.filled
    }

    pub(super) fn is_full(&self) -> bool {
        self.filled == self.buf.len()
    }

    pub(super) fn filled(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// Appends as much of `data` as fits.
    pub(super) fn extend_from_slice(&mut self, data: &[u8]) {
        let n = data.len().min(self.buf.len() - self.filled);
        self.buf[self.filled..self.filled + n].copy_from_slice(&data[..n]);
        self.filled += n;
    }

    /// Reads once into the free part; `Interrupted` is retried.
    pub(super) fn fill_from(&mut self, input: &mut impl Read) -> io::Result<usize> {
        if self.is_full() {
            return Ok(0);
        }
        let n = crate::read_some::read_some(input, &mut self.buf[self.filled..])?;
        self.filled += n;
        Ok(n)
    }

    /// Shares the filled part as one `Bytes`.
    pub(super) fn freeze(mut self) -> Bytes {
        let buf = core::mem::take(&mut self.buf);
        Bytes::from_owner(GrownOwner { buf, len: self.filled, spare: self.spare.clone() })
    }
}

impl Drop for Grown {
    fn drop(&mut self) {
        self.spare.give_back(core::mem::take(&mut self.buf));
    }
}

/// What `bytes` keeps behind a frozen grown buffer; dropping it returns
/// the memory to the spare slot.
struct GrownOwner {
    buf: Vec<u8>,
    len: usize,
    spare: Spare,
}

impl AsRef<[u8]> for GrownOwner {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for GrownOwner {
    fn drop(&mut self) {
        self.spare.give_back(core::mem::take(&mut self.buf));
    }
}

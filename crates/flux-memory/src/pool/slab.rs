//! A rented slab: filled while it is owned, shared once it is frozen.

use std::io::{self, Read};

use bytes::Bytes;

use super::shared::Shared;
use crate::sync::Arc;

/// A slab rented from a [`SlabPool`](crate::SlabPool), being filled.
///
/// While a source owns it, the slab is a plain byte buffer with a fill
/// mark. [`Slab::freeze`] turns the filled part into one [`Bytes`] whose
/// slices are the frames; the memory returns to the pool when the last of
/// them is dropped. A slab dropped without being frozen returns at once.
pub struct Slab {
    /// Always `slab_size` long; bytes past `filled` are scratch.
    buf: Vec<u8>,
    filled: usize,
    home: Option<Arc<Shared>>,
}

impl Slab {
    pub(crate) fn new(buf: Vec<u8>, home: Arc<Shared>) -> Self {
        Slab { buf, filled: 0, home: Some(home) }
    }

    /// The slab's size in bytes.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Bytes filled so far.
    pub fn len(&self) -> usize {
        self.filled
    }

    /// True when nothing has been filled.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// True when no room is left.
    pub fn is_full(&self) -> bool {
        self.filled == self.buf.len()
    }

    /// The filled bytes.
    pub fn filled(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// Appends as much of `data` as fits; returns how many bytes were copied.
    pub fn extend_from_slice(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.buf.len() - self.filled);
        self.buf[self.filled..self.filled + n].copy_from_slice(&data[..n]);
        self.filled += n;
        n
    }

    /// Reads once from `input` into the free part of the slab; returns the
    /// bytes read (zero at end of input or when the slab is full).
    ///
    /// # Errors
    ///
    /// The read failed (an `Interrupted` read is retried).
    pub fn fill_from(&mut self, input: &mut impl Read) -> io::Result<usize> {
        if self.is_full() {
            return Ok(0);
        }
        let n = crate::read_some::read_some(input, &mut self.buf[self.filled..])?;
        self.filled += n;
        Ok(n)
    }

    /// Shares the filled part as one `Bytes`; slices of it are frames.
    ///
    /// This allocates once per slab (the shared header `bytes` keeps for a
    /// custom owner), never per frame.
    pub fn freeze(mut self) -> Bytes {
        let buf = core::mem::take(&mut self.buf);
        let home = self.home.take();
        Bytes::from_owner(SlabOwner { buf, len: self.filled, home })
    }
}

impl Drop for Slab {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            home.give_back(core::mem::take(&mut self.buf));
        }
    }
}

impl core::fmt::Debug for Slab {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Slab").field("capacity", &self.buf.len()).field("filled", &self.filled).finish()
    }
}

/// The owner `bytes` keeps behind a frozen slab; dropping it, when the last
/// slice goes, returns the memory to the pool.
struct SlabOwner {
    buf: Vec<u8>,
    len: usize,
    home: Option<Arc<Shared>>,
}

impl AsRef<[u8]> for SlabOwner {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for SlabOwner {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            home.give_back(core::mem::take(&mut self.buf));
        }
    }
}

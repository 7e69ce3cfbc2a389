//! Keys that must be copied (an integer's bytes), as slices of a shared
//! buffer instead of an allocation each.

use bytes::{Bytes, BytesMut};

/// How much key text one shared buffer holds: 256 eight-byte keys, half
/// a boundary's batch (512 by default). Every key of a buffer counts its
/// references in the buffer's one count: when keys are made on one core
/// and dropped on another (a keying stage before a boundary), the count's
/// cache line moves between the cores only where both work on the same
/// buffer, and at half a batch the buffer being filled is rarely the one
/// being dropped (as with the framed source's runs of frames).
const CHUNK: usize = 2048;

/// Where a keying stage copies the keys it makes from integers: each key
/// is a slice of a shared buffer, so keying a record costs a reference
/// count, where a `Bytes` of its own cost an allocation and a free.
///
/// A buffer is freed when the last key sliced from it is dropped; a key
/// kept long (past the records made with the same buffer) keeps the
/// buffer's 2 KiB with it. The accumulating stage copies the short keys it
/// groups by into its own table, so it keeps no buffer.
///
/// ```
/// use flux_steps::{IntoKey, KeyText};
///
/// let mut text = KeyText::default();
/// let (a, b) = (7u32.into_key_in(&mut text), 8u32.into_key_in(&mut text));
/// assert_eq!((a.as_ref(), b.as_ref()), (&[0, 0, 0, 7][..], &[0, 0, 0, 8][..]));
/// ```
#[derive(Debug, Default)]
pub struct KeyText {
    chunk: BytesMut,
}

impl KeyText {
    /// `bytes` as a slice of the shared buffer.
    #[inline]
    pub fn copy(&mut self, bytes: &[u8]) -> Bytes {
        if self.chunk.capacity() - self.chunk.len() < bytes.len() {
            self.chunk = BytesMut::with_capacity(CHUNK.max(bytes.len()));
        }
        self.chunk.extend_from_slice(bytes);
        self.chunk.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_copy_is_its_own_bytes_and_a_full_buffer_gives_way_to_a_new_one() {
        let mut text = KeyText::default();
        let keys: Vec<Bytes> = (0..CHUNK as u64 / 8 + 1).map(|n| text.copy(&n.to_be_bytes())).collect();
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(key.as_ref(), &(n as u64).to_be_bytes(), "key {n}");
        }
        let first = keys[0].as_ptr() as usize;
        let last_in_first = keys[CHUNK / 8 - 1].as_ptr() as usize;
        assert_eq!(last_in_first - first, CHUNK - 8, "one buffer holds 256 keys, side by side");
        let next = keys[CHUNK / 8].as_ptr() as usize;
        assert!(!(first..first + CHUNK).contains(&next), "the 257th key starts a new buffer");
        let long = text.copy(&[1; CHUNK + 1]);
        assert_eq!(long.len(), CHUNK + 1, "a key longer than a buffer gets one of its own size");
    }
}

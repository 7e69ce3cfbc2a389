//! How an open group holds its key: a private copy (inline when short) or
//! the first fragment's own slice.

use bytes::Bytes;

use crate::policy::KeyStorage;

/// Keys up to this many bytes are copied into the group table itself: no
/// allocation, and the key comparison on each fragment's lookup reads the
/// table slot the lookup already fetched.
const INLINE: usize = 22;

/// A group's key, kept for the group's whole life.
#[derive(Clone, Debug)]
pub(crate) enum StoredKey {
    /// A short key copied into the slot.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// A longer copied key (one allocation per group), or, with
    /// [`KeyStorage::Share`], the first fragment's slice.
    Heap(Bytes),
}

impl StoredKey {
    /// What a group opened by a fragment keyed `key` keeps.
    pub(crate) fn new(key: &Bytes, storage: KeyStorage) -> Self {
        match storage {
            KeyStorage::Copy if key.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..key.len()].copy_from_slice(key);
                // The length fits in a byte: INLINE is below 256.
                StoredKey::Inline { len: key.len() as u8, bytes }
            }
            KeyStorage::Copy => StoredKey::Heap(Bytes::copy_from_slice(key)),
            KeyStorage::Share => StoredKey::Heap(key.clone()),
        }
    }

    /// Heap bytes this key holds of its own, stored by `storage`: a long
    /// copied key's bytes (a shared slice belongs to the input, and an
    /// inline key to the table).
    pub(crate) fn heap_bytes(&self, storage: KeyStorage) -> u64 {
        match (self, storage) {
            (StoredKey::Heap(key), KeyStorage::Copy) => key.len() as u64,
            (StoredKey::Inline { .. } | StoredKey::Heap(_), _) => 0,
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            StoredKey::Inline { len, bytes } => &bytes[..usize::from(*len)],
            StoredKey::Heap(key) => key,
        }
    }

    /// The key as `Bytes` for a record: a reference to the stored slice, or
    /// a copy of an inline key made by `copy` (which can share one buffer
    /// between many records).
    pub(crate) fn to_bytes(&self, copy: impl FnOnce(&[u8]) -> Bytes) -> Bytes {
        match self {
            StoredKey::Inline { .. } => copy(self.as_slice()),
            StoredKey::Heap(key) => key.clone(),
        }
    }
}

/// Whether two keys are equal, comparing short keys with a few word loads
/// in line: a call to the C library's `bcmp` on every lookup made the
/// compiler spill the probe's registers around it, and the extra
/// instructions kept the processor from overlapping successive fragments'
/// cache misses.
#[inline(always)]
pub(crate) fn same_key(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    match len {
        // Two overlapping words cover every length from 8 to 16 (and
        // two overlapping pairs every length from 16 to 32).
        8..=16 => word(a, 0) == word(b, 0) && word(a, len - 8) == word(b, len - 8),
        17..=32 => pair(a, 0) == pair(b, 0) && pair(a, len - 16) == pair(b, len - 16),
        _ => a == b,
    }
}

#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(word)
}

#[inline(always)]
fn pair(bytes: &[u8], at: usize) -> u128 {
    let mut pair = [0; 16];
    pair.copy_from_slice(&bytes[at..at + 16]);
    u128::from_ne_bytes(pair)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_key_never_points_into_the_fragment() {
        let slab = Bytes::from(vec![b'k'; 64]);
        for len in [1, INLINE, INLINE + 1, 64] {
            let key = slab.slice(..len);
            let stored = StoredKey::new(&key, KeyStorage::Copy);
            assert_eq!(stored.as_slice(), &key[..]);
            let slab_range = slab.as_ptr_range();
            assert!(!slab_range.contains(&stored.as_slice().as_ptr()), "a copy of {len} bytes is private");
        }
    }

    #[test]
    fn a_shared_key_is_the_fragment_slice() {
        let slab = Bytes::from(vec![b'k'; 64]);
        let key = slab.slice(3..7);
        let stored = StoredKey::new(&key, KeyStorage::Share);
        assert_eq!(stored.as_slice().as_ptr(), key.as_ptr());
    }

    #[test]
    fn short_and_long_keys_compare_byte_for_byte() {
        for len in 0..=40_u8 {
            let key: Vec<u8> = (0..len).collect();
            let len = usize::from(len);
            assert!(same_key(&key, &key.clone()), "a key of {len} bytes equals itself");
            if len > 0 {
                assert!(!same_key(&key, &key[..len - 1]), "a key differs from its prefix of {} bytes", len - 1);
            }
            for at in 0..len {
                let mut other = key.clone();
                other[at] ^= 0x80;
                assert!(!same_key(&key, &other), "a difference at byte {at} of {len} is seen");
            }
        }
    }

    #[test]
    fn a_stored_key_is_no_larger_than_bytes() {
        assert_eq!(core::mem::size_of::<StoredKey>(), core::mem::size_of::<Bytes>());
    }
}

//! The in-memory spill tier: compressed blocks kept in the group table.

use super::{NoEncryption, SpillCipher, SpillError, SpillStrategy, open, seal};

/// The in-memory spill tier: LZ4 block compression (with the size
/// prepended), then the cipher's seal, kept in the group table.
///
/// It saves what compression saves and no more: the blocks stay on the
/// heap. [`FileSpill`](super::FileSpill), the default, moves them out.
///
/// # Examples
///
/// ```
/// use flux_accumulate::{Lz4Spill, SpillStrategy};
///
/// let mut spill = Lz4Spill::new();
/// let state = vec![7u8; 4096];
/// let stored = spill.spill(b"customer-1", &state)?;
/// assert!(stored.len() < 100);
/// assert_eq!(spill.restore(b"customer-1", &stored)?, state);
/// # Ok::<(), flux_accumulate::SpillError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Lz4Spill<C = NoEncryption> {
    cipher: C,
}

impl Lz4Spill<NoEncryption> {
    /// LZ4 compression, unencrypted.
    pub fn new() -> Self {
        Lz4Spill { cipher: NoEncryption }
    }
}

impl<C: SpillCipher> Lz4Spill<C> {
    /// LZ4 compression followed by `cipher`.
    pub fn with_cipher(cipher: C) -> Self {
        Lz4Spill { cipher }
    }
}

impl<C: SpillCipher> SpillStrategy for Lz4Spill<C> {
    fn spill(&mut self, key: &[u8], state: &[u8]) -> Result<Box<[u8]>, SpillError> {
        Ok(seal(&mut self.cipher, key, state).into_boxed_slice())
    }

    fn restore(&mut self, key: &[u8], stored: &[u8]) -> Result<Vec<u8>, SpillError> {
        open(&mut self.cipher, key, stored.to_vec())
    }
}

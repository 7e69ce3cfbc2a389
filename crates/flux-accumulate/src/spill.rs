//! The spill tier: cold group state, encoded by the accumulator, then
//! compressed (and optionally encrypted) by a strategy.

use core::fmt;
use std::error::Error;

/// Turns an encoded group state into what the spill tier holds, and back.
///
/// The accumulating stage keeps the returned bytes in its group table in
/// place of the state (an in-memory tier) and gives them back to
/// [`SpillStrategy::restore`] on the next fragment for that key, or when
/// the group is emitted. The state's encoding is the accumulator's own
/// ([`flux_core::Accumulator::encode_state`]); a strategy only sees bytes.
pub trait SpillStrategy: Send {
    /// What the tier keeps for `state`, the encoded state of group `key`.
    fn spill(&mut self, key: &[u8], state: &[u8]) -> Box<[u8]>;

    /// The encoded state back from what [`SpillStrategy::spill`] returned.
    ///
    /// # Errors
    ///
    /// The stored bytes are corrupt or cannot be decrypted.
    fn restore(&mut self, key: &[u8], stored: &[u8]) -> Result<Vec<u8>, SpillError>;
}

/// The encryption hook of [`Lz4Spill`]: seals a compressed block before it
/// is stored and opens it when it is restored. The default does nothing.
pub trait SpillCipher: Send {
    /// Encrypts a compressed block of group `key` in place.
    fn seal(&mut self, key: &[u8], block: &mut Vec<u8>) {
        let _ = (key, block);
    }

    /// Decrypts a sealed block of group `key` in place.
    ///
    /// # Errors
    ///
    /// The block does not authenticate or cannot be decrypted.
    fn open(&mut self, key: &[u8], block: &mut Vec<u8>) -> Result<(), SpillError> {
        let _ = (key, block);
        Ok(())
    }
}

/// The default cipher: blocks are stored as compressed, unencrypted.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEncryption;

impl SpillCipher for NoEncryption {}

/// The default spill strategy: LZ4 block compression (with the size
/// prepended), then the cipher's seal.
///
/// # Examples
///
/// ```
/// use flux_accumulate::{Lz4Spill, SpillStrategy};
///
/// let mut spill = Lz4Spill::new();
/// let state = vec![7u8; 4096];
/// let stored = spill.spill(b"customer-1", &state);
/// assert!(stored.len() < 100);
/// assert_eq!(spill.restore(b"customer-1", &stored).unwrap(), state);
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
    fn spill(&mut self, key: &[u8], state: &[u8]) -> Box<[u8]> {
        let mut block = lz4_flex::block::compress_prepend_size(state);
        self.cipher.seal(key, &mut block);
        block.into_boxed_slice()
    }

    fn restore(&mut self, key: &[u8], stored: &[u8]) -> Result<Vec<u8>, SpillError> {
        let mut block = stored.to_vec();
        self.cipher.open(key, &mut block)?;
        lz4_flex::block::decompress_size_prepended(&block).map_err(|e| SpillError::new(e.to_string()))
    }
}

/// A spilled block that could not be brought back.
#[derive(Debug)]
pub struct SpillError {
    detail: String,
}

impl SpillError {
    /// An error with a lowercase description of what failed.
    pub fn new(detail: impl Into<String>) -> Self {
        SpillError { detail: detail.into() }
    }
}

impl fmt::Display for SpillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spilled group state could not be restored: {}", self.detail)
    }
}

impl Error for SpillError {}

//! The spill tier: cold group state, encoded by the accumulator, then
//! compressed (and optionally encrypted) and kept out of the way by a
//! strategy: in a file ([`FileSpill`], the default) or in memory
//! ([`Lz4Spill`]).

mod file;
mod lz4;

use core::fmt;
use std::error::Error;

pub use file::FileSpill;
pub use lz4::Lz4Spill;

/// Turns an encoded group state into what the spill tier holds, and back.
///
/// The accumulating stage keeps the bytes `spill` returns in its group
/// table in place of the state (the block itself for an in-memory tier, a
/// small handle for a file tier) and gives them back to
/// [`SpillStrategy::restore`] on the next fragment for that key, or when
/// the group is emitted. The state's encoding is the accumulator's own
/// ([`flux_core::Accumulator::encode_state`]); a strategy only sees bytes.
///
/// # Contract
///
/// - Each value `spill` returns is given back exactly once: to `restore`,
///   which frees it when it succeeds, or to `forget` (a group dropped by
///   policy, or one that could not be restored).
/// - The bytes `spill` returns count as the group's resident size in the
///   stage's pending bytes: keep them small when the state lives elsewhere.
pub trait SpillStrategy: Send {
    /// What the tier keeps for `state`, the encoded state of group `key`.
    ///
    /// # Errors
    ///
    /// The tier could not take it (its disk is full): the group stays in
    /// memory, and the stage stops spilling (see `spill_failures` in its
    /// stats).
    fn spill(&mut self, key: &[u8], state: &[u8]) -> Result<Box<[u8]>, SpillError>;

    /// The encoded state back from what [`SpillStrategy::spill`] returned.
    ///
    /// # Errors
    ///
    /// The stored bytes are corrupt, cannot be read or cannot be decrypted.
    fn restore(&mut self, key: &[u8], stored: &[u8]) -> Result<Vec<u8>, SpillError>;

    /// A spilled group that will not be restored: the tier may free what
    /// it keeps for it. The default does nothing.
    fn forget(&mut self, stored: &[u8]) {
        let _ = stored;
    }
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

/// The spill tier could not take or give back a block: what failed, and
/// the error underneath (an I/O error, say), which `source` returns.
///
/// # Examples
///
/// ```
/// use std::error::Error;
/// use flux_accumulate::SpillError;
///
/// let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left");
/// let error = SpillError::new("spill file write").caused_by(full);
/// assert_eq!(error.to_string(), "spill tier: spill file write");
/// assert_eq!(error.source().unwrap().to_string(), "no space left");
/// ```
#[derive(Debug)]
pub struct SpillError {
    detail: String,
    cause: Option<Box<dyn Error + Send + Sync>>,
}

impl SpillError {
    /// An error with a lowercase description of what failed.
    pub fn new(detail: impl Into<String>) -> Self {
        SpillError { detail: detail.into(), cause: None }
    }

    /// The error underneath, kept as the source.
    #[must_use]
    pub fn caused_by(mut self, cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        self.cause = Some(cause.into());
        self
    }
}

impl fmt::Display for SpillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spill tier: {}", self.detail)
    }
}

impl Error for SpillError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().map(|cause| cause as &(dyn Error + 'static))
    }
}

/// LZ4-compresses an encoded state (its size prepended) and seals it.
fn seal(cipher: &mut impl SpillCipher, key: &[u8], state: &[u8]) -> Vec<u8> {
    let mut block = lz4_flex::block::compress_prepend_size(state);
    cipher.seal(key, &mut block);
    block
}

/// Opens a sealed block and decompresses it.
fn open(cipher: &mut impl SpillCipher, key: &[u8], mut block: Vec<u8>) -> Result<Vec<u8>, SpillError> {
    cipher.open(key, &mut block)?;
    lz4_flex::block::decompress_size_prepended(&block).map_err(|e| SpillError::new(e.to_string()))
}

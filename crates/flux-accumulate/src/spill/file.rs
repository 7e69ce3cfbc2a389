//! The file spill tier: compressed blocks appended to an unlinked
//! temporary file, so that spilled state leaves the heap.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{NoEncryption, SpillCipher, SpillError, SpillStrategy, open, seal};

/// Appends are gathered up to this many bytes before one write.
const WRITE_BUFFER: usize = 64 * 1024;
/// The file is rewritten with only its live blocks once it holds more dead
/// bytes than live ones, and at least this many.
const COMPACT_AT: u64 = 4 << 20;

/// Where one block lies in the file.
#[derive(Clone, Copy, Debug)]
struct Extent {
    offset: u64,
    len: u32,
}

/// The default spill tier: LZ4 compression, the cipher's seal, then a
/// temporary file. The group table keeps a 4-byte handle per spilled
/// group, so spilling really bounds the heap: resident state stays under
/// the policy's threshold, and the rest is on disk.
///
/// The file is created in the system's temporary directory (or the one
/// given) on the first spill, with a name no other file has, and unlinked
/// at once where the system allows it, so it disappears with the process
/// whatever happens. Blocks are gathered in a 64 KiB buffer before each
/// write. Space freed by restored or dropped groups is reclaimed by
/// rewriting the file, at the next spill or restore, once at least half
/// of it (and at least 4 MiB) is dead; a rewrite that fails leaves the
/// file as it was, and a write that fails leaves its blocks buffered.
///
/// # Examples
///
/// ```
/// use flux_accumulate::{FileSpill, SpillStrategy};
///
/// let mut spill = FileSpill::new();
/// let state = vec![7u8; 4096];
/// let stored = spill.spill(b"customer-1", &state)?;
/// assert_eq!(stored.len(), 4, "the table keeps a handle; the block is in the file");
/// assert_eq!(spill.restore(b"customer-1", &stored)?, state);
/// # Ok::<(), flux_accumulate::SpillError>(())
/// ```
#[derive(Debug)]
pub struct FileSpill<C = NoEncryption> {
    cipher: C,
    dir: Option<PathBuf>,
    file: Option<File>,
    /// Blocks not yet written, which start at `written`.
    pending: Vec<u8>,
    written: u64,
    /// Where each handle's block lies; `None` once freed.
    extents: Vec<Option<Extent>>,
    free: Vec<u32>,
    live: u64,
    /// After a failed rewrite, the dead bytes the next attempt waits for.
    retry_dead: u64,
}

impl FileSpill<NoEncryption> {
    /// A file tier in the system's temporary directory, unencrypted.
    pub fn new() -> Self {
        FileSpill::with_cipher(NoEncryption)
    }
}

impl Default for FileSpill<NoEncryption> {
    fn default() -> Self {
        FileSpill::new()
    }
}

impl<C: SpillCipher> FileSpill<C> {
    /// A file tier whose blocks `cipher` seals.
    pub fn with_cipher(cipher: C) -> Self {
        FileSpill {
            cipher,
            dir: None,
            file: None,
            pending: Vec::new(),
            written: 0,
            extents: Vec::new(),
            free: Vec::new(),
            live: 0,
            retry_dead: 0,
        }
    }

    /// Puts the file in `dir` instead of the system's temporary directory.
    #[must_use]
    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Bytes of live blocks, and the file's length (live and dead), both
    /// counting what is still buffered.
    pub fn usage(&self) -> (u64, u64) {
        (self.live, self.written + self.pending.len() as u64)
    }

    fn file(&mut self) -> Result<&mut File, SpillError> {
        if self.file.is_none() {
            self.file = Some(temp_file(self.dir.clone())?);
        }
        Ok(self.file.as_mut().expect("just made"))
    }

    /// Writes the buffered blocks at the end of the file.
    fn write_pending(&mut self) -> Result<(), SpillError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let at = self.written;
        let pending = std::mem::take(&mut self.pending);
        let wrote = self
            .file()
            .and_then(|file| file.seek(SeekFrom::Start(at)).and_then(|_| file.write_all(&pending)).map_err(io_error));
        // On a failure the blocks stay buffered, where their extents say
        // they are (a retry writes them at the same offset).
        self.pending = pending;
        wrote?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    fn read(&mut self, extent: Extent) -> Result<Vec<u8>, SpillError> {
        let len = extent.len as usize;
        if extent.offset >= self.written {
            let start = (extent.offset - self.written) as usize;
            return Ok(self.pending[start..start + len].to_vec());
        }
        let mut block = vec![0; len];
        let file = self.file()?;
        file.seek(SeekFrom::Start(extent.offset)).and_then(|_| file.read_exact(&mut block)).map_err(io_error)?;
        Ok(block)
    }

    fn free(&mut self, handle: u32) {
        if let Some(extent) = self.extents.get_mut(handle as usize).and_then(Option::take) {
            self.live -= u64::from(extent.len);
            self.free.push(handle);
        }
    }

    /// Rewrites the file with only its live blocks, once most of it is
    /// dead. A rewrite that fails (the disk is full, the directory is gone)
    /// changes nothing: the old file and its extents stay, and the next
    /// attempt waits until twice as many bytes are dead.
    fn compact_if_due(&mut self) {
        let (live, len) = self.usage();
        let dead = len - live;
        if dead < COMPACT_AT.max(self.retry_dead) || dead < live {
            return;
        }
        match self.rewritten() {
            Ok((file, extents, written)) => {
                self.file = Some(file);
                self.extents = extents;
                self.written = written;
                self.pending.clear();
                self.retry_dead = 0;
            }
            Err(_) => self.retry_dead = dead.saturating_mul(2),
        }
    }

    /// A new file holding the live blocks (from the file or the buffer),
    /// with their new extents and its length; `self` is left untouched.
    fn rewritten(&mut self) -> Result<(File, Vec<Option<Extent>>, u64), SpillError> {
        let mut fresh = BufWriter::with_capacity(WRITE_BUFFER, temp_file(self.dir.clone())?);
        let mut extents = self.extents.clone();
        let mut at = 0u64;
        for slot in &mut extents {
            let Some(extent) = *slot else { continue };
            let block = self.read(extent)?;
            fresh.write_all(&block).map_err(io_error)?;
            *slot = Some(Extent { offset: at, len: extent.len });
            at += u64::from(extent.len);
        }
        let file = fresh.into_inner().map_err(|e| io_error(e.into_error()))?;
        Ok((file, extents, at))
    }
}

fn handle_of(stored: &[u8]) -> Result<u32, SpillError> {
    let bytes: [u8; 4] = stored.try_into().map_err(|_| SpillError::new("not a file spill handle"))?;
    Ok(u32::from_le_bytes(bytes))
}

impl<C: SpillCipher> SpillStrategy for FileSpill<C> {
    fn spill(&mut self, key: &[u8], state: &[u8]) -> Result<Box<[u8]>, SpillError> {
        // Here as well as on restore: groups that are forgotten (discarded,
        // or re-emitted as fragments) are never restored, and their blocks
        // would otherwise stay in the file for the whole run.
        self.compact_if_due();
        let block = seal(&mut self.cipher, key, state);
        let len = u32::try_from(block.len()).map_err(|_| SpillError::new("a state over 4 GiB cannot spill"))?;
        if self.pending.len() + block.len() > WRITE_BUFFER {
            self.write_pending()?;
        }
        let extent = Extent { offset: self.written + self.pending.len() as u64, len };
        self.pending.extend_from_slice(&block);
        let handle = match self.free.pop() {
            Some(handle) => {
                self.extents[handle as usize] = Some(extent);
                handle
            }
            None => {
                let handle =
                    u32::try_from(self.extents.len()).map_err(|_| SpillError::new("too many spilled groups"))?;
                self.extents.push(Some(extent));
                handle
            }
        };
        self.live += u64::from(len);
        Ok(Box::new(handle.to_le_bytes()))
    }

    fn restore(&mut self, key: &[u8], stored: &[u8]) -> Result<Vec<u8>, SpillError> {
        let handle = handle_of(stored)?;
        let extent = self
            .extents
            .get(handle as usize)
            .copied()
            .flatten()
            .ok_or_else(|| SpillError::new(format!("no spilled block {handle}")))?;
        let block = self.read(extent)?;
        let state = open(&mut self.cipher, key, block)?;
        self.free(handle);
        self.compact_if_due();
        Ok(state)
    }

    fn forget(&mut self, stored: &[u8]) {
        if let Ok(handle) = handle_of(stored) {
            self.free(handle);
        }
    }
}

/// A new file of our own in `dir` (or the temporary directory), unlinked
/// at once: it lives as long as its handle. `create_new` refuses a name
/// that exists (a stale file, or a link planted there), and the name is
/// unique to this process and call, so nothing else's file is ever opened.
fn temp_file(dir: Option<PathBuf>) -> Result<File, SpillError> {
    static MADE: AtomicU64 = AtomicU64::new(0);
    let dir = dir.unwrap_or_else(std::env::temp_dir);
    let name = format!("flux-spill-{}-{}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed));
    let path = dir.join(name);
    let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path).map_err(io_error)?;
    // Where a file cannot be unlinked while open, it stays until the
    // process cleans its temporary directory; its blocks are sealed by the
    // cipher the user chose.
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

fn io_error(error: std::io::Error) -> SpillError {
    SpillError::new("spill file").caused_by(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `len` bytes that do not compress, different for each `seed`.
    fn noise(seed: u32, len: usize) -> Vec<u8> {
        let mut state = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    #[test]
    fn blocks_round_trip_through_the_buffer_and_the_file_and_freed_space_is_reclaimed() {
        let mut spill = FileSpill::new();
        let states: Vec<Vec<u8>> = (0..3_000u32).map(|i| noise(i, 40 + i as usize % 200)).collect();
        let handles: Vec<_> = states.iter().map(|s| spill.spill(b"k", s).unwrap()).collect();
        let (live, len) = spill.usage();
        assert_eq!(live, len, "nothing freed yet");
        assert!(spill.written > 0, "most blocks went to the file");
        for (handle, state) in handles.iter().zip(&states).step_by(2) {
            assert_eq!(&spill.restore(b"k", handle).unwrap(), state);
        }
        for handle in handles.iter().skip(1).step_by(2) {
            spill.forget(handle);
        }
        assert_eq!(spill.usage().0, 0, "every block was restored or forgotten");
        let again = spill.spill(b"k", &states[7]).unwrap();
        assert_eq!(u32::from_le_bytes((*again).try_into().unwrap()), 2_999, "freed handles are reused");
        assert_eq!(spill.restore(b"k", &again).unwrap(), states[7]);
    }

    #[test]
    fn the_file_is_rewritten_once_most_of_it_is_dead() {
        let mut spill = FileSpill::new();
        // Incompressible blocks of 1 KiB: 10 MiB in all.
        let block = |i: u32| noise(i, 1024);
        let handles: Vec<_> = (0..10_240).map(|i| spill.spill(b"k", &block(i)).unwrap()).collect();
        let before = spill.usage().1;
        for handle in &handles[..9_000] {
            spill.forget(handle);
        }
        assert_eq!(spill.restore(b"k", &handles[9_500]).unwrap(), block(9_500));
        let (live, len) = spill.usage();
        assert!(len < before / 4, "the file shrank from {before} to {len} bytes");
        assert_eq!(live, len);
        assert_eq!(spill.restore(b"k", &handles[10_000]).unwrap(), block(10_000));
    }

    /// Spills `count` incompressible blocks of 1 KiB.
    fn spill_kib_blocks(spill: &mut FileSpill, count: u32) -> Vec<Box<[u8]>> {
        (0..count).map(|i| spill.spill(b"k", &noise(i, 1024)).unwrap()).collect()
    }

    #[test]
    fn blocks_are_gathered_into_one_write_of_up_to_64_kib() {
        let mut spill = FileSpill::new();
        for i in 0.. {
            let before = spill.usage().1;
            spill.spill(b"k", &noise(i, 1000)).unwrap();
            let after = spill.usage().1;
            if after > 64 * 1024 {
                assert_eq!(spill.written, before, "everything gathered before the block that did not fit");
                break;
            }
            assert_eq!(spill.written, 0, "gathered, not written, at {after} bytes");
        }
    }

    #[test]
    fn the_file_is_rewritten_when_blocks_are_only_forgotten() {
        let mut spill = FileSpill::new();
        let handles = spill_kib_blocks(&mut spill, 10_240);
        handles[..9_000].iter().for_each(|handle| spill.forget(handle));
        let again = spill.spill(b"k", &noise(7, 1024)).unwrap();
        let (live, len) = spill.usage();
        assert_eq!(live, len, "the next spill rewrote the file first");
        assert_eq!(spill.restore(b"k", &again).unwrap(), noise(7, 1024));
        assert_eq!(spill.restore(b"k", &handles[9_999]).unwrap(), noise(9_999, 1024));
    }

    #[test]
    fn less_than_4_mib_dead_is_left_in_the_file() {
        let mut spill = FileSpill::new();
        let handles = spill_kib_blocks(&mut spill, 6_000);
        let before = spill.usage().1;
        handles[..3_500].iter().for_each(|handle| spill.forget(handle));
        assert_eq!(spill.restore(b"k", &handles[5_999]).unwrap(), noise(5_999, 1024));
        let (live, len) = spill.usage();
        assert!(len - live < COMPACT_AT && len - live > live, "more dead than live, but under 4 MiB");
        assert_eq!(len, before, "not rewritten");
    }

    #[test]
    fn a_file_less_than_half_dead_is_left_as_it_is() {
        let mut spill = FileSpill::new();
        let handles = spill_kib_blocks(&mut spill, 10_240);
        let before = spill.usage().1;
        handles[..4_600].iter().for_each(|handle| spill.forget(handle));
        let (live, _) = spill.usage();
        assert!(before - live > COMPACT_AT && before - live < live, "over 4 MiB dead, but less than live");
        assert_eq!(spill.restore(b"k", &handles[5_000]).unwrap(), noise(5_000, 1024));
        assert_eq!(spill.usage().1, before, "not rewritten");
    }

    #[test]
    fn a_rewrite_that_fails_changes_nothing_and_waits_for_twice_the_dead_bytes() {
        let dir = std::env::temp_dir().join(format!("flux-spill-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut spill = FileSpill::new().in_dir(&dir);
        let handles = spill_kib_blocks(&mut spill, 10_240);
        // The file is open and unlinked: without its directory, no new
        // file can be made to rewrite it into.
        std::fs::remove_dir(&dir).unwrap();
        handles[..9_000].iter().for_each(|handle| spill.forget(handle));
        let (live, len) = spill.usage();
        let again = spill.spill(b"k", &noise(7, 1024)).expect("a failed rewrite does not fail the spill");
        let (live_after, len_after) = spill.usage();
        assert!(live_after > live, "the block was added");
        assert_eq!(len_after - live_after, len - live, "every dead byte is still in the file");
        assert_eq!(spill.retry_dead, (len - live) * 2);
        for (i, handle) in handles.iter().enumerate().skip(9_000).step_by(97) {
            assert_eq!(spill.restore(b"k", handle).unwrap(), noise(i as u32, 1024), "block {i}");
        }
        assert_eq!(spill.restore(b"k", &again).unwrap(), noise(7, 1024));
        // With the directory back, the next rewrite waits for twice the dead bytes.
        std::fs::create_dir_all(&dir).unwrap();
        let more = spill_kib_blocks(&mut spill, 8_000);
        more.iter().for_each(|handle| spill.forget(handle));
        let (live, len) = spill.usage();
        assert!(len - live < spill.retry_dead, "not yet twice as many dead bytes");
        spill.spill(b"k", &noise(8, 1024)).unwrap();
        assert_ne!(spill.usage().0, spill.usage().1, "not rewritten");
        let most = spill_kib_blocks(&mut spill, 2_000);
        most.iter().for_each(|handle| spill.forget(handle));
        let last = spill.spill(b"k", &noise(9, 1024)).unwrap();
        let (live, len) = spill.usage();
        assert_eq!(live, len, "rewritten once twice as many bytes were dead");
        assert_eq!(spill.retry_dead, 0);
        assert_eq!(spill.restore(b"k", &last).unwrap(), noise(9, 1024));
        assert_eq!(spill.restore(b"k", &handles[10_000]).unwrap(), noise(10_000, 1024));
        std::fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn blocks_whose_write_failed_stay_buffered_and_readable() {
        let mut spill = FileSpill::new();
        // A handle that cannot be written through.
        spill.file = Some(File::open(std::env::current_exe().unwrap()).unwrap());
        let mut handles = Vec::new();
        let error = loop {
            let i = handles.len() as u32;
            match spill.spill(b"k", &noise(i, 1000)) {
                Ok(handle) => handles.push(handle),
                Err(error) => break error,
            }
        };
        assert_eq!(error.to_string(), "spill tier: spill file");
        assert!(std::error::Error::source(&error).is_some_and(|io| io.is::<std::io::Error>()), "{error:?}");
        assert_eq!(spill.written, 0);
        assert!(spill.pending.len() > 60 * 1000, "the blocks are still buffered");
        for (i, handle) in handles.iter().enumerate().step_by(7) {
            assert_eq!(spill.restore(b"k", handle).unwrap(), noise(i as u32, 1000), "block {i}");
        }
        spill.file = None;
        let next = spill.spill(b"k", &noise(999, 1000)).unwrap();
        assert!(spill.written > 0, "written at the next spill");
        assert_eq!(spill.restore(b"k", &handles[62]).unwrap(), noise(62, 1000));
        assert_eq!(spill.restore(b"k", &next).unwrap(), noise(999, 1000));
    }

    #[test]
    fn a_handle_the_tier_did_not_make_is_an_error() {
        let mut spill = FileSpill::new();
        assert!(spill.restore(b"k", &[1, 2, 3]).is_err());
        assert!(spill.restore(b"k", &7u32.to_le_bytes()).is_err());
    }
}

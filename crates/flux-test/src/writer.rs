//! A writer that fails, stalls or accepts short counts at chosen bytes.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::Fault;
use crate::fault::Script;

/// Writes into memory, with [`Fault`]s at chosen output offsets, short
/// writes, and failing flushes: a disk that fills, a pipe that closes, a
/// socket that would block.
///
/// Clones share the output and the script, so keep one to read what was
/// written after a sink that owns the other has run.
///
/// # Examples
///
/// A disk that fills at byte 6: a write that would cross it is cut short,
/// and every write after it fails.
///
/// ```
/// use std::io::{ErrorKind, Write};
/// use flux_test::{Fault, FaultyWriter};
///
/// let disk = FaultyWriter::new().at(6, Fault::Persistent(ErrorKind::StorageFull));
/// let mut file = disk.clone();
/// assert_eq!(file.write(b"abcd\n").unwrap(), 5);
/// assert_eq!(file.write(b"efgh\n").unwrap(), 1);
/// assert_eq!(file.write(b"fgh\n").unwrap_err().kind(), ErrorKind::StorageFull);
/// assert_eq!(disk.written(), b"abcd\ne");
/// ```
#[derive(Clone, Debug, Default)]
pub struct FaultyWriter {
    shared: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    written: Vec<u8>,
    max_write: usize,
    script: Script,
    failing_flushes: Vec<u64>,
    flushes: u64,
    writes: u64,
}

impl Default for State {
    fn default() -> Self {
        State {
            written: Vec::new(),
            max_write: usize::MAX,
            script: Script::default(),
            failing_flushes: Vec::new(),
            flushes: 0,
            writes: 0,
        }
    }
}

impl FaultyWriter {
    /// An empty output with no faults.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update under the lock is a push or a counter: a panic
        // elsewhere cannot leave it half done.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Each write accepts at most `bytes` bytes (at least one).
    #[must_use]
    pub fn max_write(self, bytes: usize) -> Self {
        self.state().max_write = bytes.max(1);
        self
    }

    /// Injects `fault` at output byte `offset`.
    #[must_use]
    pub fn at(self, offset: u64, fault: Fault) -> Self {
        self.state().script.add(offset, fault);
        self
    }

    /// The `nth` call to `flush` (counting from zero) fails with `Other`.
    #[must_use]
    pub fn fail_flush(self, nth: u64) -> Self {
        self.state().failing_flushes.push(nth);
        self
    }

    /// Everything written so far.
    pub fn written(&self) -> Vec<u8> {
        self.state().written.clone()
    }

    /// Calls to `write` so far, failed ones included.
    pub fn writes(&self) -> u64 {
        self.state().writes
    }

    /// Calls to `flush` so far, failed ones included.
    pub fn flushes(&self) -> u64 {
        self.state().flushes
    }
}

impl Write for FaultyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.state();
        state.writes += 1;
        let at = state.written.len() as u64;
        if let Some(error) = state.script.meet(at) {
            return Err(error);
        }
        let room = usize::try_from(state.script.room(at)).unwrap_or(usize::MAX);
        let n = buf.len().min(state.max_write).min(room);
        state.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut state = self.state();
        let nth = state.flushes;
        state.flushes += 1;
        if state.failing_flushes.contains(&nth) {
            return Err(io::Error::other(format!("injected flush failure (flush {nth})")));
        }
        Ok(())
    }
}

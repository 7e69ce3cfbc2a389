//! A reader whose input fails, stalls or trickles at chosen bytes.

use std::io::{self, Read};

use crate::Fault;
use crate::fault::Script;

/// Reads from bytes in memory, with [`Fault`]s at chosen input offsets and
/// reads as short as you like: the `std::io::Read` that real files, pipes
/// and sockets can be, on demand.
///
/// # Examples
///
/// A pipe that has nothing yet, twice, at byte 3:
///
/// ```
/// use std::io::{ErrorKind, Read};
/// use flux_test::{Fault, FaultyReader};
///
/// let mut reader = FaultyReader::new(&b"abcdef"[..]).at(3, Fault::WouldBlock(2));
/// let mut buf = [0u8; 8];
/// assert_eq!(reader.read(&mut buf).unwrap(), 3);
/// assert_eq!(reader.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
/// assert_eq!(reader.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
/// assert_eq!(reader.read(&mut buf).unwrap(), 3);
/// assert_eq!(reader.read(&mut buf).unwrap(), 0);
/// assert_eq!(reader.calls(), 5);
/// ```
#[derive(Clone, Debug)]
pub struct FaultyReader {
    data: Vec<u8>,
    position: usize,
    max_read: usize,
    script: Script,
    calls: u64,
}

impl FaultyReader {
    /// A reader of `data`, with no faults and reads as large as asked.
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        FaultyReader { data: data.into(), position: 0, max_read: usize::MAX, script: Script::default(), calls: 0 }
    }

    /// Each read returns at most `bytes` bytes (at least one).
    #[must_use]
    pub fn max_read(mut self, bytes: usize) -> Self {
        self.max_read = bytes.max(1);
        self
    }

    /// Injects `fault` at input byte `offset`.
    #[must_use]
    pub fn at(mut self, offset: u64, fault: Fault) -> Self {
        self.script.add(offset, fault);
        self
    }

    /// Bytes handed out so far.
    pub fn position(&self) -> u64 {
        self.position as u64
    }

    /// Calls to `read` so far, failed ones included.
    pub fn calls(&self) -> u64 {
        self.calls
    }
}

impl Read for FaultyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        let at = self.position as u64;
        if let Some(error) = self.script.meet(at) {
            return Err(error);
        }
        let room = usize::try_from(self.script.room(at)).unwrap_or(usize::MAX);
        let n = buf.len().min(self.max_read).min(room).min(self.data.len() - self.position);
        buf[..n].copy_from_slice(&self.data[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

//! One read into a buffer, with `Interrupted` retried: what every reader
//! in this crate does before it looks at the bytes.

use std::io::{self, Read};

/// Reads once from `input` into `buf`, retrying a read that was
/// interrupted before it read anything; `Ok(0)` is the end of the input
/// (or an empty `buf`).
pub(crate) fn read_some(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            read => return read,
        }
    }
}

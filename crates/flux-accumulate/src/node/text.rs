//! Small `Bytes` for record headers and keys without an allocation each.

use std::io::Write;

use bytes::{Bytes, BytesMut};
use flux_core::{Completeness, EmitReason, Headers};

use super::{COMPLETENESS_HEADER, FRAGMENTS_HEADER, REASON_HEADER};

/// How much text one shared buffer holds: a few hundred records' headers.
const CHUNK: usize = 4096;

/// Hands out short byte strings as slices of a shared buffer, so that a
/// record's header values and key cost a reference count, not an
/// allocation. A buffer is freed when the last record holding a slice of
/// it is dropped; it is the stage's own memory, never a pool's.
pub(super) struct TextArena {
    chunk: BytesMut,
    /// The three `acc.*` headers with placeholder values: cloning it costs
    /// one allocation per record, and each value is then replaced in place.
    template: Headers,
}

impl TextArena {
    pub(super) fn new() -> Self {
        let mut template = Headers::new();
        for name in [COMPLETENESS_HEADER, REASON_HEADER, FRAGMENTS_HEADER] {
            template.insert(name, Bytes::new());
        }
        TextArena { chunk: BytesMut::new(), template }
    }

    /// `bytes` as a slice of the shared buffer.
    pub(super) fn copy(&mut self, bytes: &[u8]) -> Bytes {
        if self.chunk.capacity() - self.chunk.len() < bytes.len() {
            self.chunk = BytesMut::with_capacity(CHUNK.max(bytes.len()));
        }
        self.chunk.extend_from_slice(bytes);
        self.chunk.split().freeze()
    }

    /// The headers of a record.
    pub(super) fn headers(&mut self, completeness: Completeness, reason: EmitReason, fragments: u64) -> Headers {
        let mut headers = self.template.clone();
        headers.insert(COMPLETENESS_HEADER, self.score(completeness));
        headers.insert(REASON_HEADER, Bytes::from_static(reason.as_str().as_bytes()));
        headers.insert(FRAGMENTS_HEADER, self.decimal(fragments));
        headers
    }

    /// The score with three decimals.
    fn score(&mut self, completeness: Completeness) -> Bytes {
        let score = completeness.score();
        if score >= 1.0 {
            return Bytes::from_static(b"1.000");
        }
        if score <= 0.0 {
            return Bytes::from_static(b"0.000");
        }
        let mut text = [0u8; 8];
        let len = format_into(&mut text, format_args!("{score:.3}"));
        self.copy(&text[..len])
    }

    fn decimal(&mut self, n: u64) -> Bytes {
        let mut text = [0u8; 20];
        let len = format_into(&mut text, format_args!("{n}"));
        self.copy(&text[..len])
    }
}

/// Formats into a stack buffer large enough for every caller's text.
fn format_into(buffer: &mut [u8], args: core::fmt::Arguments<'_>) -> usize {
    let capacity = buffer.len();
    let mut rest = &mut buffer[..];
    // A score below 1.0 is 5 bytes and a u64 at most 20: both fit.
    let _ = rest.write_fmt(args);
    capacity - rest.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_the_formatted_figures() {
        let mut arena = TextArena::new();
        let headers = arena.headers(Completeness::new(1.0 / 3.0), EmitReason::TtlExpired, 12_345);
        assert_eq!(&headers.get(COMPLETENESS_HEADER).unwrap()[..], b"0.333");
        assert_eq!(&headers.get(REASON_HEADER).unwrap()[..], b"ttl-expired");
        assert_eq!(&headers.get(FRAGMENTS_HEADER).unwrap()[..], b"12345");
        assert_eq!(headers.len(), 3);
        let full = arena.headers(Completeness::COMPLETE, EmitReason::Complete, u64::MAX);
        assert_eq!(&full.get(COMPLETENESS_HEADER).unwrap()[..], b"1.000");
        assert_eq!(&full.get(FRAGMENTS_HEADER).unwrap()[..], u64::MAX.to_string().as_bytes());
    }

    #[test]
    fn copies_survive_the_arena_moving_on_to_a_new_buffer() {
        let mut arena = TextArena::new();
        let copies: Vec<Bytes> = (0..2 * CHUNK / 7).map(|i| arena.copy(format!("k-{i:04}").as_bytes())).collect();
        for (i, copy) in copies.iter().enumerate() {
            assert_eq!(copy, format!("k-{i:04}").as_bytes());
        }
    }
}

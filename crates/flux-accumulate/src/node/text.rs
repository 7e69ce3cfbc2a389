//! Small `Bytes` for record headers and keys without an allocation each.

use std::io::Write;

use bytes::{Bytes, BytesMut};
use flux_core::{Completeness, EmitReason, Headers};

use super::{COMPLETENESS_HEADER, FRAGMENTS_HEADER, REASON_HEADER};

/// How much text one shared buffer holds: a few hundred records' keys.
const CHUNK: usize = 4096;

/// Fragment counts below this are rendered once, at compile time.
const SMALL_COUNTS: usize = 1000;

/// The decimal text of every count below [`SMALL_COUNTS`], left-aligned.
static COUNT_TEXT: [[u8; 3]; SMALL_COUNTS] = small_counts();

/// How many recent header sets are kept for reuse (a power of two).
const CACHED: usize = 64;

/// Hands out short byte strings as slices of a shared buffer, so that a
/// record's header values and key cost a reference count, not an
/// allocation. A buffer is freed when the last record holding a slice of
/// it is dropped; it is the stage's own memory, never a pool's.
pub(super) struct TextArena {
    chunk: BytesMut,
    /// Finished header sets whose values are all static text, by fragment
    /// count: most records repeat a recent (score, reason, count), and
    /// a finished set is shared by reference count, with no allocation.
    /// Only static values are kept, so the cache never pins a shared buffer.
    cache: Vec<Option<CachedHeaders>>,
}

/// A finished header set and the figures it was made from.
struct CachedHeaders {
    score: &'static [u8],
    reason: EmitReason,
    fragments: u64,
    headers: Headers,
}

impl TextArena {
    pub(super) fn new() -> Self {
        TextArena { chunk: BytesMut::new(), cache: (0..CACHED).map(|_| None).collect() }
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
        let score = static_score(completeness);
        let count = static_count(fragments);
        let (Some(score), Some(count)) = (score, count) else {
            return self.render(completeness, reason, fragments);
        };
        // `static_count` bounds `fragments` below SMALL_COUNTS.
        let slot = &mut self.cache[fragments as usize % CACHED];
        if let Some(hit) = slot
            && hit.fragments == fragments
            && hit.reason == reason
            && hit.score == score
        {
            return hit.headers.clone();
        }
        let headers = record_headers(Bytes::from_static(score), reason, Bytes::from_static(count));
        *slot = Some(CachedHeaders { score, reason, fragments, headers: headers.clone() });
        headers
    }

    /// Headers with a value that has no static text, formatted now.
    #[cold]
    fn render(&mut self, completeness: Completeness, reason: EmitReason, fragments: u64) -> Headers {
        let score = match static_score(completeness) {
            Some(score) => Bytes::from_static(score),
            None => self.score(completeness),
        };
        let count = match static_count(fragments) {
            Some(count) => Bytes::from_static(count),
            None => self.decimal(fragments),
        };
        record_headers(score, reason, count)
    }

    /// The score with three decimals, formatted into the shared buffer.
    fn score(&mut self, completeness: Completeness) -> Bytes {
        let mut text = [0u8; 8];
        let len = format_into(&mut text, format_args!("{:.3}", completeness.score()));
        self.copy(&text[..len])
    }

    fn decimal(&mut self, n: u64) -> Bytes {
        let mut text = [0u8; 20];
        let len = format_into(&mut text, format_args!("{n}"));
        self.copy(&text[..len])
    }
}

/// A record's three headers, in one allocation.
fn record_headers(score: Bytes, reason: EmitReason, count: Bytes) -> Headers {
    Headers::from_iter([
        (COMPLETENESS_HEADER, score),
        (REASON_HEADER, Bytes::from_static(reason.as_str().as_bytes())),
        (FRAGMENTS_HEADER, count),
    ])
}

/// The text of a score of exactly none or all: the complete records' and
/// the empty ones', the common cases.
fn static_score(completeness: Completeness) -> Option<&'static [u8]> {
    let score = completeness.score();
    if score >= 1.0 {
        Some(b"1.000")
    } else if score <= 0.0 {
        Some(b"0.000")
    } else {
        None
    }
}

/// The pre-rendered text of a small count.
fn static_count(n: u64) -> Option<&'static [u8]> {
    let text = COUNT_TEXT.get(usize::try_from(n).ok()?)?;
    let len = match n {
        0..=9 => 1,
        10..=99 => 2,
        _ => 3,
    };
    Some(&text[..len])
}

const fn small_counts() -> [[u8; 3]; SMALL_COUNTS] {
    let mut table = [[0u8; 3]; SMALL_COUNTS];
    let mut n = 0;
    while n < SMALL_COUNTS {
        let digits = [(n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8];
        // Left-aligned: skip the leading zeros a shorter number has.
        let skip = if n < 10 {
            2
        } else if n < 100 {
            1
        } else {
            0
        };
        let mut at = 0;
        while at + skip < 3 {
            table[n][at] = b'0' + digits[at + skip];
            at += 1;
        }
        n += 1;
    }
    table
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
        let headers = arena.headers(Completeness::new(1.0 / 3.0), EmitReason::Inactivity, 12_345);
        assert_eq!(&headers.get(COMPLETENESS_HEADER).unwrap()[..], b"0.333");
        assert_eq!(&headers.get(REASON_HEADER).unwrap()[..], b"inactivity");
        assert_eq!(&headers.get(FRAGMENTS_HEADER).unwrap()[..], b"12345");
        assert_eq!(headers.len(), 3);
        let full = arena.headers(Completeness::COMPLETE, EmitReason::Complete, u64::MAX);
        assert_eq!(&full.get(COMPLETENESS_HEADER).unwrap()[..], b"1.000");
        assert_eq!(&full.get(FRAGMENTS_HEADER).unwrap()[..], u64::MAX.to_string().as_bytes());
    }

    #[test]
    fn every_pre_rendered_count_is_its_decimal_text() {
        for n in 0..SMALL_COUNTS as u64 + 2 {
            let expected = n.to_string();
            match static_count(n) {
                Some(text) => assert_eq!(text, expected.as_bytes(), "count {n}"),
                None => assert!(n >= SMALL_COUNTS as u64, "count {n} has static text"),
            }
        }
    }

    #[test]
    fn reused_headers_match_fresh_ones_for_every_reason_and_count() {
        let reasons = crate::REASONS;
        let scores = [Completeness::EMPTY, Completeness::COMPLETE, Completeness::new(0.5), Completeness::new(0.0625)];
        let mut arena = TextArena::new();
        // Twice over, so the second pass reads the cache the first filled,
        // with counts that share cache slots.
        for _ in 0..2 {
            for n in [0_u64, 1, 9, 10, 64, 65, 99, 100, 128, 999, 1000, 4096, u64::MAX] {
                for reason in reasons {
                    for score in scores {
                        let headers = arena.headers(score, reason, n);
                        let names: Vec<_> = headers.iter().map(|(name, _)| name).collect();
                        assert_eq!(names, [COMPLETENESS_HEADER, REASON_HEADER, FRAGMENTS_HEADER]);
                        let expected_score = format!("{:.3}", score.score());
                        assert_eq!(&headers.get(COMPLETENESS_HEADER).unwrap()[..], expected_score.as_bytes());
                        assert_eq!(&headers.get(REASON_HEADER).unwrap()[..], reason.as_str().as_bytes());
                        assert_eq!(&headers.get(FRAGMENTS_HEADER).unwrap()[..], n.to_string().as_bytes());
                    }
                }
            }
        }
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

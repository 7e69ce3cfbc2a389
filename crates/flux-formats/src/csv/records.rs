//! Cutting CSV input into records where csv-core says they end, so a
//! newline inside quotes stays inside its record.

use core::fmt;
use core::ops::Range;

use csv_core::{ReadRecordResult, Reader};
use flux_memory::{FrameErrorKind, Framed, Framer};

use super::quotes::ends_inside_quotes;

/// A [`Framer`] of CSV records: each frame is one record's bytes, its
/// terminator (`\n`, `\r` or `\r\n`) excluded; blank lines between records
/// are skipped, as csv-core skips them.
///
/// Record ends are found by csv-core, so quoted fields may hold
/// delimiters, newlines and doubled quotes. Each byte is looked at once: a
/// record cut by the end of a window is carried whole into the next, and
/// csv-core goes on from where it stopped. A record longer than the limit
/// is [`FrameErrorKind::Oversize`] at its first byte and skipped to its
/// end; input that ends inside a quoted field is
/// [`FrameErrorKind::TruncatedRecord`] at the record's first byte.
///
/// # Examples
///
/// ```
/// use flux_formats::CsvRecords;
/// use flux_memory::{Framed, Framer};
///
/// let mut records = CsvRecords::new(b',', b'"', 1024);
/// let input = b"id,note\r\n1,\"two\nlines\"\n2,x";
/// let mut pos = 0;
/// assert_eq!(records.next_frame(input, &mut pos), Framed::Frame(0..7));
/// assert_eq!(records.next_frame(input, &mut pos), Framed::Frame(9..22));
/// assert_eq!(records.next_frame(input, &mut pos), Framed::NeedMore);
/// assert_eq!(records.finish(input, &mut pos), Some(Framed::Frame(23..26)));
/// ```
pub struct CsvRecords {
    csv: Reader,
    delimiter: u8,
    quote: u8,
    max_record: usize,
    /// Bytes of the record at `*pos` already given to csv-core.
    fed: usize,
    /// Inside an oversize record: skip to its end.
    skipping: bool,
    skipped: u64,
    /// Scratch that csv-core copies fields into; framing discards it.
    scratch: Box<[u8]>,
    ends: [usize; 32],
}

impl CsvRecords {
    /// Records of fields split by `delimiter` and quoted by `quote`, each
    /// at most `max_record` bytes (terminator excluded).
    pub fn new(delimiter: u8, quote: u8, max_record: usize) -> Self {
        let csv = csv_core::ReaderBuilder::new().delimiter(delimiter).quote(quote).build();
        CsvRecords {
            csv,
            delimiter,
            quote,
            max_record,
            fed: 0,
            skipping: false,
            skipped: 0,
            scratch: vec![0; 4096].into_boxed_slice(),
            ends: [0; 32],
        }
    }

    /// The longest record in bytes.
    pub fn max_record(&self) -> usize {
        self.max_record
    }

    /// Feeds `window[from..]` to csv-core until a record ends (returning
    /// how many bytes that took) or the window does (`None`; all of it was
    /// fed).
    fn feed(&mut self, window: &[u8], from: usize) -> (Option<usize>, usize) {
        if from >= window.len() {
            // Empty input tells csv-core the input has ended: never here.
            return (None, 0);
        }
        let mut at = from;
        loop {
            let (result, read, _, _) = self.csv.read_record(&window[at..], &mut self.scratch, &mut self.ends);
            at += read;
            match result {
                ReadRecordResult::Record => return (Some(at - from), at - from),
                ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {}
                ReadRecordResult::InputEmpty | ReadRecordResult::End => return (None, at - from),
            }
            if at == window.len() {
                return (None, at - from);
            }
        }
    }

    /// Skips the blank lines before a record (csv-core skips them too).
    fn skip_blank_lines(window: &[u8], pos: &mut usize) {
        while window.get(*pos).is_some_and(|&b| b == b'\n' || b == b'\r') {
            *pos += 1;
        }
    }

    /// The record `start..end`, its terminator dropped, or an oversize error.
    fn record(&mut self, start: usize, end: usize, terminated: bool) -> Framed {
        let whole = end - start;
        let end = if terminated { end - 1 } else { end };
        if end - start > self.max_record {
            self.skipped += whole as u64;
            let length = Some((end - start) as u64);
            return Framed::Bad { at: start, kind: FrameErrorKind::Oversize { limit: self.max_record, length } };
        }
        Framed::Frame(Range { start, end })
    }
}

impl Framer for CsvRecords {
    fn next_frame(&mut self, window: &[u8], pos: &mut usize) -> Framed {
        if self.skipping {
            let (ended, read) = self.feed(window, *pos);
            *pos += read;
            self.skipped += read as u64;
            if ended.is_none() {
                return Framed::NeedMore;
            }
            self.skipping = false;
        }
        if self.fed == 0 {
            Self::skip_blank_lines(window, pos);
        }
        let start = *pos;
        let (ended, read) = self.feed(window, start + self.fed);
        self.fed += read;
        if ended.is_some() {
            let end = start + self.fed;
            self.fed = 0;
            *pos = end;
            return self.record(start, end, true);
        }
        if self.fed > self.max_record {
            // Past the limit with no end in sight: give up on it now.
            self.skipped += self.fed as u64;
            self.fed = 0;
            self.skipping = true;
            *pos = window.len();
            let kind = FrameErrorKind::Oversize { limit: self.max_record, length: None };
            return Framed::Bad { at: start, kind };
        }
        Framed::NeedMore
    }

    fn finish(&mut self, window: &[u8], pos: &mut usize) -> Option<Framed> {
        let start = *pos;
        *pos = window.len();
        let rest = window.len() - start;
        self.fed = 0;
        if self.skipping {
            self.skipping = false;
            self.skipped += rest as u64;
            return None;
        }
        if rest == 0 {
            return None;
        }
        if ends_inside_quotes(&window[start..], self.delimiter, self.quote) {
            self.skipped += rest as u64;
            return Some(Framed::Bad {
                at: start,
                kind: FrameErrorKind::TruncatedRecord { expected: None, have: rest },
            });
        }
        Some(self.record(start, window.len(), false))
    }

    /// A record of `max_record` bytes still waiting for its terminator
    /// (csv-core ends a record at its first terminator byte).
    fn max_carry(&self) -> usize {
        self.max_record
    }

    fn skipped_bytes(&self) -> u64 {
        self.skipped
    }
}

impl fmt::Debug for CsvRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvRecords")
            .field("max_record", &self.max_record)
            .field("fed", &self.fed)
            .field("skipping", &self.skipping)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

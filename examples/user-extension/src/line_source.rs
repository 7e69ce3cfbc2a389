//! A [`Source`] over an in-memory text, one envelope per line.

use core::fmt;
use std::error::Error;

use bytes::Bytes;
use flux_core::{
    Context, Cost, Envelope, Meta, Position, Pull, Pulled, Push, Rejected, Source, SourceError, SourceOutput,
};

/// Yields each line of a text as a [`Bytes`] slice of it (no copy), with
/// the line number as its sequence and the line's length as its byte cost.
///
/// Lines end at `\n` (a `\r` before it is dropped too); a final line with
/// no newline is still a line. A line longer than the limit is not an
/// error that stops the run: it is [`Pull::Rejected`] at
/// [`Position::ByteOffset`] of its first byte, so the engine turns it into
/// a dead letter naming this source, and the next line follows.
///
/// # Examples
///
/// ```
/// use flux_core::Pipeline;
/// use flux_test::VecSink;
/// use flux_user_extension::LineSource;
///
/// let source = LineSource::new("first\nsecond\n", 80);
/// let pipeline = Pipeline::from_source(source).sink(VecSink::new());
/// # let _ = pipeline;
/// ```
#[derive(Clone, Debug)]
pub struct LineSource {
    text: Bytes,
    /// Where the next line starts.
    offset: usize,
    next_sequence: u64,
    max_line: usize,
}

/// What the source found at its current offset.
enum Line {
    Read(Envelope<Bytes>),
    TooLong(Rejected),
}

impl LineSource {
    /// Lines of `text`, rejecting those longer than `max_line` bytes.
    pub fn new(text: impl Into<Bytes>, max_line: usize) -> Self {
        LineSource { text: text.into(), offset: 0, next_sequence: 0, max_line }
    }

    /// The next line, or `None` at the end of the text.
    fn next_line(&mut self) -> Option<Line> {
        let rest = self.text.get(self.offset..).filter(|rest| !rest.is_empty())?;
        let start = self.offset;
        let (len, step) = match rest.iter().position(|&b| b == b'\n') {
            Some(newline) => (newline, newline + 1),
            None => (rest.len(), rest.len()),
        };
        self.offset += step;
        let sequence = self.next_sequence;
        self.next_sequence += 1;

        let mut end = start + len;
        if end > start && self.text[end - 1] == b'\r' {
            end -= 1;
        }
        if end - start > self.max_line {
            let meta = Meta { sequence, ..Meta::default() };
            let cause = Box::new(LineTooLong { len: end - start, max: self.max_line });
            return Some(Line::TooLong(Rejected { meta, position: Position::ByteOffset(start as u64), cause }));
        }
        // A line can only be as long as `max_line`, so the cost saturates rather than wraps.
        let cost = Cost::bytes(u32::try_from(end - start).unwrap_or(u32::MAX));
        Some(Line::Read(Envelope::new(self.text.slice(start..end)).with_sequence(sequence).with_cost(cost)))
    }
}

impl Source for LineSource {
    type Item = Bytes;

    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<Bytes>, SourceError> {
        Ok(match self.next_line() {
            Some(Line::Read(line)) => Pull::Item(line),
            Some(Line::TooLong(rejected)) => Pull::Rejected(rejected),
            None => Pull::End,
        })
    }

    /// Emits a block of up to `budget` lines straight into the segment.
    ///
    /// Engines call this rather than [`Source::pull`]: each line goes to
    /// the fused stages after the source as soon as it is cut, with no
    /// [`Pull`] wrapped around it. Rejected lines count against the budget,
    /// so a text of nothing but over-long lines still yields to the engine.
    fn pull_into<D: Push<Bytes>>(
        &mut self,
        budget: usize,
        out: &mut SourceOutput<'_, '_, '_, D>,
    ) -> Result<Pulled, SourceError> {
        for _ in 0..budget {
            match self.next_line() {
                Some(Line::Read(line)) => out.emit(line),
                Some(Line::TooLong(rejected)) => out.reject(rejected),
                None => return Ok(Pulled::End),
            }
        }
        Ok(Pulled::More)
    }
}

/// A line longer than the source's limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineTooLong {
    /// The line's length in bytes.
    pub len: usize,
    /// The source's limit.
    pub max: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line of {} bytes is longer than the limit of {}", self.len, self.max)
    }
}

impl Error for LineTooLong {}

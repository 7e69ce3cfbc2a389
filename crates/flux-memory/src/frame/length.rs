//! Frames with a 4-byte big-endian length prefix.

use super::{FrameErrorKind, Framed, Framer};

const PREFIX: usize = 4;

/// Frames each preceded by its length as a `u32`, big-endian.
///
/// A frame longer than the maximum is reported as
/// [`FrameErrorKind::Oversize`] with the length its prefix gave, then
/// skipped by that length, so the stream stays in step. End of input inside
/// a prefix is [`FrameErrorKind::TruncatedPrefix`]; inside a record,
/// [`FrameErrorKind::TruncatedRecord`].
///
/// # Examples
///
/// ```
/// use flux_memory::{Framed, Framer, LengthPrefixed};
///
/// let mut framer = LengthPrefixed::new(1024);
/// let input = [0, 0, 0, 2, b'h', b'i', 0, 0];
/// let mut pos = 0;
/// assert_eq!(framer.next_frame(&input, &mut pos), Framed::Frame(4..6));
/// assert_eq!(framer.next_frame(&input, &mut pos), Framed::NeedMore);
/// ```
#[derive(Clone, Debug)]
pub struct LengthPrefixed {
    max_frame: usize,
    /// Bytes of an oversize frame's body still to skip.
    skip_remaining: u64,
    skipped: u64,
}

impl LengthPrefixed {
    /// A framer for frames of at most `max_frame` bytes (prefix excluded).
    pub fn new(max_frame: usize) -> Self {
        LengthPrefixed { max_frame, skip_remaining: 0, skipped: 0 }
    }

    /// The maximum frame size in bytes.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    fn skip(&mut self, window: &[u8], pos: &mut usize) {
        let n = usize::try_from(self.skip_remaining).unwrap_or(usize::MAX).min(window.len() - *pos);
        *pos += n;
        self.skip_remaining -= n as u64;
        self.skipped += n as u64;
    }
}

impl Framer for LengthPrefixed {
    #[inline]
    fn next_frame(&mut self, window: &[u8], pos: &mut usize) -> Framed {
        if self.skip_remaining > 0 {
            self.skip(window, pos);
            if self.skip_remaining > 0 {
                return Framed::NeedMore;
            }
        }
        let start = *pos;
        let Some(prefix) = window.get(start..start + PREFIX) else {
            return Framed::NeedMore;
        };
        let length = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let body = length as usize;
        if body > self.max_frame {
            *pos += PREFIX;
            self.skipped += PREFIX as u64;
            self.skip_remaining = u64::from(length);
            self.skip(window, pos);
            let kind = FrameErrorKind::Oversize { limit: self.max_frame, length: Some(u64::from(length)) };
            return Framed::Bad { at: start, kind };
        }
        // `window.len() - start >= PREFIX` here, so this cannot overflow,
        // whatever the limit.
        if body > window.len() - start - PREFIX {
            return Framed::NeedMore;
        }
        let end = start + PREFIX + body;
        *pos = end;
        Framed::Frame(start + PREFIX..end)
    }

    fn finish(&mut self, window: &[u8], pos: &mut usize) -> Option<Framed> {
        let start = *pos;
        let have = window.len() - start;
        *pos = window.len();
        if self.skip_remaining > 0 {
            // The oversize frame was reported when its prefix was read; the
            // input just ended before its body did.
            self.skipped += have as u64;
            self.skip_remaining = 0;
            return None;
        }
        let kind = match have {
            0 => return None,
            1..PREFIX => FrameErrorKind::TruncatedPrefix { have },
            _ => {
                let expected =
                    u32::from_be_bytes([window[start], window[start + 1], window[start + 2], window[start + 3]]);
                FrameErrorKind::TruncatedRecord { expected: Some(u64::from(expected)), have: have - PREFIX }
            }
        };
        self.skipped += have as u64;
        Some(Framed::Bad { at: start, kind })
    }

    /// A prefix and a body of `max_frame` bytes (`usize::MAX` when that
    /// does not fit in a `usize`: no limit at all).
    fn max_carry(&self) -> usize {
        PREFIX.saturating_add(self.max_frame)
    }

    /// A whole prefix, and either a whole body or a length past the limit.
    fn may_frame(&self, unconsumed: &[u8], _new_from: usize) -> bool {
        if self.skip_remaining > 0 {
            return true;
        }
        let Some(prefix) = unconsumed.first_chunk::<PREFIX>() else { return false };
        let body = u32::from_be_bytes(*prefix) as usize;
        body > self.max_frame || unconsumed.len() - PREFIX >= body
    }

    fn skipped_bytes(&self) -> u64 {
        self.skipped
    }
}

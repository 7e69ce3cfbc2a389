//! Turning a log line into a keyed fragment, without copying it.

use bytes::Bytes;
use flux_core::{Emit, Envelope, Instant, Position, Stage};

/// One part of a request, as slices of the line it came from.
pub(crate) enum Part {
    Start { path: Bytes },
    Auth { user: Bytes },
    End { status: Bytes, bytes: Bytes },
}

/// A line that is not `t=<ms> req=<id> <kind> <fields>`.
#[derive(Debug)]
pub(crate) struct Malformed(&'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed log line: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

/// Parses each line into a `Part` keyed by request id, with the line's
/// timestamp as event time. Keys and fields are `Bytes` slices of the line.
pub(crate) struct ParseLine;

impl Stage<Bytes> for ParseLine {
    type Out = Part;

    fn process(&mut self, input: Envelope<Bytes>, out: &mut impl Emit<Part>) {
        let (line, meta, cost) = input.into_parts();
        match parse(&line) {
            Ok((at, key, part)) => {
                let env = Envelope::from_parts(part, meta, cost).with_key(key).with_event_time(at);
                out.emit(env);
            }
            Err(e) => {
                let position = Position::Sequence(meta.sequence);
                out.dead_letter(meta, position, Box::new(e));
            }
        }
    }
}

fn parse(line: &Bytes) -> Result<(Instant, Bytes, Part), Malformed> {
    let text = line.as_ref();
    let mut fields = text.split(|&b| b == b' ');
    let t = fields.next().and_then(|f| f.strip_prefix(b"t=")).ok_or(Malformed("no timestamp"))?;
    let millis = std::str::from_utf8(t).ok().and_then(|t| t.parse().ok()).ok_or(Malformed("bad timestamp"))?;
    let req = fields.next().and_then(|f| f.strip_prefix(b"req=")).ok_or(Malformed("no request id"))?;
    let kind = fields.next().ok_or(Malformed("no kind"))?;
    let mut value = |name: &'static [u8]| {
        let field = fields.next().and_then(|f| f.strip_prefix(name)).ok_or(Malformed("missing field"))?;
        Ok(line.slice_ref(field))
    };
    let part = match kind {
        b"start" => Part::Start { path: value(b"path=")? },
        b"auth" => Part::Auth { user: value(b"user=")? },
        b"end" => Part::End { status: value(b"status=")?, bytes: value(b"bytes=")? },
        _ => return Err(Malformed("unknown kind")),
    };
    Ok((Instant::from_millis(millis), line.slice_ref(req), part))
}

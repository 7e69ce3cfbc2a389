//! A request, accumulated from its `start`, `auth` and `end` fragments.

use std::error::Error;

use bytes::{BufMut, Bytes, BytesMut};
use flux_core::{Accumulator, Completeness, EmitReason, Envelope};

use crate::parse::Part;

impl Part {
    fn map(self, mut f: impl FnMut(Bytes) -> Bytes) -> Part {
        match self {
            Part::Start { path } => Part::Start { path: f(path) },
            Part::Auth { user } => Part::Auth { user: f(user) },
            Part::End { status, bytes } => Part::End { status: f(status), bytes: f(bytes) },
        }
    }
}

/// Which parts have arrived, as bits, and their fields.
#[derive(Default)]
pub(crate) struct Request {
    seen: u64,
    path: Bytes,
    user: Bytes,
    status: Bytes,
    bytes: Bytes,
}

const ALL_PARTS: u64 = 0b111;

/// Merges parts per request id; complete when all three have arrived.
pub(crate) struct RequestTemplate;

impl Accumulator for RequestTemplate {
    type Fragment = Part;
    type State = Request;
    type Output = Bytes;

    fn open(&mut self, _id: &Bytes) -> Request {
        Request::default()
    }

    /// Fields are copied out of the input line: a request can stay open for
    /// the whole run, and a slice would pin the input slab it points into.
    fn merge(&mut self, request: &mut Request, part: Envelope<Part>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let own = |field: Bytes| Bytes::copy_from_slice(&field);
        match part.into_payload().map(own) {
            Part::Start { path } => (request.path, request.seen) = (path, request.seen | 0b001),
            Part::Auth { user } => (request.user, request.seen) = (user, request.seen | 0b010),
            Part::End { status, bytes } => {
                (request.status, request.bytes, request.seen) = (status, bytes, request.seen | 0b100);
            }
        }
        Ok(())
    }

    fn completeness(&self, request: &Request) -> Completeness {
        Completeness::from_mask(request.seen, ALL_PARTS)
    }

    /// One CSV line: id, path, user, status, bytes, why it was emitted.
    fn close(&mut self, id: Bytes, r: Request, reason: EmitReason) -> Bytes {
        let mut line = BytesMut::with_capacity(64);
        for field in [&id, &r.path, &r.user, &r.status, &r.bytes] {
            line.put_slice(field);
            line.put_u8(b',');
        }
        line.put_slice(reason.as_str().as_bytes());
        line.freeze()
    }

    fn state_bytes(&self, _request: &Request) -> usize {
        std::mem::size_of::<Request>()
    }
}

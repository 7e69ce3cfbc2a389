//! What a refill reads into: a pooled slab (the usual case), or a grown
//! buffer for a partial frame that has filled a whole slab.

use std::io::{self, Read};

use bytes::Bytes;

use super::grown::Grown;
use crate::Slab;

/// A slab or a grown buffer, being filled.
pub(super) enum Buffer {
    Slab(Slab),
    Grown(Grown),
}

impl Buffer {
    pub(super) fn len(&self) -> usize {
        match self {
            Buffer::Slab(slab) => slab.len(),
            Buffer::Grown(grown) => grown.len(),
        }
    }

    pub(super) fn is_full(&self) -> bool {
        match self {
            Buffer::Slab(slab) => slab.is_full(),
            Buffer::Grown(grown) => grown.is_full(),
        }
    }

    pub(super) fn filled(&self) -> &[u8] {
        match self {
            Buffer::Slab(slab) => slab.filled(),
            Buffer::Grown(grown) => grown.filled(),
        }
    }

    pub(super) fn fill_from(&mut self, input: &mut impl Read) -> io::Result<usize> {
        match self {
            Buffer::Slab(slab) => slab.fill_from(input),
            Buffer::Grown(grown) => grown.fill_from(input),
        }
    }

    pub(super) fn freeze(self) -> Bytes {
        match self {
            Buffer::Slab(slab) => slab.freeze(),
            Buffer::Grown(grown) => grown.freeze(),
        }
    }
}

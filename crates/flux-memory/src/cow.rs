//! Fan-out without copies, and copy-on-write when a branch must change bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};

/// Counts what fan-out branches did with a frame: shared it (a reference
/// count, no copy) or took their own copy to change it.
///
/// Every branch of a fan-out gets the same slab slice through
/// [`CopyOnWrite::share`]. A branch that must modify the bytes calls
/// [`CopyOnWrite::to_mut`]: the bytes are copied only if another reference
/// to them exists (always the case for a pooled slab slice, whose slab may
/// hold other frames), and each copy is counted. Clones share the counters.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_memory::CopyOnWrite;
///
/// let cow = CopyOnWrite::default();
/// let frame = Bytes::from(b"shared".to_vec());
/// let branch = cow.share(&frame);       // no copy
/// let mut own = cow.to_mut(branch);     // `frame` still refers: copy
/// own[0] = b'S';
/// assert_eq!(&own[..], b"Shared");
/// assert_eq!(&frame[..], b"shared");
/// let unique = cow.to_mut(frame);       // last reference: no copy
/// assert_eq!((cow.shares(), cow.copies()), (1, 1));
/// # let _ = unique;
/// ```
#[derive(Clone, Debug, Default)]
pub struct CopyOnWrite {
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    shares: AtomicU64,
    copies: AtomicU64,
    copied_bytes: AtomicU64,
}

impl CopyOnWrite {
    /// Another reference to `frame` for one more branch; copies nothing.
    #[inline]
    pub fn share(&self, frame: &Bytes) -> Bytes {
        self.counts.shares.fetch_add(1, Ordering::Relaxed);
        frame.clone()
    }

    /// The bytes of `frame` to modify: taken over when `frame` is the only
    /// reference to a plain buffer, copied (and counted) otherwise.
    pub fn to_mut(&self, frame: Bytes) -> BytesMut {
        frame.try_into_mut().unwrap_or_else(|shared| {
            self.counts.copies.fetch_add(1, Ordering::Relaxed);
            self.counts.copied_bytes.fetch_add(shared.len() as u64, Ordering::Relaxed);
            BytesMut::from(&shared[..])
        })
    }

    /// Frames shared with another branch.
    pub fn shares(&self) -> u64 {
        self.counts.shares.load(Ordering::Relaxed)
    }

    /// Frames a branch had to copy.
    pub fn copies(&self) -> u64 {
        self.counts.copies.load(Ordering::Relaxed)
    }

    /// Bytes those copies moved.
    pub fn copied_bytes(&self) -> u64 {
        self.counts.copied_bytes.load(Ordering::Relaxed)
    }
}

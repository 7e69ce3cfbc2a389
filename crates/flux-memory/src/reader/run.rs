//! Frames handed out in runs, each run counting its own references.
//!
//! Every `Bytes` slice of one slab shares the slab's one atomic reference
//! count. When a slab's frames are made on one thread and dropped on
//! another (a source segment on one core feeding stages on the other),
//! each frame's increment on the first core and its decrement on the second
//! fight over that count's cache line, once per frame: in a decode, frame,
//! parse and count job this took about half of both cores' time
//! (docs/BENCHMARKS.md). A run gives the frames handed out together a count
//! of their own: the run holds one reference to the slab, its frames hold
//! references to the run, and the next run starts a fresh count. A
//! boundary moves a run's frames on together, so the line holding a run's
//! count changes cores about once per run rather than once per frame.

use bytes::Bytes;

/// Frames per run: half a boundary's batch (512 by default), so that the
/// run the reader is still cutting is rarely the one a consumer on another
/// core is dropping. A run costs one allocation and two reference counts on
/// the slab; with the count of frames in the reader's loop, about 13
/// instructions a frame on one thread (docs/BENCHMARKS.md).
pub(super) const FRAMES_PER_RUN: usize = 256;

/// The window as the frames of one run slice it: the same bytes, through a
/// count of the run's own.
#[derive(Debug)]
pub(super) struct Run(pub(super) Bytes);

impl Run {
    /// A run of frames of `window`.
    #[inline]
    pub(super) fn new(window: &Bytes) -> Self {
        Run(Bytes::from_owner(RunOwner(window.clone())))
    }
}

/// What a run's count keeps alive: one reference to the window. Aligned to
/// a cache line so that the count (which `bytes` keeps just before it) never
/// shares a line with another run's count, or with anything else the
/// allocator hands out beside it.
#[repr(align(64))]
struct RunOwner(Bytes);

impl AsRef<[u8]> for RunOwner {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A window whose owner reports when it is dropped, so a test can see
    /// when the last reference to it went.
    fn tracked_window(text: &'static [u8]) -> (Bytes, Arc<()>) {
        struct Tracked(&'static [u8], #[allow(dead_code)] Arc<()>);
        impl AsRef<[u8]> for Tracked {
            fn as_ref(&self) -> &[u8] {
                self.0
            }
        }
        let alive = Arc::new(());
        (Bytes::from_owner(Tracked(text, alive.clone())), alive)
    }

    #[test]
    fn frames_of_a_run_slice_the_window_and_keep_it_alive_until_the_last_goes() {
        let (window, alive) = tracked_window(b"alpha\nbeta\n");
        let run = Run::new(&window);
        let alpha = run.0.slice_ref(&window[0..5]);
        let beta = run.0.slice_ref(&window[6..10]);
        assert_eq!((&alpha[..], &beta[..]), (&b"alpha"[..], &b"beta"[..]));
        assert_eq!(alpha.as_ptr(), window.as_ptr(), "a frame is a slice of the window, not a copy");
        drop(run);
        drop(window);
        drop(alpha);
        assert_eq!(Arc::strong_count(&alive), 2, "a frame still holds the window through its run");
        drop(beta);
        assert_eq!(Arc::strong_count(&alive), 1, "the run's last frame let the window go");
    }

    #[test]
    fn a_runs_owner_sits_alone_on_its_cache_line() {
        assert_eq!(core::mem::align_of::<RunOwner>(), 64);
        assert_eq!(core::mem::size_of::<RunOwner>(), 64);
    }
}

//! loom model of the one place where threads meet in the sync engine: a
//! pending source woken from another thread while the engine parks.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p flux-engine-sync --release --test loom`
//! (use a separate target directory: the flag changes every crate's build).

#![cfg(loom)]

use std::task::Waker;

use loom::sync::{Arc, Mutex};

use flux_core::{Context, Envelope, Pipeline, Pull, Runnable, Source, SourceError};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_test::VecSink;

/// Pending until another thread wakes it (handing that thread its waker),
/// then one item, then the end.
struct WokenElsewhere {
    sent: bool,
    waker: Arc<Mutex<Option<Waker>>>,
    woken: Arc<loom::sync::atomic::AtomicBool>,
}

impl Source for WokenElsewhere {
    type Item = u32;

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<u32>, SourceError> {
        if !self.woken.load(loom::sync::atomic::Ordering::Acquire) {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            return Ok(Pull::Pending);
        }
        Ok(match std::mem::replace(&mut self.sent, true) {
            false => Pull::Item(Envelope::new(7)),
            true => Pull::End,
        })
    }
}

/// However the wake and the engine's park interleave (the wake before the
/// park, during it, or a spurious unpark), the engine asks again after the
/// wake and the run ends with the item: no wake is lost, and the engine
/// does not park for ever.
#[test]
fn a_wake_from_another_thread_is_never_lost_to_the_engines_park() {
    loom::model(|| {
        let waker: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let woken = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let source = WokenElsewhere { sent: false, waker: Arc::clone(&waker), woken: Arc::clone(&woken) };
        let out = VecSink::new();
        let pipeline = Pipeline::from_source(source).sink(out.clone());
        let plan = Planner::new().plan(pipeline.describe()).unwrap();
        let slot = Arc::clone(&waker);
        let waking = loom::thread::spawn(move || {
            // Wait until the source has handed over its waker.
            let handed = loop {
                if let Some(handed) = waker.lock().unwrap().take() {
                    break handed;
                }
                loom::thread::yield_now();
            };
            woken.store(true, loom::sync::atomic::Ordering::Release);
            handed.wake_by_ref();
            // Handed back, so the last reference to the engine's waker is
            // dropped after the join: the waker's own `Arc` is std's, whose
            // count loom does not see, so it would see that drop race the
            // wake's store. (The waker travels through loom's mutex, which
            // orders its making before the wake.)
            *waker.lock().unwrap() = Some(handed);
        });
        let report = SyncEngine::new().with_trace(false).run(&plan, pipeline).unwrap();
        waking.join().unwrap();
        drop(slot.lock().unwrap().take());
        assert_eq!(out.payloads(), [7]);
        assert_eq!(report.row("sink").unwrap().counts.consumed, 1);
    });
}

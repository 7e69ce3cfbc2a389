//! A source that waits on the outside world: the engine blocks its thread
//! until the source's waker is woken (by value, from another thread), asks
//! once per wake, and keeps its virtual clock still.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use flux_core::{Context, Envelope, Instant, Pipeline, Pull, Runnable, Source, SourceError};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_test::VecSink;

/// Has an item only once another thread has said so, and then wakes the
/// engine with its own copy of the waker.
struct External {
    next: u64,
    said: Arc<AtomicBool>,
    asked: bool,
    polls: Arc<AtomicU64>,
}

const ITEMS: u64 = 50;

impl Source for External {
    type Item = u64;

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.next == ITEMS {
            return Ok(Pull::End);
        }
        if self.said.swap(false, Ordering::SeqCst) {
            self.asked = false;
            self.next += 1;
            return Ok(Pull::Item(Envelope::new(self.next - 1).with_sequence(self.next - 1)));
        }
        if !self.asked {
            self.asked = true;
            let (said, waker) = (self.said.clone(), cx.waker().clone());
            std::thread::spawn(move || {
                said.store(true, Ordering::SeqCst);
                waker.wake();
            });
        }
        Ok(Pull::Pending)
    }
}

#[test]
fn a_pending_source_is_asked_again_once_per_wake_and_no_virtual_time_passes() {
    let polls = Arc::new(AtomicU64::new(0));
    let source = External { next: 0, said: Arc::default(), asked: false, polls: polls.clone() };
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();

    assert_eq!(out.payloads(), (0..ITEMS).collect::<Vec<_>>());
    // One poll that finds nothing, one after the wake, per item; one for
    // the end. An engine that polled while nothing had woken it would ask
    // more often.
    assert_eq!(polls.load(Ordering::SeqCst), 2 * ITEMS + 1);
    assert_eq!(report.end_time, Instant::ZERO);
}

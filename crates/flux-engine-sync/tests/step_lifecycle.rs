//! Every builder step hands the open and the close on to the stage after
//! it: a sink behind all of them, fused into one segment, is opened before
//! its first write and closed after its last.

use std::sync::{Arc, Mutex};
use std::task::Poll;

use flux_core::{Context, Envelope, Instant, Pipeline, Runnable, Sink, WriteError};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::IterSource;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What the sink saw, in order: `open`, one `write N` per record, `close`,
/// `committed`.
#[derive(Clone, Debug, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn note(&self, event: String) {
        self.0.lock().unwrap().push(event);
    }

    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A sink that must be opened before it is written to.
#[derive(Debug)]
struct Connected {
    journal: Journal,
    open: bool,
}

impl Sink<u64> for Connected {
    fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        if !self.open {
            return Err(WriteError::new(item.meta().clone(), "written before it was opened"));
        }
        self.journal.note(format!("write {}", item.payload()));
        Ok(())
    }

    fn poll_open(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        self.open = true;
        self.journal.note("open".to_owned());
        Poll::Ready(Ok(()))
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Failure> {
        self.journal.note("close".to_owned());
        Ok(())
    }

    fn poll_close(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        self.journal.note("committed".to_owned());
        Poll::Ready(Ok(()))
    }
}

#[test]
fn a_sink_behind_every_builder_step_is_opened_before_its_first_write_and_closed_after_its_last() {
    let journal = Journal::default();
    let pipeline = Pipeline::from_source(IterSource::new(0..6u64))
        .map(|n| n + 1)
        .map_with_meta(|n, _meta| n * 10)
        .filter(|n| *n != 30)
        .filter_with_meta(|_n, _meta| true)
        .key_by(|n: &u64| *n)
        .split_key(|n: u64| (n, n))
        .event_time(|n: &u64| Instant::from_millis(*n))
        .flat_map(|n| [n])
        .try_map(|n: u64| Ok::<u64, &str>(n / 10))
        .inspect(|_n| {})
        .sink(Connected { journal: journal.clone(), open: false });
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    assert_eq!(plan.segments().len(), 1, "every step fused with the source and the sink");
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let expected = ["open", "write 1", "write 2", "write 4", "write 5", "write 6", "close", "committed"];
    assert_eq!(journal.events(), expected);
}

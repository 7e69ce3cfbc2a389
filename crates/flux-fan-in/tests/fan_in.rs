//! Fan-in through the sync engine: both orders, waiting sources, unique
//! sequences, and errors that name their source.

use std::error::Error;

use flux_core::{
    Context, EngineHint, Envelope, Instant, Meta, Pipeline, Position, Pull, Rejected, Runnable, Source, SourceError,
};
use flux_engine_sync::{RunError, RunReport, SyncEngine};
use flux_fan_in::{FanIn, FromSource, Sourced};
use flux_plan::Planner;
use flux_test::{IterSource, TimedSource, VecSink};

fn run<S: Source + 'static>(source: S) -> (Result<RunReport, RunError>, VecSink<S::Item>)
where
    S::Item: Send + Clone + 'static,
{
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    (SyncEngine::new().run(&plan, pipeline), out)
}

/// `(engine second, event second, name)` as a timed source.
fn timed(items: &[(u64, u64, &'static str)]) -> TimedSource<&'static str> {
    TimedSource::new(
        items
            .iter()
            .enumerate()
            .map(|(i, &(at, event, name))| {
                let envelope = Envelope::new(name).with_sequence(i as u64).with_event_time(Instant::from_secs(event));
                (Instant::from_secs(at), envelope)
            })
            .collect(),
    )
}

fn tagged(out: &VecSink<Sourced<&'static str>>) -> Vec<(u64, usize, &'static str)> {
    out.take().into_iter().map(|e| (e.meta().sequence, e.payload().source, e.payload().item)).collect()
}

#[test]
fn as_ready_takes_each_source_in_turn_and_numbers_every_item_once() {
    let fan_in = FanIn::as_ready()
        .source(IterSource::new(["a0", "a1", "a2"]))
        .source(IterSource::new(["b0"]))
        .source(IterSource::new(["c0", "c1"]));
    let (report, out) = run(fan_in);
    assert_eq!(report.unwrap().row("source").unwrap().emitted, 6);
    assert_eq!(
        tagged(&out),
        [(0, 0, "a0"), (1, 1, "b0"), (2, 2, "c0"), (3, 0, "a1"), (4, 2, "c1"), (5, 0, "a2")],
        "every source's own sequences start at 0: the fan-in renumbers"
    );
}

#[test]
fn as_ready_goes_on_with_the_others_while_one_waits() {
    let fan_in = FanIn::as_ready()
        .source(timed(&[(5, 0, "late-0"), (5, 0, "late-1")]))
        .source(timed(&[(0, 0, "now-0"), (1, 0, "now-1")]));
    let (report, out) = run(fan_in);
    let report = report.unwrap();
    let names: Vec<&str> = tagged(&out).into_iter().map(|(_, _, name)| name).collect();
    assert_eq!(names, ["now-0", "now-1", "late-0", "late-1"]);
    assert_eq!(report.end_time, Instant::from_secs(5));
}

#[test]
fn by_event_time_merges_in_one_time_order_whatever_the_sources_order() {
    // Two sources, each in event-time order, their items split between
    // them every way a 6-bit mask can: the merge is the sorted whole.
    let events: Vec<(u64, &'static str)> = vec![(1, "e1"), (2, "e2"), (3, "e3"), (5, "e5"), (8, "e8"), (13, "e13")];
    for mask in 0u32..64 {
        let (left, right): (Vec<_>, Vec<_>) = events.iter().enumerate().partition(|(i, _)| mask & (1 << i) != 0);
        let side = |part: Vec<(usize, &(u64, &'static str))>| -> Vec<(u64, u64, &'static str)> {
            part.into_iter().map(|(_, &(event, name))| (0, event, name)).collect()
        };
        let fan_in = FanIn::by_event_time().source(timed(&side(left))).source(timed(&side(right)));
        let (report, out) = run(fan_in);
        assert!(report.unwrap().dead_letters.is_empty());
        let merged = tagged(&out);
        let names: Vec<&str> = merged.iter().map(|&(_, _, name)| name).collect();
        assert_eq!(names, ["e1", "e2", "e3", "e5", "e8", "e13"], "mask {mask:06b}");
        let sources: Vec<usize> = merged.iter().map(|&(_, source, _)| source).collect();
        let expected: Vec<usize> = (0..6).map(|i| usize::from(mask & (1 << i) == 0)).collect();
        assert_eq!(sources, expected, "mask {mask:06b}: each item keeps its source");
        assert_eq!(merged.iter().map(|&(seq, _, _)| seq).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    }
}

#[test]
fn by_event_time_holds_the_merge_while_a_source_waits_for_its_next_item() {
    // Source 1's item (event 2) only comes at engine time 10: event 3 of
    // source 0 must wait for it, or the order breaks.
    let fan_in = FanIn::by_event_time().source(timed(&[(0, 1, "e1"), (0, 3, "e3")])).source(timed(&[(10, 2, "e2")]));
    let (report, out) = run(fan_in);
    let report = report.unwrap();
    let names: Vec<&str> = tagged(&out).into_iter().map(|(_, _, name)| name).collect();
    assert_eq!(names, ["e1", "e2", "e3"]);
    assert_eq!(report.end_time, Instant::from_secs(10));
}

/// Items, then a rejected piece of input at byte 40, then an I/O error at
/// byte 90.
struct Flaky(u64);

impl Source for Flaky {
    type Item = &'static str;
    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<&'static str>, SourceError> {
        self.0 += 1;
        match self.0 {
            1 => Ok(Pull::Item(Envelope::new("flaky-ok").with_sequence(0))),
            2 => Ok(Pull::Rejected(Rejected {
                meta: Meta { sequence: 1, ..Meta::default() },
                position: Position::ByteOffset(40),
                cause: "line too long".into(),
            })),
            _ => Err(SourceError { position: Position::ByteOffset(90), cause: "disk gone".into() }),
        }
    }
}

#[test]
fn a_rejected_input_and_an_error_name_the_source_they_came_from() {
    let fan_in = FanIn::as_ready()
        .source(IterSource::new(["a0", "a1", "a2"]))
        .source(Flaky(0))
        .source(IterSource::new(["c0", "c1"]));
    let (result, out) = run(fan_in);
    let error = result.unwrap_err();
    assert_eq!(error.to_string(), "stage `source` stopped the run at byte 90");
    let cause = Error::source(&error).unwrap().downcast_ref::<FromSource>().expect("a FromSource");
    assert_eq!((cause.source, cause.cause.to_string()), (1, "disk gone".to_owned()));
    let report = error.report().unwrap();
    let dead = &report.dead_letters[0];
    assert_eq!(dead.error.position(), Position::ByteOffset(40));
    assert_eq!(dead.error.to_string(), "stage `source` failed at byte 40");
    let rejected = Error::source(&dead.error).unwrap().downcast_ref::<FromSource>().unwrap();
    assert_eq!((rejected.source, rejected.cause.to_string()), (1, "line too long".to_owned()));
    // In turn: a0, flaky-ok, c0, a1, (rejected), c1, a2, then the error;
    // one sequence for each, the rejected input's included, and the turn
    // passes on after a rejected input as after an item.
    let out = tagged(&out);
    assert_eq!(out, [(0, 0, "a0"), (1, 1, "flaky-ok"), (2, 2, "c0"), (3, 0, "a1"), (5, 2, "c1"), (6, 0, "a2")]);
    assert_eq!(dead.meta.sequence, 4);
}

#[test]
fn a_fan_in_of_no_source_ends_at_once() {
    let (report, out) = run(FanIn::<u8>::as_ready());
    assert_eq!(report.unwrap().row("source").unwrap().emitted, 0);
    assert!(out.payloads().is_empty());
}

/// Always waits for the instant it is asked at.
struct WaitsNow;

impl Source for WaitsNow {
    type Item = &'static str;
    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<&'static str>, SourceError> {
        Ok(Pull::Wait(cx.now()))
    }
}

#[test]
fn a_source_stuck_waiting_for_now_stops_the_run_instead_of_spinning_the_merge() {
    let fan_in = FanIn::by_event_time().source(timed(&[(0, 1, "e1")])).source(WaitsNow);
    let (result, out) = run(fan_in);
    let error = result.unwrap_err();
    assert!(matches!(error.kind(), flux_engine_sync::RunErrorKind::StuckSource { .. }), "{error}");
    assert!(out.payloads().is_empty(), "e1 waits for the stuck source's next item");
}

/// Waits until engine time 5, then gives one item; counts how often it is
/// asked.
struct Later(std::sync::Arc<std::sync::atomic::AtomicU64>, bool);

impl Source for Later {
    type Item = &'static str;
    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<&'static str>, SourceError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if cx.now() < Instant::from_secs(5) {
            return Ok(Pull::Wait(Instant::from_secs(5)));
        }
        if std::mem::replace(&mut self.1, true) { Ok(Pull::End) } else { Ok(Pull::Item(Envelope::new("later"))) }
    }
}

#[test]
fn a_waiting_source_is_not_asked_again_before_its_time() {
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let fan_in =
        FanIn::as_ready().source(Later(asked.clone(), false)).source(IterSource::new(["n0", "n1", "n2", "n3"]));
    assert_eq!((fan_in.len(), fan_in.is_empty()), (2, false));
    assert!(format!("{fan_in:?}").contains("sources: 2"), "{fan_in:?}");
    let (report, out) = run(fan_in);
    assert_eq!(report.unwrap().end_time, Instant::from_secs(5));
    let names: Vec<&str> = tagged(&out).into_iter().map(|(_, _, name)| name).collect();
    assert_eq!(names, ["n0", "n1", "n2", "n3", "later"]);
    // Once before 5 s (it says to wait), then for its item and its end.
    assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 3);
    assert!(FanIn::<u8>::as_ready().is_empty());
}

/// A source that asks to run where `hint` says, and makes nothing.
struct Hinted(EngineHint);

impl Source for Hinted {
    type Item = &'static str;

    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<&'static str>, SourceError> {
        Ok(Pull::End)
    }

    fn engine_hint(&self) -> EngineHint {
        self.0
    }
}

#[test]
fn a_fan_in_asks_for_the_strongest_of_its_sources_hints() {
    let fan_in = |hints: &[EngineHint]| {
        hints.iter().fold(FanIn::as_ready(), |fan_in, &hint| fan_in.source(Hinted(hint))).engine_hint()
    };
    assert_eq!(fan_in(&[]), EngineHint::Any);
    assert_eq!(fan_in(&[EngineHint::Any, EngineHint::Any]), EngineHint::Any);
    assert_eq!(fan_in(&[EngineHint::Any, EngineHint::Isolate]), EngineHint::Isolate);
    assert_eq!(fan_in(&[EngineHint::Isolate, EngineHint::Any]), EngineHint::Isolate);
    assert_eq!(fan_in(&[EngineHint::Blocking, EngineHint::Isolate]), EngineHint::Blocking);
    assert_eq!(fan_in(&[EngineHint::Isolate, EngineHint::Blocking, EngineHint::Any]), EngineHint::Blocking);
}

/// Two framed sources, each on a pool of 64-byte slabs (four of its 16-byte
/// lines a slab), through a fan-in with a boundary after it (the default
/// planner cuts there: its sources ask for a thread of their own). Each
/// source asks for what it made to be sent on before it rents its next
/// slab (`Pull::Flush`), and the fan-in asks the engine the same, in either
/// order: one slab of each is out at a time, where a batch gathered across
/// slabs would hold them all.
#[test]
fn framed_sources_in_a_fan_in_send_each_slabs_lines_on_before_the_next_slab() {
    use flux_core::BufferPool;
    use flux_fan_in::Order;
    use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool, assert_no_leaks};
    use flux_steps::Steps;

    for order in [Order::AsReady, Order::ByEventTime] {
        let pools = ["a", "b"].map(|name| SlabPool::new(name, PoolConfig::default().slab_size(64).max_slabs(64)));
        let framed = |pool: &SlabPool| {
            let lines: &'static str =
                (0..30).map(|i| format!("{} line {i:03} here\n", pool.name())).collect::<String>().leak();
            FramedSource::new(lines.as_bytes(), pool.clone(), NewlineDelimited::new(32)).unwrap()
        };
        let fan_in = FanIn::new(order).source(framed(&pools[0])).source(framed(&pools[1]));
        let out = VecSink::new();
        // Each line let go of once read: the sink keeps its source and length.
        let pipeline =
            Pipeline::from_source(fan_in).map(|line: Sourced<_>| (line.source, line.item.len())).sink(out.clone());
        let plan = Planner::new().plan(pipeline.describe()).unwrap();
        assert!(matches!(plan.junctions[0], flux_core::Junction::Boundary(_)), "cut after the fan-in");

        let report = SyncEngine::new().run(&plan, pipeline).unwrap_or_else(|error| panic!("{order:?}: {error:?}"));

        let mut seen = out.payloads();
        seen.sort_unstable();
        let expected: Vec<(usize, usize)> = [0, 1].into_iter().flat_map(|source| [(source, 15); 30]).collect();
        assert_eq!(seen, expected, "{order:?}: every line of both");
        assert_eq!(report.edges[0].envelopes_sent, 60);
        for pool in &pools {
            assert_eq!(pool.stats().high_water, 1, "{order:?}");
            assert_no_leaks(pool);
        }
    }
}

/// Pending before each of its items (waking its waker at once, as a socket
/// would once data came), then its items, then the end.
struct PendingFirst {
    items: std::collections::VecDeque<&'static str>,
    ready: bool,
}

impl Source for PendingFirst {
    type Item = &'static str;

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<&'static str>, SourceError> {
        if !self.ready && !self.items.is_empty() {
            self.ready = true;
            cx.waker().wake_by_ref();
            return Ok(Pull::Pending);
        }
        self.ready = false;
        Ok(self.items.pop_front().map_or(Pull::End, |item| Pull::Item(Envelope::new(item))))
    }
}

/// A source that waits to be woken (`Pull::Pending`: a stream, an async
/// reader) in a fan-in: the fan-in says pending when nothing else is ready,
/// and every item of both sources comes out, in either order (it failed
/// the run as a kind of pull it did not know).
#[test]
fn a_source_pending_until_woken_is_asked_again_in_either_order() {
    for fan_in in [FanIn::as_ready(), FanIn::by_event_time()] {
        let pending = PendingFirst { items: ["p1", "p2"].into(), ready: false };
        let fan_in = fan_in.source(pending).source(IterSource::new(["i1", "i2", "i3"]));
        let (report, out) = run(fan_in);
        assert!(report.unwrap().problems.is_empty());
        let mut items: Vec<_> = out.take().into_iter().map(|e| (e.payload().source, e.payload().item)).collect();
        items.sort_unstable();
        assert_eq!(items, [(0, "p1"), (0, "p2"), (1, "i1"), (1, "i2"), (1, "i3")]);
    }
}

/// With nothing else to take, a fan-in whose one open source is pending
/// says pending, and one with a source waiting on the clock says wait.
#[test]
fn nothing_ready_is_pending_only_when_no_source_waits_on_the_clock() {
    let mut diverted = flux_test::Diverted::default();
    let mut cx = Context::new(Instant::ZERO, &mut diverted);
    let mut alone = FanIn::as_ready().source(PendingFirst { items: ["p"].into(), ready: false });
    assert!(matches!(alone.pull(&mut cx).unwrap(), Pull::Pending));
    let at = |s| (Instant::from_secs(s), Envelope::new("t"));
    let timed = TimedSource::new(vec![at(5)]);
    let mut both = FanIn::as_ready().source(PendingFirst { items: ["p"].into(), ready: false }).source(timed);
    assert!(matches!(both.pull(&mut cx).unwrap(), Pull::Wait(at) if at == Instant::from_secs(5)));
}

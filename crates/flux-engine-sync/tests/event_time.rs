//! Time in replays: with `clock_follows_event_time`, a file read at once
//! meets its TTLs and latencies where the live feed did.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use flux_accumulate::{AccumulateExt, AtEnd, Keyed, Policy, REASON_HEADER, TimerStart, collect};
use flux_core::{
    Context, Emit, Envelope, Instant, Pipeline, Pulled, Purity, Runnable, Sink, Source, SourceError, SourceOutput,
    Stage, WriteError,
};
use flux_engine_sync::{Decision, RunErrorKind, RunReport, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::TimedSource;

fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

fn seconds(at: Instant) -> u64 {
    at.as_nanos() / 1_000_000_000
}

/// What happened, in order: each input as it reached the accumulator, and
/// each record as the sink wrote it, with the engine time of each.
type Log = Arc<Mutex<Vec<String>>>;

/// A click: its key in the envelope's metadata, its value, its event time.
fn click(key: &'static str, value: u32, at: Option<u64>) -> Envelope<u32> {
    let envelope = Envelope::new(value).with_key(Bytes::from_static(key.as_bytes()));
    match at {
        Some(at) => envelope.with_event_time(secs(at)),
        None => envelope,
    }
}

/// Notes each input with the time it arrived, and passes it on. Its own
/// segment, so its arrivals cross a boundary as the accumulator's do.
struct Arrivals(Log);

impl Stage<u32> for Arrivals {
    type Out = u32;
    fn purity(&self) -> Purity {
        Purity::Stateful
    }
    fn process(&mut self, input: Envelope<u32>, out: &mut impl Emit<u32>) {
        let key = String::from_utf8(input.meta().key.clone().unwrap_or_default().to_vec()).unwrap();
        self.0.lock().unwrap().push(format!("{} in {key}{}", seconds(out.now()), input.payload()));
        out.emit(input);
    }
}

/// Notes each record with its reason and the time it was written.
struct Written(Log);

impl Sink<Keyed<Vec<u32>>> for Written {
    fn write(&mut self, item: Envelope<Keyed<Vec<u32>>>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        let reason = String::from_utf8(item.meta().headers.get(REASON_HEADER).unwrap().to_vec()).unwrap();
        let record = item.payload();
        let key = String::from_utf8(record.key.to_vec()).unwrap();
        self.0.lock().unwrap().push(format!("{} out {key} {:?} {reason}", seconds(cx.now()), record.value));
        Ok(())
    }
}

/// An inactivity TTL of a minute, and no group open longer than three.
fn sessions() -> Policy {
    Policy::builder()
        .ttl(Duration::from_secs(60), TimerStart::LastFragment)
        .max_latency(Duration::from_secs(180))
        .build()
        .unwrap()
}

/// Runs `source` through `Arrivals` and an accumulator with `policy`, on
/// event time or not; the log and the report.
fn run<S>(source: S, policy: Policy, on_event_time: bool) -> (Vec<String>, RunReport)
where
    S: Source<Item = u32> + 'static,
{
    let log = Log::default();
    let pipeline = Pipeline::from_source(source)
        .stage(Arrivals(log.clone()))
        .accumulate(collect(), policy)
        .sink(Written(log.clone()));
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let mut engine = if on_event_time { SyncEngine::new().clock_follows_event_time() } else { SyncEngine::new() };
    let report = engine.run(&plan, pipeline).unwrap();
    let log = log.lock().unwrap().clone();
    (log, report)
}

/// Clicks over four minutes: b goes quiet and expires at 80 s, c at
/// 150 s, the instant its next click comes; a is cut at its latency bound
/// (180 s) though still active; d is open at the end.
fn clicks() -> Vec<Envelope<u32>> {
    vec![
        click("a", 1, Some(0)),
        click("b", 2, Some(20)),
        click("a", 3, Some(50)),
        click("c", 4, Some(90)),
        click("a", 5, Some(100)),
        click("a", 6, Some(150)),
        click("c", 7, Some(150)),
        click("d", 8, Some(240)),
    ]
}

/// What the live feed did, and what the replay must do: each record at
/// its deadline, before the inputs that came after it.
const LIVE: [&str; 13] = [
    "0 in a1",
    "20 in b2",
    "50 in a3",
    "80 out b [2] inactivity",
    "90 in c4",
    "100 in a5",
    // c's deadline is 150 s, the instant c7 comes: the deadline fires
    // first, and c7 opens a new group.
    "150 out c [4] inactivity",
    "150 in a6",
    "150 in c7",
    "180 out a [1, 3, 5, 6] latency",
    "210 out c [7] inactivity",
    "240 in d8",
    "240 out d [8] end-of-stream",
];

/// The file: every click ready at once, at time zero.
fn replay(clicks: Vec<Envelope<u32>>) -> TimedSource<u32> {
    TimedSource::new(clicks.into_iter().map(|click| (Instant::ZERO, click)).collect())
}

/// The live feed: each click arrives at its event time.
fn live(clicks: Vec<Envelope<u32>>) -> TimedSource<u32> {
    TimedSource::new(clicks.into_iter().map(|click| (click.meta().event_time.unwrap(), click)).collect())
}

#[test]
fn a_replayed_file_expires_its_groups_mid_stream_where_the_live_feed_did() {
    let (log, report) = run(replay(clicks()), sessions(), true);
    assert_eq!(log, LIVE);
    assert_eq!(report.end_time, secs(240), "the last event time");
    let timers: Vec<_> = report
        .trace
        .iter()
        .filter_map(|d| if let Decision::Timer { at } = d { Some(seconds(*at)) } else { None })
        .collect();
    assert_eq!(timers, [80, 150, 180, 210], "one move of the clock per deadline, none at a's stale 110 s");
}

#[test]
fn the_same_clicks_fed_live_give_the_same_records_at_the_same_instants() {
    let (on_event_time, _) = run(live(clicks()), sessions(), true);
    let (plain, report) = run(live(clicks()), sessions(), false);
    assert_eq!(plain, LIVE, "a live feed on the plain engine");
    assert_eq!(on_event_time, LIVE, "and with the setting: it changes nothing for a feed that waits");
    assert_eq!(report.end_time, secs(240));
}

#[test]
fn without_the_setting_a_replay_stays_at_zero_and_every_group_ends_with_the_input() {
    let (log, report) = run(replay(clicks()), sessions(), false);
    let outs: Vec<_> = log.iter().filter(|line| line.contains(" out ")).cloned().collect();
    assert_eq!(
        outs,
        [
            "0 out a [1, 3, 5, 6] end-of-stream",
            "0 out b [2] end-of-stream",
            "0 out c [4, 7] end-of-stream",
            "0 out d [8] end-of-stream"
        ]
    );
    assert!(log[..8].iter().all(|line| line.starts_with("0 in")), "{log:?}");
    assert_eq!(report.end_time, Instant::ZERO);
}

#[test]
fn an_early_or_timeless_click_goes_on_at_the_clock_which_never_goes_back() {
    // y is 50 s older than x, z has no event time: both go on at 100 s, and
    // y's group times out a minute after 100 s, not after 50 s.
    let input = vec![click("x", 1, Some(100)), click("y", 2, Some(50)), click("z", 3, None), click("w", 4, Some(200))];
    let policy = Policy::builder().ttl(Duration::from_secs(60), TimerStart::LastFragment).build().unwrap();
    let (log, report) = run(replay(input), policy, true);
    assert_eq!(
        log,
        [
            "100 in x1",
            "100 in y2",
            "100 in z3",
            "160 out x [1] inactivity",
            "160 out y [2] inactivity",
            "160 out z [3] inactivity",
            "200 in w4",
            "200 out w [4] end-of-stream",
        ]
    );
    assert_eq!(report.end_time, secs(200));
}

#[test]
fn at_the_end_timers_the_stage_waits_for_run_on_from_the_last_event_time() {
    let policy = Policy::builder()
        .ttl(Duration::from_secs(60), TimerStart::LastFragment)
        .at_end(AtEnd::WaitForTimers)
        .build()
        .unwrap();
    let input = vec![click("a", 1, Some(1_000)), click("a", 2, Some(1_030))];
    let (log, report) = run(replay(input), policy, true);
    assert_eq!(log, ["1000 in a1", "1030 in a2", "1090 out a [1, 2] inactivity"]);
    assert_eq!(report.end_time, secs(1_090), "the clock starts at zero and jumps to the first event time");
}

/// A source that makes all its clicks in one pull, as a framer makes a
/// block's records; it may fail after them.
struct Block {
    clicks: Vec<Envelope<u32>>,
    fail: bool,
    pulls: Arc<Mutex<u32>>,
}

impl Source for Block {
    type Item = u32;

    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<flux_core::Pull<u32>, SourceError> {
        unreachable!("every pull goes through pull_into")
    }

    fn pull_into<D: flux_core::Push<u32>>(
        &mut self,
        _budget: usize,
        out: &mut SourceOutput<'_, '_, '_, D>,
    ) -> Result<Pulled, SourceError> {
        *self.pulls.lock().unwrap() += 1;
        for click in self.clicks.drain(..) {
            out.emit(click);
        }
        match self.fail {
            true => Err(SourceError { position: flux_core::Position::ByteOffset(99), cause: "disk gone".into() }),
            false => Ok(Pulled::End),
        }
    }
}

#[test]
fn a_timer_due_inside_one_pull_fires_between_the_two_clicks_it_falls_between() {
    let pulls = Arc::default();
    let input = vec![click("a", 1, Some(0)), click("a", 2, Some(10)), click("b", 3, Some(70)), click("b", 4, Some(75))];
    let policy = Policy::builder().ttl(Duration::from_secs(30), TimerStart::LastFragment).build().unwrap();
    let source = Block { clicks: input, fail: false, pulls: Arc::clone(&pulls) };
    let (log, report) = run(source, policy, true);
    assert_eq!(
        log,
        ["0 in a1", "10 in a2", "40 out a [1, 2] inactivity", "70 in b3", "75 in b4", "75 out b [3, 4] end-of-stream"]
    );
    assert_eq!(*pulls.lock().unwrap(), 1, "one pull made all four; the segment held three of them");
    // The clock moved to each held click's time as a live source's wait would.
    let moves: Vec<_> = report
        .trace
        .iter()
        .filter_map(|d| match d {
            Decision::Timer { at } => Some(format!("timer {}", seconds(*at))),
            Decision::Wake { at } => Some(format!("wake {}", seconds(*at))),
            _ => None,
        })
        .collect();
    assert_eq!(moves, ["wake 10", "timer 40", "wake 70", "wake 75"]);
}

#[test]
fn a_run_that_stops_hands_on_what_was_held_at_once_and_its_books_balance() {
    let pulls = Arc::default();
    let input = vec![click("a", 1, Some(0)), click("a", 2, Some(10)), click("b", 3, Some(70))];
    let policy = Policy::builder().ttl(Duration::from_secs(30), TimerStart::LastFragment).build().unwrap();
    let log = Log::default();
    let pipeline = Pipeline::from_source(Block { clicks: input, fail: true, pulls })
        .stage(Arrivals(log.clone()))
        .accumulate(collect(), policy)
        .sink(Written(log.clone()));
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().clock_follows_event_time().run(&plan, pipeline).unwrap_err();
    assert!(matches!(error.kind(), RunErrorKind::Stage(e) if e.to_string() == "stage `source` failed at byte 99"));
    let report = error.report().unwrap();
    assert!(report.problems.is_empty(), "every click the source made is accounted for: {:?}", report.problems);
    assert_eq!(report.row("sink").unwrap().received, 2);
    // Time stood still at the failure: the held clicks went on at 0 s.
    assert_eq!(
        *log.lock().unwrap(),
        ["0 in a1", "0 in a2", "0 in b3", "0 out a [1, 2] end-of-stream", "0 out b [3] end-of-stream"]
    );
    assert_eq!(report.end_time, Instant::ZERO);
}

#[test]
fn what_was_held_goes_on_no_faster_than_the_boundary_has_room_for() {
    // One pull makes 6,000 clicks (twelve batches, for a boundary of eight) of one instant, all held (the clock is
    // at zero); the segment hands them on a step's budget at a time, so
    // no send finds the boundary full.
    let input = (0..6_000).map(|n| click("a", n, Some(10))).collect();
    let source = Block { clicks: input, fail: false, pulls: Arc::default() };
    let out = flux_test::VecSink::new();
    let pipeline = Pipeline::from_source(source).map(|n| n + 1).stage(Arrivals(Log::default())).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new()
        .clock_follows_event_time()
        .with_hook(flux_engine_sync::UpstreamFirst)
        .run(&plan, pipeline)
        .unwrap();
    assert_eq!(out.payloads().len(), 6_000);
    assert_eq!(out.payloads()[5_999], 6_000);
    let edge = report.edges.iter().find(|edge| edge.junction == 1).unwrap();
    assert_eq!((edge.envelopes_sent, edge.backpressured_sends), (6_000, 0), "{edge:?}");
    assert!(edge.max_depth <= edge.capacity, "{edge:?}");
    assert_eq!(report.end_time, secs(10));
}

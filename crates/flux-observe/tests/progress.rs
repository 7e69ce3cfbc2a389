//! `Progress` while a run goes and after it, and `Observers` calling
//! several observers as one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use flux_core::{Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_observe::{Metrics, Observers, Progress, ProgressFigures};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

/// On the sync engine a source step reads 1,024 envelopes and the engine
/// reports after each: polled while the fifth step runs, progress shows
/// exactly four steps' worth, read and written.
#[test]
fn progress_polled_mid_run_shows_every_step_before_it_and_the_share_done() {
    let progress = Arc::new(Progress::of(10_000));
    let seen: Arc<Mutex<Option<ProgressFigures>>> = Arc::default();
    let (poll, keep) = (progress.clone(), seen.clone());
    let pipeline = Pipeline::from_source(IterSource::new(0..10_000u64))
        .map(move |n| {
            if n == 5_000 {
                *keep.lock().unwrap() = Some(poll.now());
            }
            n
        })
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let _report = SyncEngine::new().with_observer(progress.clone()).run(&plan, pipeline).unwrap();
    let during = seen.lock().unwrap().take().unwrap();
    assert_eq!((during.read, during.written, during.finished), (4_096, 4_096, false));
    assert_eq!(during.share_done(), Some(0.4096));
    assert!(during.time_left().is_some_and(|left| left > Duration::ZERO));
    assert!(during.to_string().starts_with("4096 of 10000 read (41%), 4096 written, "), "{during}");
    let done = progress.now();
    assert_eq!((done.read, done.written, done.finished), (10_000, 10_000, true));
    assert_eq!((done.share_done(), done.time_left()), (Some(1.0), Some(Duration::ZERO)));
    assert!(done.read_per_second() > 0.0 && done.to_string().contains("done in"), "{done}");
    let frozen = progress.now();
    assert_eq!(frozen.elapsed, done.elapsed, "an ended run's time stands still");
}

#[test]
fn several_observers_as_one_each_see_the_whole_run_on_tokio() {
    let (metrics, progress) = (Arc::new(Metrics::new()), Arc::new(Progress::new()));
    let all = Arc::new(Observers::new().with(metrics.clone()).with(progress.clone()));
    let pipeline = Pipeline::from_source(IterSource::new(0..3_000u64))
        .try_map(|n| if n % 3 == 0 { Err("third") } else { Ok(n) })
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let report = runtime.block_on(AsyncEngine::new().with_observer(all).run(&plan, pipeline)).unwrap();
    let snapshot = metrics.snapshot();
    assert!(snapshot.finished);
    assert_eq!(snapshot.stage("try_map-1").unwrap().dead_letters, report.row("try_map-1").unwrap().dead_letters);
    assert_eq!(snapshot.dead_letters[0].count, 1_000);
    let done = progress.now();
    assert_eq!((done.read, done.written, done.total, done.share_done()), (3_000, 2_000, None, None));
    assert!(done.to_string().starts_with("3000 read, 2000 written"), "{done}");
}

/// A file of 20,000 ten-byte lines read in 16 KiB slabs: polled at line
/// 10,000, the share done comes from the bytes the source has read of
/// the file's size (whole slabs), not from records, whose count a file
/// does not know before it is read.
#[test]
fn progress_of_a_file_follows_the_bytes_read_of_its_size() {
    use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool};

    let path = std::env::temp_dir().join(format!("flux-progress-bytes-{}", std::process::id()));
    let text: String = (0..20_000u64).map(|n| format!("{n:09}\n")).collect();
    std::fs::write(&path, &text).unwrap();
    let pool = SlabPool::new("progress", PoolConfig::default().slab_size(16 * 1024).max_slabs(8));
    let source = FramedSource::file(&path, pool, NewlineDelimited::new(64)).unwrap();
    let framing = source.stats();
    let progress = Arc::new(Progress::new().with_bytes(text.len() as u64, move || framing.get().bytes_read));
    let seen: Arc<Mutex<Option<ProgressFigures>>> = Arc::default();
    let (poll, keep) = (progress.clone(), seen.clone());
    let pipeline = Pipeline::from_source(source)
        .map(move |line: bytes::Bytes| {
            if &line[..] == b"000010000" {
                *keep.lock().unwrap() = Some(poll.now());
            }
            line.len()
        })
        .sink(VecSink::new());
    // Planned for the sync engine's one thread: the map sees each line as
    // the source reads it (behind a cut, it would see a step's lines later,
    // with more of the file read).
    let plan = Planner::for_one_thread().plan(pipeline.describe()).unwrap();
    let _report = SyncEngine::new().with_observer(progress.clone()).run(&plan, pipeline).unwrap();
    std::fs::remove_file(&path).unwrap();

    let during = seen.lock().unwrap().take().unwrap();
    // Line 10,000 starts at byte 100,000, in the seventh slab read. Each
    // slab after the first begins with the 4 bytes of the line the one
    // before cut (16,384 is 1,638 lines and 4 bytes), so it reads 16,380
    // new bytes: 16,384 + 6 x 16,380.
    assert_eq!((during.bytes_read, during.bytes_total), (Some(114_664), Some(200_000)));
    assert_eq!(during.share_done(), Some(114_664.0 / 200_000.0));
    assert!(during.time_left().is_some_and(|left| left > Duration::ZERO));
    assert!(during.to_string().starts_with("0.1 of 0.2 MiB read (57%), "), "{during}");
    let done = progress.now();
    assert_eq!(
        (done.bytes_read, done.share_done(), done.time_left()),
        (Some(200_000), Some(1.0), Some(Duration::ZERO))
    );
    assert_eq!(done.read, 20_000);
}

/// A subscriber is told the figures as they move, from the engine's
/// threads: reads and writes never go back, and the last it hears is the
/// whole run, ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_is_told_every_move_and_the_end_on_tokio() {
    let told: Arc<Mutex<Vec<ProgressFigures>>> = Arc::default();
    let log = told.clone();
    let progress = Arc::new(Progress::of(20_000).subscribe(move |now| log.lock().unwrap().push(now)));
    let pipeline = Pipeline::from_source(IterSource::new(0..20_000u64)).filter(|n| n % 4 == 0).sink(VecSink::new());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[1] = flux_core::Junction::Boundary(flux_core::EdgeSpec { capacity: 4, batch_size: 256 });
    let _report = AsyncEngine::new().with_observer(progress.clone()).run(&plan, pipeline).await.unwrap();
    let told = told.lock().unwrap();
    assert!(told.len() >= 3, "{} moves", told.len());
    for pair in told.windows(2) {
        assert!(pair[1].read >= pair[0].read && pair[1].written >= pair[0].written, "{:?}", pair);
    }
    let last = told.last().unwrap();
    assert_eq!((last.read, last.written, last.finished, last.share_done()), (20_000, 5_000, true, Some(1.0)));
    assert!(told[..told.len() - 1].iter().all(|now| !now.finished), "only the end is told as ended");
    assert_eq!(last.written_per_second(), 5_000.0 / last.elapsed.as_secs_f64());
    assert_eq!(last.read_per_second(), 20_000.0 / last.elapsed.as_secs_f64());
}

/// The time left is what is left at the rate so far: a quarter read in
/// two seconds leaves six; nothing read yet, no estimate; in bytes when
/// they are followed.
#[test]
fn the_time_left_is_what_is_left_at_the_rate_so_far() {
    let quarter = ProgressFigures {
        read: 250,
        written: 100,
        total: Some(1_000),
        bytes_read: None,
        bytes_total: None,
        elapsed: Duration::from_secs(2),
        finished: false,
    };
    assert_eq!(quarter.time_left(), Some(Duration::from_secs(6)));
    assert_eq!((quarter.read_per_second(), quarter.written_per_second()), (125.0, 50.0));
    let progress = Progress::of(1_000).with_bytes(10, || 4);
    let debug = format!("{progress:?}");
    assert!(
        debug.starts_with("Progress { total: Some(1000), bytes_total: Some(10), listener: false, state: "),
        "{debug}"
    );
    let nothing_yet = ProgressFigures { read: 0, ..quarter };
    assert_eq!(nothing_yet.time_left(), None);
    let by_bytes = ProgressFigures { bytes_read: Some(600), bytes_total: Some(1_000), ..quarter };
    assert_eq!(by_bytes.share_done(), Some(0.6));
    let left = by_bytes.time_left().unwrap().as_secs_f64();
    assert!((left - 4.0 / 3.0).abs() < 1e-9, "{left}");
}

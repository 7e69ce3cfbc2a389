//! File -> frame -> transform -> sink on the sync engine: outputs, dead
//! letters with their byte offsets, stop and exhaustion policies, and zero
//! leaks after every run.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use flux_core::{Pipeline, Position, Runnable};
use flux_engine_sync::{RunError, RunErrorKind, RunReport, SyncEngine};
use flux_memory::{
    CopyOnWrite, FramedSource, LengthPrefixed, NewlineDelimited, OnBadFrame, PoolConfig, SlabPool, WriteSink,
    assert_no_leaks,
};
use flux_steps::Steps;
use flux_test::VecSink;

/// Plans and runs `pipeline` with `pool` watched, then checks for leaks
/// whatever the outcome.
///
/// Planned for the one thread the sync engine runs on: the source stays
/// fused with what follows, so a pool of two slabs is enough (a cut after
/// it would hold a slab for each batch in its channel).
fn run(pipeline: impl Runnable, pool: &SlabPool) -> Result<RunReport, RunError> {
    let plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe()).expect("the pipeline plans");
    let result = SyncEngine::new().watch_pool(Arc::new(pool.clone())).run(&plan, pipeline);
    assert_no_leaks(pool);
    result
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("flux-memory-{name}-{}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

/// A writer whose bytes can be read after the sink that owns it is gone.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()).unwrap()
    }
}

fn small_pool(name: &str, max_slabs: usize) -> SlabPool {
    SlabPool::new(name, PoolConfig::default().slab_size(64).max_slabs(max_slabs))
}

#[test]
fn a_file_is_framed_transformed_and_written_with_bad_lines_as_dead_letters() {
    let mut input = String::new();
    for i in 0..200 {
        input.push_str(&format!("record {i}\r\n"));
    }
    input.push_str("a line that is much too long to be a record\n");
    input.push_str("last\n");
    let path = temp_file("transform", input.as_bytes());
    let pool = small_pool("file", 2);
    let source = FramedSource::file(&path, pool.clone(), NewlineDelimited::new(16)).unwrap();
    let stats = source.stats();
    let out = Shared::default();
    let pipeline = Pipeline::from_source(source)
        .filter(|line: &Bytes| !line.starts_with(b"record 1"))
        .map(|line: Bytes| line.slice(line.len().min(7)..))
        .sink(WriteSink::new(out.clone()));

    let report = run(pipeline, &pool).unwrap();

    let expected: String = (0..200)
        .map(|i| format!("record {i}"))
        .filter(|r| !r.starts_with("record 1"))
        .map(|r| format!("{}\n", &r[7..]))
        .chain(["\n".to_owned()])
        .collect();
    assert_eq!(out.text(), expected);
    assert_eq!(report.dead_letters.len(), 1);
    let letter = &report.dead_letters[0];
    assert_eq!(letter.error.stage().as_str(), "source");
    let bad_at = input.find("a line").unwrap() as u64;
    assert_eq!(letter.error.position(), Position::ByteOffset(bad_at));
    assert_eq!(letter.meta.sequence, 200);
    assert_eq!(report.row("source").unwrap().dead_letters, 1);
    let stats = stats.get();
    assert_eq!(stats.frames, 201);
    assert!(stats.spanning_copies > 0, "64-byte slabs cut many lines");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn the_stop_policy_ends_the_run_at_the_bad_frame_offset() {
    let input = b"fine\nfar-too-long-line\nnever read\n";
    let pool = small_pool("stop", 2);
    let source =
        FramedSource::new(&input[..], pool.clone(), NewlineDelimited::new(8)).unwrap().on_bad_frame(OnBadFrame::Stop);
    let out = VecSink::new();
    // The sink keeps copies: a frame kept past the run would hold its slab.
    let pipeline = Pipeline::from_source(source).map(|line: Bytes| line.to_vec()).sink(out.clone());

    let outcome = run(pipeline, &pool);
    let Err(RunErrorKind::Stage(error)) = outcome.as_ref().map_err(RunError::kind) else { panic!("the run must stop") };
    assert_eq!(error.stage().as_str(), "source");
    assert_eq!(error.position(), Position::ByteOffset(5));
    assert_eq!(error.cause().to_string(), "frame at byte 5 is 17 bytes, over the limit of 8");
    assert_eq!(out.payloads(), [b"fine".to_vec()]);
}

#[test]
fn an_exhausted_pool_fails_the_run_clearly_when_a_stage_keeps_every_frame() {
    let input: String = (0..100).map(|i| format!("{i:>9}\n")).collect();
    let pool = small_pool("bounded", 2);
    let source =
        FramedSource::new(std::io::Cursor::new(input.into_bytes()), pool.clone(), NewlineDelimited::new(16)).unwrap();
    let kept = VecSink::new(); // holds every frame, so every slab stays out
    let pipeline = Pipeline::from_source(source).sink(kept.clone());

    let plan = flux_plan::Planner::new().plan(pipeline.describe()).unwrap();
    let outcome = SyncEngine::new().run(&plan, pipeline);
    let Err(RunErrorKind::Stage(error)) = outcome.as_ref().map_err(RunError::kind) else {
        panic!("the pool must run out")
    };
    assert_eq!(error.stage().as_str(), "source");
    assert_eq!(error.cause().to_string(), "no slab to read into at byte 120");
    let exhausted = std::error::Error::source(error.cause()).unwrap().to_string();
    assert_eq!(exhausted, "buffer pool `bounded` is exhausted (2 buffers in use)");
    assert_eq!(kept.envelopes().len(), 12);
    drop(kept.take());
    assert_no_leaks(&pool);
}

#[test]
fn a_truncated_length_prefixed_file_dead_letters_its_last_record() {
    let mut input = Vec::new();
    for record in [&b"alpha"[..], b"beta"] {
        input.extend_from_slice(&u32::try_from(record.len()).unwrap().to_be_bytes());
        input.extend_from_slice(record);
    }
    input.extend_from_slice(&[0, 0, 0, 9, b'g', b'a']);
    let path = temp_file("prefixed", &input);
    let pool = small_pool("prefixed", 2);
    let source = FramedSource::file(&path, pool.clone(), LengthPrefixed::new(32)).unwrap();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source).map(|record: Bytes| record.to_vec()).sink(out.clone());
    let report = run(pipeline, &pool).unwrap();

    assert_eq!(out.payloads(), [b"alpha".to_vec(), b"beta".to_vec()]);
    assert_eq!(report.dead_letters.len(), 1);
    assert_eq!(report.dead_letters[0].error.position(), Position::ByteOffset(17));
    let cause = report.dead_letters[0].error.cause().to_string();
    assert_eq!(cause, "truncated last record at byte 17: 2 of 9 bytes");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_branch_that_changes_bytes_copies_them_and_the_copy_is_counted() {
    let input = b"one\ntwo\nthree\n";
    let pool = small_pool("cow", 2);
    let source = FramedSource::new(&input[..], pool.clone(), NewlineDelimited::new(8)).unwrap();
    let cow = CopyOnWrite::default();
    let branch = cow.clone();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source)
        .map(move |line: Bytes| {
            let mut own = branch.to_mut(line);
            own.make_ascii_uppercase();
            own.freeze()
        })
        .sink(out.clone());
    let report = run(pipeline, &pool).unwrap();
    assert!(report.dead_letters.is_empty());

    assert_eq!(out.payloads(), [&b"ONE"[..], b"TWO", b"THREE"]);
    assert_eq!((cow.copies(), cow.copied_bytes()), (3, 11));
}

/// Cuts every junction with small channels.
struct CutAll;

impl flux_core::PlannerPass for CutAll {
    fn name(&self) -> &'static str {
        "cut-all"
    }
    fn run(&self, plan: &mut flux_core::ExecutionPlan) -> Result<(), flux_core::PlanError> {
        for junction in &mut plan.junctions {
            *junction = flux_core::Junction::Boundary(flux_core::EdgeSpec { capacity: 2, batch_size: 64 });
        }
        Ok(())
    }
}

#[test]
fn a_small_pool_is_enough_for_a_large_file_under_every_schedule() {
    // 2 MB of lines through 4 KiB slabs, at most 16 out: only queues that
    // honour their capacity keep the slabs in them few.
    let input: String = (0..40_000).map(|i| format!("line {i:09} of the file\n")).collect();
    let hooks: [fn() -> Box<dyn flux_engine_sync::ScheduleHook>; 4] = [
        || Box::new(flux_engine_sync::DownstreamFirst),
        || Box::new(flux_engine_sync::UpstreamFirst),
        || Box::new(flux_engine_sync::Seeded::new(5)),
        || Box::new(flux_engine_sync::Seeded::new(23)),
    ];
    for hook in hooks {
        let pool = SlabPool::new("schedules", PoolConfig::default().slab_size(4096).max_slabs(16));
        let bytes = std::io::Cursor::new(input.clone().into_bytes());
        let source = FramedSource::new(bytes, pool.clone(), NewlineDelimited::new(64)).unwrap();
        let out = Shared::default();
        let pipeline =
            Pipeline::from_source(source).map(|line: Bytes| line.slice(5..)).sink(WriteSink::new(out.clone()));
        let plan = flux_plan::Planner::new().with_pass(CutAll).plan(pipeline.describe()).unwrap();
        struct Boxed(Box<dyn flux_engine_sync::ScheduleHook>);
        impl flux_engine_sync::ScheduleHook for Boxed {
            fn choose(&mut self, runnable: &[usize], now: flux_core::Instant) -> usize {
                self.0.choose(runnable, now)
            }
        }
        let report = SyncEngine::new().with_hook(Boxed(hook())).watch_pool(Arc::new(pool.clone())).run(&plan, pipeline);
        let report = report.unwrap_or_else(|e| panic!("{e}: {:?}", e.report().map(|r| &r.dead_letters)));
        assert!(report.dead_letters.is_empty());
        assert_eq!(out.text().lines().count(), 40_000);
        assert!(report.pools[0].stats.high_water <= 16);
        assert_no_leaks(&pool);
    }
}

#[test]
fn a_frames_envelope_carries_its_sequence_and_length_and_an_offset_header_only_when_asked() {
    let input = b"one\ntwo\r\nthree\n";
    for offsets in [false, true] {
        let pool = SlabPool::new("envelope-parts", PoolConfig::default().slab_size(8));
        let source = FramedSource::new(&input[..], pool.clone(), NewlineDelimited::new(8)).unwrap();
        let source = if offsets { source.with_offsets() } else { source };
        let out = VecSink::new();
        let pipeline = Pipeline::from_source(source).sink(out.clone());
        let plan = flux_plan::Planner::new().plan(pipeline.describe()).unwrap();
        let report = SyncEngine::new().run(&plan, pipeline).unwrap();
        assert!(report.dead_letters.is_empty());
        // The sink holds the lines, zero-copy slices of their slabs: the
        // leak check comes once they are gone.
        let lines = out.take();
        let seen: Vec<(u64, Bytes, u32)> =
            lines.iter().map(|e| (e.meta().sequence, e.payload().clone(), e.cost().bytes)).collect();
        let line = Bytes::from_static;
        assert_eq!(seen, [(0, line(b"one"), 3), (1, line(b"two"), 3), (2, line(b"three"), 5)]);
        let stamped: Vec<Option<u64>> = lines.iter().map(|e| flux_memory::frame_offset(e.meta())).collect();
        let headers: Vec<usize> = lines.iter().map(|e| e.meta().headers.len()).collect();
        if offsets {
            assert_eq!(stamped, [Some(0), Some(4), Some(9)]);
            assert_eq!(headers, [1, 1, 1]);
        } else {
            assert_eq!(stamped, [None, None, None]);
            assert_eq!(headers, [0, 0, 0], "no header is made unless offsets are asked for");
        }
        assert!(lines.iter().all(|e| e.meta().key.is_none() && e.meta().event_time.is_none()));
        drop((lines, seen));
        assert_no_leaks(&pool);
    }
}

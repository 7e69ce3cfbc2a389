//! Writers that fill up, break, write short or would block, under a write
//! sink on the sync engine: every line is in the file or a dead letter with
//! its own sequence and offset, no record is torn or fused silently, and a
//! lasting failure stops the run.

use std::io::ErrorKind;
use std::sync::Arc;

use bytes::Bytes;
use flux_core::{Pipeline, Position, Runnable};
use flux_engine_sync::{RunError, RunReport, SyncEngine};
use flux_memory::{
    Delimit, FlushPolicy, FrameLost, FramedSource, Loss, NewlineDelimited, OnWriteError, PoolConfig, SlabPool,
    WriteSink, assert_no_leaks,
};
use flux_test::{Conservation, Fault, FaultyWriter};

/// `count` lines of ten bytes: nine digits and a newline; line `i` is sequence `i`.
fn numbered_lines(count: u64) -> Vec<u8> {
    (0..count).flat_map(|i| format!("{i:09}\n").into_bytes()).collect()
}

/// Runs the lines through a write sink into `disk`.
fn run(count: u64, disk: &FaultyWriter, buffer: usize, on_error: OnWriteError) -> Result<RunReport, RunError> {
    let pool = SlabPool::new("lines", PoolConfig::default().slab_size(4096).max_slabs(4));
    let source =
        FramedSource::new(std::io::Cursor::new(numbered_lines(count)), pool.clone(), NewlineDelimited::new(16))
            .unwrap();
    let policy = FlushPolicy { bytes: buffer, interval: None };
    let sink = WriteSink::with_policy(disk.clone(), Delimit::Newline, policy).on_error(on_error);
    let pipeline = Pipeline::from_source(source).sink(sink);
    let plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe()).unwrap();
    let outcome = SyncEngine::new().watch_pool(Arc::new(pool.clone())).run(&plan, pipeline);
    assert_no_leaks(&pool);
    outcome
}

/// The sequences of the whole lines in the output; panics on a line that
/// is not a whole record (a torn or fused one).
fn lines_in(disk: &FaultyWriter) -> Vec<u64> {
    let written = disk.written();
    let text = String::from_utf8(written).unwrap();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    // A last line with no newline is a torn record, reported as such.
    if lines.last().is_some_and(|l| !l.ends_with('\n')) {
        lines.pop();
    }
    lines.iter().map(|l| l.trim_end().parse::<u64>().unwrap_or_else(|_| panic!("not a whole record: {l:?}"))).collect()
}

fn dead(report: &RunReport) -> Vec<u64> {
    report.dead_letters.iter().map(|l| l.meta.sequence).collect()
}

#[test]
fn a_disk_that_fills_stops_the_run_and_every_line_is_written_or_a_dead_letter_with_its_offset() {
    // Full at byte 50,005: a flush is cut in the middle of line 5,000.
    let disk = FaultyWriter::new().at(50_005, Fault::Persistent(ErrorKind::StorageFull));
    let error = run(20_000, &disk, 4096, OnWriteError::default()).unwrap_err();

    assert_eq!(error.to_string(), "stage `sink` stopped the run");
    let report = error.report().unwrap();
    let written = lines_in(&disk);
    assert_eq!(written.len(), 5_000);
    // The source is not read past the stop: what it had read is accounted for.
    let read = report.row("source").unwrap().emitted;
    assert!(read < 20_000, "{read}");
    Conservation::of(0..read).output(written).dead_letters(dead(report)).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.row("sink").unwrap().counts.consumed, 5_000, "a line counts as written once it is");

    // Line 5,000 is torn at its offset; the next ones in that flush were
    // not written, each at its own offset; the rest were refused.
    let torn = report.dead_letters.iter().find(|l| l.meta.sequence == 5_000).unwrap();
    assert_eq!(torn.error.position(), Position::ByteOffset(50_000));
    let lost = torn.error.cause().downcast_ref::<FrameLost>().unwrap();
    assert_eq!(lost.kind(), Loss::Torn { written: 5, of: 10 });
    let next = report.dead_letters.iter().find(|l| l.meta.sequence == 5_001).unwrap();
    assert_eq!(next.error.position(), Position::ByteOffset(50_010));
    assert_eq!(next.error.cause().to_string(), "frame at output byte 50010 was not written");
    assert_eq!(disk.written().len(), 50_005);
}

#[test]
fn a_one_off_failure_with_dead_letter_on_error_loses_only_what_it_hit_and_completes_the_torn_line() {
    // A one-off error at byte 3,003, in the middle of line 300.
    let disk = FaultyWriter::new().max_write(1_000).at(3_003, Fault::Error(ErrorKind::TimedOut));
    let report = run(2_000, &disk, 2_048, OnWriteError::DeadLetter).unwrap();
    let written = lines_in(&disk);
    assert!(written.contains(&300), "the torn line was completed before anything else");
    Conservation::of(0..2_000).output(written.clone()).dead_letters(dead(&report)).assert();
    assert!(!report.dead_letters.is_empty(), "the lines after it in that flush were lost");
    for letter in &report.dead_letters {
        assert_eq!(letter.error.stage().as_str(), "sink");
        assert!(matches!(letter.error.position(), Position::ByteOffset(_)));
    }
    assert_eq!(report.row("sink").unwrap().counts.consumed, written.len() as u64);
}

#[test]
fn a_transient_failure_dead_letters_by_default_and_the_run_goes_on() {
    let disk = FaultyWriter::new().at(10_000, Fault::Error(ErrorKind::TimedOut));
    let report = run(3_000, &disk, 4096, OnWriteError::default()).unwrap();
    Conservation::of(0..3_000).output(lines_in(&disk)).dead_letters(dead(&report)).assert();
    assert!(!report.dead_letters.is_empty());
}

#[test]
fn short_writes_would_blocks_and_interruptions_lose_nothing() {
    let disk = FaultyWriter::new()
        .max_write(7)
        .at(1_001, Fault::WouldBlock(5))
        .at(2_002, Fault::Interrupted(3))
        .at(7_003, Fault::WouldBlock(1));
    let report = run(1_000, &disk, 512, OnWriteError::Stop).unwrap();
    assert!(report.dead_letters.is_empty());
    assert_eq!(disk.written(), numbered_lines(1_000));
    assert_eq!(report.row("sink").unwrap().counts.consumed, 1_000);
}

#[test]
fn a_small_buffer_and_a_broken_pipe_cannot_end_in_a_run_that_wrote_nothing_and_returned_ok() {
    // Every line is larger than the 4-byte buffer: each goes straight through.
    let disk = FaultyWriter::new().at(0, Fault::Persistent(ErrorKind::BrokenPipe));
    let error = run(100, &disk, 4, OnWriteError::default()).unwrap_err();
    let report = error.report().unwrap();
    assert!(disk.written().is_empty());
    Conservation::of(0..100).dead_letters(dead(report)).assert();
    assert_eq!(report.row("sink").unwrap().counts.consumed, 0);
}

#[test]
fn a_writer_whose_flush_fails_cannot_confirm_its_lines_so_they_are_dead_letters() {
    let disk = FaultyWriter::new().fail_flush(1);
    let error = run(1_000, &disk, 1_000, OnWriteError::default()).unwrap_err();
    let report = error.report().unwrap();
    // The second flush's hundred lines reached the writer, unconfirmed.
    let unconfirmed: Vec<u64> = dead(report).into_iter().filter(|s| (100..200).contains(s)).collect();
    assert_eq!(unconfirmed, (100..200).collect::<Vec<_>>());
    let cause = report.dead_letters[0].error.cause().downcast_ref::<FrameLost>().unwrap();
    assert_eq!(cause.kind(), Loss::NotFlushed);
    assert!(report.problems.is_empty());
}

#[test]
fn after_an_unconfirmed_flush_the_next_lines_are_placed_after_its_bytes() {
    // Lines of ten bytes, flushed ten at a time; flushes 1 and 2 fail.
    let disk = FaultyWriter::new().fail_flush(1).fail_flush(2);
    let report = run(40, &disk, 100, OnWriteError::DeadLetter).unwrap();
    let offsets: Vec<(u64, Position)> =
        report.dead_letters.iter().map(|l| (l.meta.sequence, l.error.position())).collect();
    let expected: Vec<(u64, Position)> = (10..30).map(|s| (s, Position::ByteOffset(s * 10))).collect();
    assert_eq!(offsets, expected, "each line at its own offset, the second failure after the first's bytes");
    assert_eq!(report.row("sink").unwrap().counts.consumed, 20);
}

#[test]
fn a_large_frame_cut_by_a_short_write_is_completed_first_and_a_lasting_failure_reports_it_torn() {
    // Every ten-byte line is larger than the 4-byte buffer: each is written
    // straight through, three bytes per write. A one-off time-out at byte
    // 25 cuts line 2; a full disk at byte 75 cuts line 7.
    let disk = FaultyWriter::new()
        .max_write(3)
        .at(25, Fault::Error(ErrorKind::TimedOut))
        .at(75, Fault::Persistent(ErrorKind::StorageFull));
    let error = run(10, &disk, 4, OnWriteError::default()).unwrap_err();
    let report = error.report().unwrap();
    assert_eq!(lines_in(&disk), (0..7).collect::<Vec<_>>(), "line 2 was completed before line 3");
    assert_eq!(disk.written().len(), 75);
    // Lines 8 and 9 were refused by the stopped sink; line 7, held torn,
    // is reported at close, when one last try at its rest fails too.
    let torn = report.dead_letters.iter().find(|l| l.meta.sequence == 7).unwrap();
    assert_eq!(torn.error.position(), Position::ByteOffset(70));
    assert_eq!(torn.error.cause().downcast_ref::<FrameLost>().unwrap().kind(), Loss::Torn { written: 5, of: 10 });
    Conservation::of(0..10).output(0..7).dead_letters(dead(report)).assert();
}

#[test]
fn a_large_frame_the_writer_could_not_flush_still_moves_the_next_frames_offsets() {
    // Line 2's flush fails (its bytes are in the writer, unconfirmed); a
    // broken pipe at byte 55 then cuts line 5, which starts at byte 50. Each
    // line after it is lost where it was to be written: right after line 5,
    // at byte 60, since none of them got out.
    let disk = FaultyWriter::new().fail_flush(2).at(55, Fault::Persistent(ErrorKind::BrokenPipe));
    let report = run(10, &disk, 4, OnWriteError::DeadLetter).unwrap();
    let mut letters: Vec<(u64, Position)> =
        report.dead_letters.iter().map(|l| (l.meta.sequence, l.error.position())).collect();
    letters.sort_by_key(|(sequence, _)| *sequence);
    let at = |s: u64, offset: u64| (s, Position::ByteOffset(offset));
    assert_eq!(letters, [at(2, 20), at(5, 50), at(6, 60), at(7, 60), at(8, 60), at(9, 60)]);
}

#[test]
fn a_write_sink_dropped_without_a_close_writes_what_it_holds() {
    let disk = FaultyWriter::new();
    let mut sink = WriteSink::new(disk.clone());
    let mut diverted = flux_test::Diverted::default();
    let mut cx = flux_core::Context::new(flux_core::Instant::ZERO, &mut diverted);
    for line in ["a", "b"] {
        flux_core::Sink::write(&mut sink, flux_core::Envelope::new(Bytes::from_static(line.as_bytes())), &mut cx)
            .unwrap();
    }
    assert!(disk.written().is_empty(), "buffered");
    drop(sink);
    assert_eq!(disk.written(), b"a\nb\n");
}

#[test]
fn a_read_that_fails_mid_slab_on_the_engine_delivers_the_lines_before_it() {
    let pool = SlabPool::new("lines", PoolConfig::default().slab_size(4096).max_slabs(4));
    let input = flux_test::FaultyReader::new(numbered_lines(20_000)).at(100_005, Fault::Error(ErrorKind::Other));
    let source = FramedSource::new(input, pool.clone(), NewlineDelimited::new(16)).unwrap();
    let disk = FaultyWriter::new();
    let pipeline = Pipeline::from_source(source).sink(WriteSink::new(disk.clone()));
    let plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().watch_pool(Arc::new(pool.clone())).run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `source` stopped the run at byte 100000");
    assert_eq!(lines_in(&disk), (0..10_000).collect::<Vec<_>>(), "written, since the sink was closed");
    assert_no_leaks(&pool);
}

#[test]
fn a_reader_that_would_block_waits_on_the_engine_clock() {
    let pool = SlabPool::new("lines", PoolConfig::default().slab_size(4096).max_slabs(4));
    let input = flux_test::FaultyReader::new(numbered_lines(1_000)).max_read(3_000).at(5_000, Fault::WouldBlock(3));
    let source = FramedSource::new(input, pool.clone(), NewlineDelimited::new(16))
        .unwrap()
        .retry_after(std::time::Duration::from_millis(20));
    let disk = FaultyWriter::new();
    let pipeline = Pipeline::from_source(source).sink(WriteSink::new(disk.clone()));
    let plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(disk.written(), numbered_lines(1_000));
    // The first would-block ends a read that has whole lines; two more wait.
    assert_eq!(report.end_time, flux_core::Instant::from_millis(40));
    assert_no_leaks(&pool);
}

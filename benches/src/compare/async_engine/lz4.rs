//! `async/lz4_keyed_count`: a job shaped like a real one. About 50 MB of
//! text records `user-<k>,<amount>\n` (k one of 4096 keys, the amount
//! below 10 000, both from a fixed xorshift sequence), made once per
//! process and held in memory as one LZ4 frame (`lz4_flex`, 64 KiB
//! blocks, no checksums). The pipeline decompresses it
//! (`lz4_flex::frame::FrameDecoder`) into pooled slabs through a
//! `FramedSource` with the newline framer, parses each line (split on the
//! comma, the amount's digits; the line cut down to the user in place),
//! moves the user into the key (`split_key`), and keeps a count and
//! a sum per user (`fold` in `accumulate`, default policy: every group is
//! emitted when the input ends); the sink folds each group's key hash,
//! count and sum into the checksum. The plan is explicit and cuts once,
//! after the source: decompression and framing in one segment, parse,
//! key, accumulate and sink in the other, joined by a boundary of 8
//! batches of 512 (the faster of the cuts tried; see `LZ4_CUT`).
//! The same pipeline value and plan on the tokio engine (two workers)
//! against the sync engine, trace off, which runs the two segments one
//! after the other on one thread: 2 is the ceiling.
//!
//! `async/lz4_keyed_count_vs_hand_loop`: the same Flux run against the
//! loop a user writes by hand on one thread: the `FrameDecoder` in a
//! 256 KiB `BufReader`, `read_until(b'\n')` into one reused buffer, the
//! same parse, and a `HashMap` with FxHash (the hasher the accumulate stage
//! uses, as `accumulate` has it) from the user's bytes to its count and
//! sum. A comparison of its own, for the reason `trivial_4_stages_vs_mpsc`
//! is. Both comparisons against the hand loop also print
//! `two_thread_hand_loop_vs_hand_loop`: the same loop split by hand where
//! the plan cuts (`two_threads`), against the one-thread loop, so that a
//! run shows what the plan's split itself allows on the machine; and
//! `envelope_two_thread_hand_loop_vs_hand_loop`, the same split handing
//! its lines across as envelopes (`envelope_two_threads`), so that it
//! shows what the envelopes' crossing costs apart from the engine's work.
//!
//! The source asks for `EngineHint::Blocking`, as `FramedSource::new`
//! makes every source over a `Read`: the tokio engine runs the decode and
//! framing segment on a thread of its own, and the other segment as a task
//! on the runtime's one worker. `async/lz4_keyed_count_as_tasks` and
//! `async/lz4_keyed_count_as_tasks_vs_hand_loop`: the same two comparisons
//! with the source's hint set to `EngineHint::Any`, both segments tasks on
//! two workers, which is what the default avoids (before the default
//! changed, that plan read 12.6 to 13.1 million records a second against
//! 16.3 to 17.2 after, interleaved runs on 2026-12-03, `docs/BENCHMARKS.md`).

use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use flux_accumulate::{AccumulateExt, Keyed, Policy};
use flux_core::{EngineHint, ExecutionPlan, Junction, Pipeline, Runnable};
use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool};
use flux_plan::Planner;
use flux_steps::Steps;
use lz4_flex::frame::{BlockSize, FrameDecoder, FrameEncoder, FrameInfo};
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::{BOUNDARY, FoldSink, on_async, on_sync, runtime_for, segments};
use crate::{Comparison, Variant};

mod envelope_two_threads;
mod two_threads;

/// Text bytes of the LZ4 job's input, decompressed.
const LZ4_TEXT_BYTES: usize = 50 * 1024 * 1024;
/// Distinct users of the LZ4 job.
const LZ4_KEYS: u64 = 4096;
/// Slabs (and the hand loop's buffer): as `framing` reads.
const LZ4_READ_SIZE: usize = 256 * 1024;
/// The longest line the framer takes; the job's are under 20 bytes.
const LZ4_MAX_LINE: usize = 1024;

/// The LZ4 job's input: the compressed frame and what it holds.
struct Lz4Input {
    frame: Vec<u8>,
    records: u64,
    text_bytes: usize,
}

/// Made on first use, once per process: the records, then the frame.
fn lz4_input() -> &'static Lz4Input {
    static INPUT: OnceLock<Lz4Input> = OnceLock::new();
    INPUT.get_or_init(|| {
        let mut text = Vec::with_capacity(LZ4_TEXT_BYTES + 64);
        let mut records = 0;
        let mut states = crate::data::xorshift(0x853c_49e6_748f_ea9b);
        while text.len() < LZ4_TEXT_BYTES {
            let state = states.next().expect("the sequence is endless");
            // The user from the low bits, the amount from the high ones.
            writeln!(text, "user-{},{}", state % LZ4_KEYS, (state >> 32) % 10_000).expect("a Vec takes writes");
            records += 1;
        }
        // 64 KiB blocks, independent, no checksums: the frame format's
        // usual shape. Left to pick (`BlockSize::Auto`), the encoder sizes
        // the blocks by the first write, which here would make them 4 MiB.
        let info = FrameInfo::new().block_size(BlockSize::Max64KB);
        let mut encoder = FrameEncoder::with_frame_info(info, Vec::with_capacity(text.len() / 2));
        encoder.write_all(&text).expect("a Vec takes writes");
        let frame = encoder.finish().expect("the frame ends");
        Lz4Input { frame, records, text_bytes: text.len() }
    })
}

/// A record's user (the bytes before the comma) and amount, or `None` for
/// a line that is not one. Both sides parse with it.
#[inline]
fn parse_record(line: &[u8]) -> Option<(usize, u64)> {
    let comma = memchr::memchr(b',', line)?;
    let digits = &line[comma + 1..];
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut amount = 0u64;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        amount = amount * 10 + u64::from(b - b'0');
    }
    Some((comma, amount))
}

/// One group's share of the checksum: its user's hash, count and sum,
/// added up in any order.
#[inline]
fn group_term(user: &[u8], count: u64, sum: u64) -> u64 {
    FxBuildHasher.hash_one(user) ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ sum
}

/// The LZ4 job as a pipeline; the sink publishes the sum of the group
/// terms into `out`.
fn lz4_job(out: &Arc<AtomicU64>) -> impl Runnable + use<> {
    let pool = SlabPool::new("bench-lz4", PoolConfig::default().slab_size(LZ4_READ_SIZE));
    let decoder = FrameDecoder::new(&lz4_input().frame[..]);
    let source = FramedSource::new(decoder, pool, NewlineDelimited::new(LZ4_MAX_LINE)).expect("lines fit a slab");
    let count_sum = flux_accumulate::fold((0u64, 0u64), |state: &mut (u64, u64), amount: u64| {
        state.0 += 1;
        state.1 += amount;
    });
    Pipeline::from_source(source)
        // A bad line would be a dead letter, and the checksum would then
        // differ from the hand loop's, which fails the harness.
        // The line cut down to its user in place: a slice would cost a
        // reference count taken and the line's given back.
        .try_map(|mut line: Bytes| match parse_record(&line) {
            Some((comma, amount)) => {
                line.truncate(comma);
                Ok((line, amount))
            }
            None => Err("not a user,amount record"),
        })
        .named("parse")
        // The user moves into the key, the amount goes on: no reference
        // count, where `key_by` and a `map` dropping the user would take
        // one and give it back. The user is a slice of the slab; the stage
        // copies it into its table when the group opens, so no slab stays
        // held by a group.
        .split_key(|(user, amount): (Bytes, u64)| (user, amount))
        .named("key")
        .accumulate(count_sum, Policy::default())
        .map(|group: Keyed<(u64, u64)>| group_term(&group.key, group.value.0, group.value.1))
        .named("term")
        .sink(FoldSink::publishing_to(out))
}

/// The LZ4 job's plan: every junction fused but the one after the source,
/// so that decompression and framing run in a segment of their own.
fn lz4_plan() -> ExecutionPlan {
    let mut plan = Planner::new().plan(lz4_job(&Arc::default()).describe()).expect("plans");
    // Stages: source 0, parse 1, key 2, accumulate 3, term 4, sink 5;
    // junction i is the one after stage i.
    for junction in &mut plan.junctions {
        *junction = Junction::Fused;
    }
    plan.junctions[LZ4_CUT] = Junction::Boundary(BOUNDARY);
    assert_eq!(plan.segments().len(), 2, "one cut, two segments");
    assert_eq!(plan.stages[0].engine_hint, EngineHint::Blocking, "a source over a `Read` asks for a thread");
    plan
}

/// The LZ4 plan, the same cut, with the source's hint set to
/// `EngineHint::Any`: the tokio engine runs both segments as tasks on the
/// runtime's two workers. (A source built with
/// `with_engine_hint(EngineHint::Any)` would also be fused by the default
/// planner; the bench keeps its explicit cut.)
fn lz4_plan_as_tasks() -> ExecutionPlan {
    let mut plan = lz4_plan();
    plan.stages[0].engine_hint = EngineHint::Any;
    plan
}

/// Which junction the LZ4 plan cuts: the one after the source. Cutting
/// after `amount` instead (decode, framing and parse | accumulate and
/// sink) measured 0.65 to 0.97 of the sync engine against 0.99 to 1.04
/// for this cut, and cutting at both 0.97 to 1.03 (two or three runs of
/// three rounds each, 2026-11-30, mostly on an idle machine).
const LZ4_CUT: usize = 0;

/// The LZ4 job by hand, on one thread.
fn lz4_hand_loop() -> u64 {
    let mut lines = BufReader::with_capacity(LZ4_READ_SIZE, FrameDecoder::new(&lz4_input().frame[..]));
    let mut groups: FxHashMap<Vec<u8>, (u64, u64)> = FxHashMap::default();
    let mut line = Vec::with_capacity(LZ4_MAX_LINE);
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).expect("the frame decodes") == 0 {
            break;
        }
        let record = line.strip_suffix(b"\n").unwrap_or(&line);
        let (comma, amount) = parse_record(record).expect("the generated records parse");
        let user = &record[..comma];
        // Look up by slice; allocate a key only for a new user.
        match groups.get_mut(user) {
            Some(state) => {
                state.0 += 1;
                state.1 += amount;
            }
            None => {
                groups.insert(user.to_vec(), (1, amount));
            }
        }
    }
    groups.iter().fold(0u64, |sum, (user, &(count, total))| sum.wrapping_add(group_term(user, count, total)))
}

/// The LZ4 job once on the sync engine, with the explicit plan: what
/// `instructions lz4_sync` runs under callgrind.
pub fn lz4_sync_once() -> u64 {
    on_sync(&lz4_plan(), lz4_job)
}

/// The LZ4 job on the tokio engine (`lz4_plan`, the source on a thread of
/// its own), `runs` times in
/// one runtime, printing its rate on stderr: what `instructions lz4_async`
/// runs, for a profiler (`perf record`) to see both segments' threads
/// without the baselines beside them. Threads make its instruction count
/// vary from run to run: it is not one of the counted figures.
pub fn lz4_async_runs(runs: u32) -> u64 {
    let plan = lz4_plan();
    let rt = runtime_for(&plan);
    let records = lz4_records();
    let start = std::time::Instant::now();
    let checksum = (0..runs).fold(0u64, |sum, _| sum.wrapping_add(on_async(&rt, &plan, lz4_job)));
    let rate = f64::from(runs) * records as f64 / start.elapsed().as_secs_f64();
    eprintln!("lz4_async: {runs} runs, {:.2} M records/s", rate / 1e6);
    checksum
}

/// The LZ4 job's hand loop once: what `instructions lz4_hand` runs.
pub fn lz4_hand_once() -> u64 {
    lz4_hand_loop()
}

/// The LZ4 job's hand loop on two threads once: what `instructions
/// lz4_hand_two_threads` runs (callgrind counts both threads).
pub fn lz4_two_thread_hand_once() -> u64 {
    two_threads::two_thread_hand_loop()
}

/// The two-thread hand loop with lines crossing as envelopes, once: what
/// `instructions lz4_hand_envelopes` runs.
pub fn lz4_envelope_two_thread_hand_once() -> u64 {
    envelope_two_threads::envelope_two_thread_hand_loop()
}

/// Making the LZ4 job's input alone (both sides above include it): what
/// `instructions lz4_data` runs. Returns the number of records.
pub fn lz4_data_once() -> u64 {
    lz4_input().records
}

/// Records in the LZ4 job's input.
pub fn lz4_records() -> u64 {
    lz4_input().records
}

/// What the LZ4 comparisons print besides the ratio.
fn lz4_extra(plan: &ExecutionPlan) -> Vec<(String, String)> {
    let input = lz4_input();
    let mut extra = segments(plan);
    extra.extend([
        ("records".to_owned(), input.records.to_string()),
        ("text_bytes".to_owned(), input.text_bytes.to_string()),
        ("lz4_bytes".to_owned(), input.frame.len().to_string()),
    ]);
    extra
}

fn lz4_flux(plan: ExecutionPlan) -> Variant {
    let rt = runtime_for(&plan);
    Variant { label: "async engine", run: Box::new(move || on_async(&rt, &plan, lz4_job)) }
}

pub(super) fn lz4_vs_sync() -> Comparison {
    lz4_vs_sync_as("async/lz4_keyed_count", lz4_plan())
}

pub(super) fn lz4_as_tasks_vs_sync() -> Comparison {
    lz4_vs_sync_as("async/lz4_keyed_count_as_tasks", lz4_plan_as_tasks())
}

pub(super) fn lz4_vs_hand_loop() -> Comparison {
    lz4_vs_hand_loop_as("async/lz4_keyed_count_vs_hand_loop", lz4_plan())
}

pub(super) fn lz4_as_tasks_vs_hand_loop() -> Comparison {
    lz4_vs_hand_loop_as("async/lz4_keyed_count_as_tasks_vs_hand_loop", lz4_plan_as_tasks())
}

fn lz4_vs_sync_as(name: &'static str, plan: ExecutionPlan) -> Comparison {
    let on_sync_plan = plan.clone();
    let sync = Variant { label: "sync engine", run: Box::new(move || on_sync(&on_sync_plan, lz4_job)) };
    lz4_against(name, plan, sync)
}

fn lz4_vs_hand_loop_as(name: &'static str, plan: ExecutionPlan) -> Comparison {
    let hand = Variant { label: "hand loop: FrameDecoder, read_until, FxHashMap", run: Box::new(lz4_hand_loop) };
    let mut comparison = lz4_against(name, plan, hand);
    comparison.extra.extend([two_thread_figure(), envelope_two_thread_figure()]);
    comparison
}

/// The hand loop split over two threads (`two_threads`) against the
/// one-thread loop, through the harness (checksums compared, three
/// interleaved rounds, fastest of each): measured once per process and
/// printed beside both hand-loop comparisons.
fn two_thread_figure() -> (String, String) {
    static RATIO: OnceLock<f64> = OnceLock::new();
    let run = two_threads::two_thread_hand_loop;
    hand_split_figure(&RATIO, "two_thread_hand_loop_vs_hand_loop", "hand loop on two threads", run)
}

/// The same with the lines crossing as envelopes (`envelope_two_threads`).
fn envelope_two_thread_figure() -> (String, String) {
    static RATIO: OnceLock<f64> = OnceLock::new();
    let run = envelope_two_threads::envelope_two_thread_hand_loop;
    hand_split_figure(&RATIO, "envelope_two_thread_hand_loop_vs_hand_loop", "envelopes on two threads", run)
}

/// `run` against the one-thread hand loop, measured once per process into
/// `ratio`, as the figure `name`.
fn hand_split_figure(ratio: &OnceLock<f64>, name: &str, label: &'static str, run: fn() -> u64) -> (String, String) {
    let ratio = ratio.get_or_init(|| {
        let split = Comparison {
            name: "lz4 hand loop split",
            work: lz4_input().records,
            unit: "records",
            extra: Vec::new(),
            flux: Variant { label, run: Box::new(run) },
            baselines: vec![Variant { label: "hand loop", run: Box::new(lz4_hand_loop) }],
        };
        crate::run_comparison(split, 3).ratio
    });
    (name.to_owned(), format!("{ratio:.3}"))
}

/// The LZ4 job run by the tokio engine on `plan`, against `baseline`.
fn lz4_against(name: &'static str, plan: ExecutionPlan, baseline: Variant) -> Comparison {
    Comparison {
        name,
        work: lz4_input().records,
        unit: "records",
        extra: lz4_extra(&plan),
        flux: lz4_flux(plan),
        baselines: vec![baseline],
    }
}

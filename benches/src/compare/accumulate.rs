//! Keyed accumulation against a hand-written hash-map loop.
//!
//! One million fragments over one hundred thousand keys (ten per key, in a
//! fixed shuffled order), each merged into a per-key `(count, sum)`; every
//! group is emitted when the input ends. Flux runs them through
//! `accumulate` on the sync engine; the baselines are hand loops doing the
//! same merges with the same hasher, FxHash (rustc-hash), on hashbrown and
//! on std's `HashMap` over the fragment slice, and on hashbrown fed one
//! owned envelope per fragment as a stage is (a baseline names its
//! hasher, and uses the same one). The harness compares with the fastest.
//! Keys are `Bytes` over one static buffer, so neither side pays a
//! reference count per fragment. The checksum folds every group's count and
//! sum, independent of emission order.
//!
//! The ratio is for the plan the default planner makes: a segment boundary
//! on each side of the stateful stage (batches of 512 through the sync
//! engine's in-thread queues). The extra figure `ratio_fused_junctions`
//! times the same run with a planner pass that fuses every junction (one
//! segment, the stage inlined into the source's loop) against the fastest
//! hand loop, best of three rounds each; `floor_envelope_batches` times a
//! hand loop fed the same envelopes in the same batches (see
//! `hand_envelope_batches`): what the hand-off alone leaves of the bar;
//! `floor_tuple_batches` the same loop over small tuples instead of
//! envelopes, to tell the envelope's size from the cost of batching.
//!
//! `ratio_trait_accumulator` and `ratio_fold_closure` time the same merge
//! written as an `Accumulator` impl and as a `fold` closure, best of three
//! each, against the fastest hand loop: a closure must cost no more.
//! `ratio_to_envelope_loop` times the trait run against the hand loop fed
//! one owned envelope at a time (`hand_envelopes`, the loop a stage written
//! without batches would be): above 1 when Flux is the faster.
//!
//! Extra figures: the state memory the stage held at its peak with and
//! without spilling, for an accumulator that keeps each group's values
//! (encoded little-endian, LZ4-compressed), on the same data.

use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use flux_accumulate::{Accumulate, AccumulateExt, Keyed, Policy};
use flux_core::{
    Accumulator, Completeness, Context, Cost, EmitReason, Envelope, ExecutionPlan, Junction, Meta, Pipeline, PlanError,
    PlannerPass, Pull, Pulled, Push, Runnable, Sink, Source, SourceError, SourceOutput, WriteError,
};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::{Comparison, Variant};

/// Fragments in one run.
pub const FRAGMENTS: usize = 1_000_000;
const KEYS: usize = 100_000;

/// Each fragment: its key (a slice of one static buffer) and a value.
fn fragments() -> &'static [(Bytes, u64)] {
    static DATA: OnceLock<Vec<(Bytes, u64)>> = OnceLock::new();
    DATA.get_or_init(|| {
        let text: &'static str = (0..KEYS).map(|k| format!("customer-{k:06}")).collect::<String>().leak();
        let width = text.len() / KEYS;
        crate::data::xorshift(0x2545_F491_4F6C_DD1D)
            .take(FRAGMENTS)
            .map(|state| {
                let k = (state % KEYS as u64) as usize;
                (Bytes::from_static(&text.as_bytes()[k * width..(k + 1) * width]), state % 1000)
            })
            .collect()
    })
}

#[inline(always)]
fn fold(checksum: u64, count: u64, sum: u64) -> u64 {
    checksum.wrapping_add(count.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ sum)
}

/// `(count, sum)` per key; only the end of input emits.
struct CountSum;

impl Accumulator for CountSum {
    type Fragment = u64;
    type State = (u64, u64);
    type Output = (u64, u64);

    fn open(&mut self, _key: &Bytes) -> (u64, u64) {
        (0, 0)
    }

    #[inline]
    fn merge(&mut self, state: &mut (u64, u64), fragment: Envelope<u64>) -> Result<(), Box<dyn Error + Send + Sync>> {
        state.0 += 1;
        state.1 += fragment.into_payload();
        Ok(())
    }

    fn completeness(&self, _state: &(u64, u64)) -> Completeness {
        Completeness::EMPTY
    }

    fn close(&mut self, _key: Bytes, state: (u64, u64), _reason: EmitReason) -> (u64, u64) {
        state
    }
}

/// Every value per key, spillable: for the memory figure.
struct KeepValues;

impl Accumulator for KeepValues {
    type Fragment = u64;
    type State = Vec<u64>;
    type Output = (u64, u64);

    fn open(&mut self, _key: &Bytes) -> Vec<u64> {
        Vec::new()
    }

    fn merge(&mut self, state: &mut Vec<u64>, fragment: Envelope<u64>) -> Result<(), Box<dyn Error + Send + Sync>> {
        state.push(fragment.into_payload());
        Ok(())
    }

    fn completeness(&self, _state: &Vec<u64>) -> Completeness {
        Completeness::EMPTY
    }

    fn close(&mut self, _key: Bytes, state: Vec<u64>, _reason: EmitReason) -> (u64, u64) {
        (state.len() as u64, state.iter().sum())
    }

    fn state_bytes(&self, state: &Vec<u64>) -> usize {
        core::mem::size_of::<Vec<u64>>() + state.capacity() * 8
    }

    fn encode_state(&self, state: &Vec<u64>, out: &mut Vec<u8>) -> bool {
        state.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        true
    }

    fn decode_state(&mut self, _key: &Bytes, encoded: &[u8]) -> Result<Vec<u64>, Box<dyn Error + Send + Sync>> {
        Ok(encoded.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())).collect())
    }
}

/// One fragment's envelope, as the source and the envelope-fed hand loops
/// build it. Built from its parts: the builder chain
/// (`new(..).with_key(..)`) measured a third slower in the source's loop,
/// the half-built envelope copied through the stack around the key's clone.
#[inline(always)]
fn fragment(key: &Bytes, value: u64, sequence: u64) -> Envelope<u64> {
    Envelope::from_parts(value, Meta { sequence, key: Some(key.clone()), ..Meta::default() }, Cost::ZERO)
}

struct FragmentSource {
    data: &'static [(Bytes, u64)],
    index: usize,
}

impl Source for FragmentSource {
    type Item = u64;

    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
        let Some((key, value)) = self.data.get(self.index) else { return Ok(Pull::End) };
        self.index += 1;
        Ok(Pull::Item(fragment(key, *value, self.index as u64)))
    }

    #[inline(always)]
    fn pull_into<D: Push<u64>>(
        &mut self,
        budget: usize,
        out: &mut SourceOutput<'_, '_, '_, D>,
    ) -> Result<Pulled, SourceError> {
        for _ in 0..budget {
            let Some((key, value)) = self.data.get(self.index) else { return Ok(Pulled::End) };
            self.index += 1;
            out.emit(fragment(key, *value, self.index as u64));
        }
        Ok(Pulled::More)
    }
}

struct ChecksumSink(u64, Arc<AtomicU64>);

/// A record the checksum reads: the trait accumulator's `(count, sum)`,
/// or the closure accumulator's `Keyed` one.
trait CountAndSum: Send + 'static {
    fn count_and_sum(self) -> (u64, u64);
}

impl CountAndSum for (u64, u64) {
    #[inline(always)]
    fn count_and_sum(self) -> (u64, u64) {
        self
    }
}

impl CountAndSum for Keyed<(u64, u64)> {
    #[inline(always)]
    fn count_and_sum(self) -> (u64, u64) {
        self.value
    }
}

impl<T: CountAndSum> Sink<T> for ChecksumSink {
    #[inline]
    fn write(&mut self, item: Envelope<T>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        let (count, sum) = item.into_payload().count_and_sum();
        self.0 = fold(self.0, count, sum);
        Ok(())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        self.1.store(self.0, Ordering::Relaxed);
        Ok(())
    }
}

/// Fuses every junction: one segment from source to sink.
struct FuseAll;

impl PlannerPass for FuseAll {
    fn name(&self) -> &'static str {
        "fuse-all"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        plan.junctions.iter_mut().for_each(|junction| *junction = Junction::Fused);
        Ok(())
    }
}

fn run_flux<A: Accumulator<Fragment = u64, Output: CountAndSum>>(layer: Accumulate<A>) -> u64 {
    run_planned(layer, Planner::new())
}

fn run_planned<A: Accumulator<Fragment = u64, Output: CountAndSum>>(layer: Accumulate<A>, planner: Planner) -> u64 {
    let result = Arc::new(AtomicU64::new(0));
    let source = FragmentSource { data: fragments(), index: 0 };
    let pipeline = Pipeline::from_source(source).accumulate_with(layer).sink(ChecksumSink(0, result.clone()));
    let plan = planner.plan(pipeline.describe()).expect("valid pipeline");
    let report = SyncEngine::new().with_trace(false).run(&plan, pipeline).expect("run succeeds");
    assert!(report.dead_letters.is_empty(), "the bench's data has no bad input");
    result.load(Ordering::Relaxed)
}

/// The Flux side once, on the bench's data: what `instructions accumulate`
/// runs under callgrind.
pub fn flux_once() -> u64 {
    flux()
}

fn flux() -> u64 {
    run_flux(Accumulate::new(CountSum, Policy::default()))
}

/// The fastest hand loop once (FxHash on hashbrown over the fragment
/// slice): what `instructions accumulate_hand` runs, for the instruction
/// count Flux's is read against.
pub fn hand_once() -> u64 {
    hand_hashbrown()
}

/// The bench's data generated and nothing else: what `instructions
/// accumulate_data` runs, so that a driver can take the generation's
/// instructions out of both sides' counts.
pub fn data_once() -> u64 {
    fragments().len() as u64
}

/// The envelope-batch floor once: what `instructions accumulate_floor`
/// runs (see `hand_envelope_batches`).
pub fn floor_once() -> u64 {
    hand_envelope_batches()
}

/// The fused-junction plan once: what `instructions accumulate_fused` runs.
pub fn fused_once() -> u64 {
    flux_fused()
}

/// The same merge written as a closure: `fold` instead of a trait impl.
fn flux_fold() -> u64 {
    let count_sum = flux_accumulate::fold((0u64, 0u64), |state: &mut (u64, u64), value: u64| {
        state.0 += 1;
        state.1 += value;
    });
    run_flux(Accumulate::new(count_sum, Policy::default()))
}

/// The `fold` run once: what `instructions accumulate_fold` runs.
pub fn flux_fold_once() -> u64 {
    flux_fold()
}

fn flux_fused() -> u64 {
    run_planned(Accumulate::new(CountSum, Policy::default()), Planner::new().with_pass(FuseAll))
}

/// The fused-junction run and the two batch floors against the fastest
/// hand loop, and the default plan against the envelope-at-a-time hand
/// loop, best of three each.
fn fused_figures() -> Vec<(String, String)> {
    let best = |run: fn() -> u64| {
        (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                std::hint::black_box(run());
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    assert_eq!(flux_fused(), hand_hashbrown(), "the fused run computes the same checksum");
    assert_eq!(flux_fold(), hand_hashbrown(), "the fold run computes the same checksum");
    assert_eq!(hand_envelope_batches(), hand_hashbrown(), "the envelope-batch loop computes the same checksum");
    assert_eq!(hand_tuple_batches(), hand_hashbrown(), "the tuple-batch loop computes the same checksum");
    let one_at_a_time = best(hand_envelopes);
    let hand = [best(hand_hashbrown), best(hand_std), one_at_a_time].into_iter().fold(f64::INFINITY, f64::min);
    let (trait_run, fold_run) = (best(flux), best(flux_fold));
    vec![
        ("ratio_trait_accumulator".into(), format!("{:.3}", hand / trait_run)),
        ("ratio_to_envelope_loop".into(), format!("{:.3}", one_at_a_time / trait_run)),
        ("ratio_fold_closure".into(), format!("{:.3}", hand / fold_run)),
        ("ratio_fused_junctions".into(), format!("{:.3}", hand / best(flux_fused))),
        ("floor_envelope_batches".into(), format!("{:.3}", hand / best(hand_envelope_batches))),
        ("floor_tuple_batches".into(), format!("{:.3}", hand / best(hand_tuple_batches))),
    ]
}

/// The loop a user writes by hand: FxHash on hashbrown.
fn hand_hashbrown() -> u64 {
    let mut groups: hashbrown::HashMap<Bytes, (u64, u64), FxBuildHasher> = hashbrown::HashMap::default();
    for (key, value) in std::hint::black_box(fragments()) {
        match groups.get_mut(key) {
            Some(state) => {
                state.0 += 1;
                state.1 += value;
            }
            None => {
                groups.insert(key.clone(), (1, *value));
            }
        }
    }
    groups.values().fold(0, |acc, &(count, sum)| fold(acc, count, sum))
}

/// The hand loop fed the way a stage is fed: one owned envelope per
/// fragment, its key moved out, on hashbrown with FxHash.
fn hand_envelopes() -> u64 {
    let mut groups: hashbrown::HashMap<Bytes, (u64, u64), FxBuildHasher> = hashbrown::HashMap::default();
    for (sequence, (key, value)) in std::hint::black_box(fragments()).iter().enumerate() {
        let envelope = fragment(key, *value, sequence as u64);
        let (value, mut meta, _cost) = envelope.into_parts();
        let Some(key) = meta.key.take() else { continue };
        match groups.get_mut(&key) {
            Some(state) => {
                state.0 += 1;
                state.1 += value;
            }
            None => {
                groups.insert(key, (1, value));
            }
        }
    }
    groups.values().fold(0, |acc, &(count, sum)| fold(acc, count, sum))
}

/// The floor for any stage fed envelopes in batches, written by hand: a
/// batch of 512 envelopes built as the source builds them, every key
/// hashed, every group looked up once ahead (so that the lookups' cache
/// misses overlap), then each envelope's key moved out and merged. Not a
/// baseline of the ratio (the fastest hand loop is): its ratio to that
/// loop is printed as `floor_envelope_batches`, what the envelope hand-off
/// alone costs before any stage logic.
fn hand_envelope_batches() -> u64 {
    batched_hand_loop(
        fragment,
        |envelope| envelope.meta().key.as_ref(),
        |envelope| {
            let (value, mut meta, _cost) = envelope.into_parts();
            meta.key.take().map(|key| (key, value))
        },
    )
}

/// The same batched loop over 48-byte `(key, value, sequence)` tuples
/// instead of 104-byte envelopes (`floor_tuple_batches`): whether the
/// floor comes from the envelope's size or from working in batches.
fn hand_tuple_batches() -> u64 {
    batched_hand_loop(
        |key, value, sequence| (key.clone(), value, sequence),
        |(key, _, _)| Some(key),
        |(key, value, _)| Some((key, value)),
    )
}

/// Batches of 512 items made by `make` from each fragment's key, value
/// and sequence: every item's key (read by `key`) hashed, every group
/// looked up once ahead, then each item taken apart by `take` and merged.
fn batched_hand_loop<T>(
    make: impl Fn(&Bytes, u64, u64) -> T,
    key: impl Fn(&T) -> Option<&Bytes>,
    take: impl Fn(T) -> Option<(Bytes, u64)>,
) -> u64 {
    use core::hash::BuildHasher;
    let mut groups: hashbrown::HashTable<(Bytes, (u64, u64))> = hashbrown::HashTable::new();
    let (mut batch, mut hashes) = (Vec::with_capacity(512), Vec::with_capacity(512));
    let mut known = 0;
    for (start, chunk) in std::hint::black_box(fragments()).chunks(512).enumerate() {
        batch.extend(chunk.iter().enumerate().map(|(i, (k, value))| make(k, *value, (start * 512 + i) as u64)));
        hashes.extend(batch.iter().map(|item| key(item).map_or(0, |k| FxBuildHasher.hash_one(k))));
        for (item, &hash) in batch.iter().zip(&hashes) {
            known += usize::from(key(item).is_some_and(|k| groups.find(hash, |(stored, _)| stored == k).is_some()));
        }
        for (item, &hash) in batch.drain(..).zip(&hashes) {
            let Some((k, value)) = take(item) else { continue };
            match groups.find_mut(hash, |(stored, _)| *stored == k) {
                Some((_, state)) => {
                    state.0 += 1;
                    state.1 += value;
                }
                None => {
                    groups.insert_unique(hash, (k, (1, value)), |(k, _)| FxBuildHasher.hash_one(k));
                }
            }
        }
        hashes.clear();
    }
    std::hint::black_box(known);
    groups.iter().fold(0, |acc, &(_, (count, sum))| fold(acc, count, sum))
}

/// The same loop on std's `HashMap` with FxHash.
fn hand_std() -> u64 {
    let mut groups: FxHashMap<Bytes, (u64, u64)> = FxHashMap::default();
    for (key, value) in std::hint::black_box(fragments()) {
        let state = groups.entry(key.clone()).or_insert((0, 0));
        state.0 += 1;
        state.1 += value;
    }
    groups.values().fold(0, |acc, &(count, sum)| fold(acc, count, sum))
}

/// The fused-junction ratio, then the peak state bytes of the keep-values
/// accumulator without and with spill.
fn spill_figures() -> Vec<(String, String)> {
    let plain = Accumulate::new(KeepValues, Policy::default());
    let plain_stats = plain.stats();
    run_flux(plain);
    let threshold = 4 * 1024 * 1024;
    let spilled = Accumulate::new(KeepValues, Policy::builder().spill_above(threshold).build().expect("valid"));
    let spilled_stats = spilled.stats();
    run_flux(spilled);
    let (before, after) = (plain_stats.snapshot(), spilled_stats.snapshot());
    let saved = before.peak_bytes.saturating_sub(after.peak_bytes);
    let mut figures = fused_figures();
    figures.extend([
        ("state_peak_bytes_no_spill".into(), before.peak_bytes.to_string()),
        ("state_peak_bytes_spill_above_4MiB".into(), after.peak_bytes.to_string()),
        ("spill_saved".into(), format!("{:.1}%", 100.0 * saved as f64 / before.peak_bytes.max(1) as f64)),
        ("spills".into(), after.spills.to_string()),
        ("restores".into(), after.restores.to_string()),
    ]);
    figures
}

/// The comparison.
pub fn comparison() -> Comparison {
    fragments();
    Comparison {
        name: "accumulate",
        work: FRAGMENTS as u64,
        unit: "fragments",
        flux: Variant { label: "flux", run: Box::new(flux) },
        baselines: vec![
            Variant { label: "hand-fxhash-hashbrown", run: Box::new(hand_hashbrown) },
            Variant { label: "hand-fxhash-std", run: Box::new(hand_std) },
            Variant { label: "hand-fxhash-envelopes", run: Box::new(hand_envelopes) },
        ],
        extra: spill_figures(),
    }
}

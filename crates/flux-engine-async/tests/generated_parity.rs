//! One pipeline value, two engines, generated: each case builds a pipeline
//! from a seed (maps, filters, flat maps, failing parses, keying, a keyed
//! accumulation with a lifetime timer, boundaries anywhere with small
//! batches, and backpressure policies that never drop) and a timed input,
//! runs it on the sync engine and on tokio (paused time, so timers fire at
//! the same instants), and compares the records of each key in order, the
//! dead letters, and the ledger.
//!
//! 10,000 cases, in eight tests of 1,250 seeds (each well within the
//! per-test time limit). A failure names its seed;
//! `PARITY_SEED=<n> cargo nextest run -p flux-engine-async generated` runs
//! that case alone.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use flux_accumulate::{AccumulateExt, Keyed, Policy, TimerStart, fold};
use flux_backpressure::{AdaptiveBatch, Block, Credit, Limit, ReactivePull};
use flux_core::{
    BackpressurePolicy, ChoosePolicy, EdgeSpec, Emit, Envelope, ErrorEnvelope, ExecutionPlan, Instant, Junction,
    LedgerRow, Pipeline, Position, Runnable, Stage, StageId,
};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{TimedSource, VecSink};

/// A small, fast, seeded generator (xorshift64*): the case is its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

/// What a generated stage does to each `u64`.
#[derive(Clone, Copy, Debug)]
enum Op {
    Pass,
    Map(u64),
    /// Keeps what is not a multiple.
    Filter(u64),
    /// As many copies as the value modulo this, plus one.
    FlatMap(u64),
    /// A dead letter for each multiple.
    Fail(u64),
}

impl Op {
    fn generate(rng: &mut Rng) -> Op {
        match rng.between(0, 4) {
            0 => Op::Pass,
            1 => Op::Map(rng.between(1, 9)),
            2 => Op::Filter(rng.between(2, 9)),
            3 => Op::FlatMap(rng.between(1, 3)),
            _ => Op::Fail(rng.between(3, 11)),
        }
    }
}

/// A generated stage; keeps the key and sequence of its input.
struct Generated(Op);

#[derive(Debug)]
struct Unlucky(u64);

impl std::fmt::Display for Unlucky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is unlucky", self.0)
    }
}

impl std::error::Error for Unlucky {}

impl Stage<u64> for Generated {
    type Out = u64;

    fn process(&mut self, input: Envelope<u64>, out: &mut impl Emit<u64>) {
        let n = *input.payload();
        match self.0 {
            Op::Pass => out.emit(input),
            Op::Map(k) => out.emit(input.map(|n| n.wrapping_mul(k).wrapping_add(k))),
            Op::Filter(m) if n.is_multiple_of(m) => {}
            Op::Filter(_) => out.emit(input),
            Op::FlatMap(m) => {
                for copy in 0..=(n % (m + 1)) {
                    out.emit(Envelope::from_parts(n + copy, input.meta().clone(), input.cost()));
                }
            }
            Op::Fail(m) if n.is_multiple_of(m) => {
                let position = Position::Sequence(input.meta().sequence);
                out.dead_letter(input.meta().clone(), position, Box::new(Unlucky(n)));
            }
            Op::Fail(_) => out.emit(input),
        }
    }
}

/// A policy that never drops, for one boundary.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Block(usize),
    Credit(usize),
    Pull(usize),
    Adaptive(usize, usize),
}

impl Kind {
    fn generate(rng: &mut Rng) -> Kind {
        match rng.between(0, 3) {
            0 => Kind::Block(rng.between(1, 4) as usize),
            1 => Kind::Credit(rng.between(1, 64) as usize),
            2 => Kind::Pull(rng.between(1, 3) as usize),
            _ => Kind::Adaptive(rng.between(1, 4) as usize, rng.between(4, 64) as usize),
        }
    }

    fn make(self) -> Box<dyn BackpressurePolicy> {
        match self {
            Kind::Block(batches) => Box::new(Block::at(Limit::batches(batches))),
            Kind::Credit(envelopes) => Box::new(Credit::envelopes(envelopes)),
            Kind::Pull(demand) => Box::new(ReactivePull::demand(demand)),
            Kind::Adaptive(floor, ceiling) => Box::new(AdaptiveBatch::new(Limit::batches(4), floor, ceiling)),
        }
    }
}

/// The boundaries' policies, by junction.
#[derive(Clone, Debug, Default)]
struct Chosen(HashMap<usize, Kind>);

impl ChoosePolicy for Chosen {
    fn policy_for(&self, junction: usize, _after: &StageId) -> Option<Box<dyn BackpressurePolicy>> {
        self.0.get(&junction).map(|kind| kind.make())
    }
}

/// Everything a case is made of.
#[derive(Clone, Debug)]
struct Case {
    input: Vec<(Instant, u64)>,
    before: [Op; 3],
    after: Op,
    keys: u64,
    max_items: u64,
    ttl: Duration,
    cuts: Vec<(usize, EdgeSpec)>,
    policies: Chosen,
}

impl Case {
    fn generate(seed: u64) -> Case {
        let mut rng = Rng::new(seed);
        let mut at = 0;
        let count = rng.between(0, 150);
        let input = (0..count)
            .map(|_| {
                at += rng.between(0, 20);
                (Instant::from_millis(at), rng.between(0, 1_000))
            })
            .collect();
        let before = [Op::generate(&mut rng), Op::generate(&mut rng), Op::generate(&mut rng)];
        let after = Op::generate(&mut rng);
        let (keys, max_items, ttl) = (rng.between(1, 6), rng.between(1, 8), Duration::from_millis(rng.between(1, 80)));
        let (mut cuts, mut policies) = (Vec::new(), Chosen::default());
        // Nine stages, eight junctions: any of them may be a boundary.
        for junction in 0..8 {
            if rng.one_in(3) {
                let edge = EdgeSpec { capacity: rng.between(1, 4) as usize, batch_size: rng.between(1, 32) as usize };
                cuts.push((junction, edge));
                if rng.one_in(2) {
                    policies.0.insert(junction, Kind::generate(&mut rng));
                }
            }
        }
        Case { input, before, after, keys, max_items, ttl, cuts, policies }
    }

    fn pipeline(&self, out: &VecSink<u64>) -> impl Runnable + use<> {
        let timed = self.input.iter().enumerate();
        let timed = timed.map(|(i, &(at, n))| (at, Envelope::new(n).with_sequence(i as u64))).collect();
        let keys = self.keys;
        let policy = Policy::builder().max_items(self.max_items).ttl(self.ttl, TimerStart::FirstFragment).build();
        Pipeline::from_source(TimedSource::new(timed))
            .stage(Generated(self.before[0]))
            .named("first")
            .stage(Generated(self.before[1]))
            .named("second")
            .stage(Generated(self.before[2]))
            .named("third")
            .key_by(move |n| n % keys)
            .named("key")
            .accumulate(fold(0u64, |sum: &mut u64, n: u64| *sum = sum.wrapping_add(n)), policy.expect("a valid policy"))
            .named("sum")
            .map(|keyed: Keyed<u64>| keyed.value)
            .named("value")
            .stage(Generated(self.after))
            .named("last")
            .sink(out.clone())
    }

    fn plan(&self) -> ExecutionPlan {
        let mut plan = Planner::new().plan(self.pipeline(&VecSink::new()).describe()).expect("plans");
        for junction in &mut plan.junctions {
            *junction = Junction::Fused;
        }
        for &(junction, edge) in &self.cuts {
            plan.junctions[junction] = Junction::Boundary(edge);
        }
        plan
    }
}

/// What a run gave: each key's records in order, the dead letters (stage
/// and sequence), and the ledger.
#[derive(Debug, PartialEq)]
struct Outcome {
    by_key: BTreeMap<Option<Vec<u8>>, Vec<u64>>,
    dead: Vec<(String, u64)>,
    ledger: Vec<LedgerRow>,
}

fn outcome(out: &VecSink<u64>, dead_letters: &[ErrorEnvelope], ledger: Vec<LedgerRow>) -> Outcome {
    let mut by_key: BTreeMap<Option<Vec<u8>>, Vec<u64>> = BTreeMap::new();
    for envelope in out.take() {
        let key = envelope.meta().key.as_deref().map(<[u8]>::to_vec);
        by_key.entry(key).or_default().push(*envelope.payload());
    }
    let mut dead: Vec<_> =
        dead_letters.iter().map(|letter| (letter.error.stage().to_string(), letter.meta.sequence)).collect();
    dead.sort();
    Outcome { by_key, dead, ledger }
}

fn run_case(seed: u64) {
    let case = Case::generate(seed);
    let plan = case.plan();
    let sync_out = VecSink::new();
    let sync = SyncEngine::new()
        .with_trace(false)
        .keep_dead_letters(usize::MAX)
        .with_backpressure(case.policies.clone())
        .run(&plan, case.pipeline(&sync_out))
        .unwrap_or_else(|error| panic!("seed {seed}: the sync engine failed: {error:?}\n{case:?}"));
    let async_out = VecSink::new();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let engine = AsyncEngine::new().keep_dead_letters(usize::MAX).with_backpressure(case.policies.clone());
    let tokio = runtime
        .block_on(engine.run(&plan, case.pipeline(&async_out)))
        .unwrap_or_else(|error| panic!("seed {seed}: the tokio engine failed: {error:?}\n{case:?}"));
    let expected = outcome(&sync_out, &sync.dead_letters, sync.ledger);
    let got = outcome(&async_out, &tokio.dead_letters, tokio.ledger);
    assert!(got == expected, "seed {seed}: the engines differ\n{case:?}\nsync: {expected:?}\ntokio: {got:?}");
}

/// Runs `seeds`, or only `PARITY_SEED` when it is set.
fn run_seeds(seeds: std::ops::Range<u64>) {
    if let Some(seed) = std::env::var("PARITY_SEED").ok().and_then(|seed| seed.parse().ok()) {
        if seeds.contains(&seed) {
            run_case(seed);
        }
        return;
    }
    for seed in seeds {
        run_case(seed);
    }
}

#[test]
fn generated_pipelines_agree_on_both_engines_seeds_0_to_1249() {
    run_seeds(0..1_250);
}

#[test]
fn generated_pipelines_agree_on_both_engines_seeds_1250_to_2499() {
    run_seeds(1_250..2_500);
}

#[test]
fn generated_pipelines_agree_on_both_engines_seeds_2500_to_3749() {
    run_seeds(2_500..3_750);
}

#[test]
fn generated_pipelines_agree_on_both_engines_seeds_3750_to_4999() {
    run_seeds(3_750..5_000);
}

#[test]
fn generated_pipelines_agree_on_both_engines_seeds_5000_to_6249() {
    run_seeds(5_000..6_250);
}

#[test]
fn generated_pipelines_agree_on_both_engines_seeds_6250_to_7499() {
    run_seeds(6_250..7_500);
}

#[test]
fn generated_pipelines_agree_on_both_engines_seeds_7500_to_8749() {
    run_seeds(7_500..8_750);
}

#[test]
fn generated_pipelines_agree_on_both_engines_seeds_8750_to_9999() {
    run_seeds(8_750..10_000);
}

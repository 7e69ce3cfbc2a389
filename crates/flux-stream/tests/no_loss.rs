//! Nothing is lost under random failures: every input of a fallible flow
//! is an output or a dead letter, exactly the ones its failures decide,
//! on both engines, with and without a boundary, and the ledger balances.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flux_core::{EdgeSpec, ExecutionPlan, Junction, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_stream::AsyncSteps;
use flux_stream::flow::{Backoff, Env, GaveUp, Verdict};
use flux_test::{IterSource, VecSink};
use proptest::prelude::*;

/// Attempts a retry makes before it gives up.
const ATTEMPTS: u32 = 4;

/// One input's script: how many attempts fail with a transient error
/// first, and whether the attempt after them fails for good.
#[derive(Clone, Copy, Debug)]
struct Script {
    transient: u32,
    permanent: bool,
}

/// Where an input must end up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Output,
    /// A dead letter: the retry gave up on a permanent error, or after
    /// every attempt failed.
    GaveUp(&'static str),
}

impl Script {
    fn fate(self) -> Fate {
        if self.transient >= ATTEMPTS {
            Fate::GaveUp("every attempt failed")
        } else if self.permanent {
            Fate::GaveUp("a permanent error")
        } else {
            Fate::Output
        }
    }

    fn attempts(self) -> u32 {
        (self.transient + 1).min(ATTEMPTS)
    }
}

#[derive(Debug)]
enum Failure {
    Busy,
    Refused,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Failure::Busy => "busy",
            Failure::Refused => "refused",
        })
    }
}

impl std::error::Error for Failure {}

/// Attempts made, by input.
type Attempts = Arc<Mutex<Vec<u32>>>;

/// Input `i` follows `scripts[i]`; the flow retries transient failures
/// with jittered backoff, and an input it gives up on is a dead letter.
fn pipeline(
    scripts: &[Script],
    limit: usize,
    seed: u64,
    attempts: &Attempts,
    out: &VecSink<u64>,
) -> impl Runnable + use<> {
    let scripts = scripts.to_vec();
    let attempts = attempts.clone();
    Pipeline::from_source(IterSource::new(0..scripts.len() as u64))
        .map(|n| n * 10)
        .try_map_flow(limit, Env::seeded(seed), move |n, env| {
            let (script, attempts) = (scripts[(n / 10) as usize], attempts.clone());
            let mut made = 0;
            env.retry(
                Backoff::exponential(Duration::from_millis(5), ATTEMPTS).with_jitter(),
                |error: &Failure| match error {
                    Failure::Busy => Verdict::Transient,
                    Failure::Refused => Verdict::Permanent,
                },
                move || {
                    made += 1;
                    attempts.lock().unwrap()[(n / 10) as usize] = made;
                    let answer = match made {
                        made if made <= script.transient => Err(Failure::Busy),
                        _ if script.permanent => Err(Failure::Refused),
                        _ => Ok(n + 1),
                    };
                    async move { answer }
                },
            )
        })
        .named("flow")
        .sink(out.clone())
}

fn plan(runnable: &impl Runnable, boundary: Option<usize>) -> ExecutionPlan {
    let mut plan = Planner::new().plan(runnable.describe()).unwrap();
    if let Some(at) = boundary {
        plan.junctions[at] = Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 3 });
    }
    plan
}

/// What a run left: outputs, and dead letters as `(sequence, stage,
/// why the retry gave up, last error)`.
struct Ends {
    outputs: Vec<u64>,
    dead: Vec<(u64, String, String, String)>,
    flow_row: (u64, u64, u64),
    problems: usize,
}

fn dead_letter(letter: &flux_core::ErrorEnvelope) -> (u64, String, String, String) {
    let cause = letter.error.cause().downcast_ref::<GaveUp<Failure>>().expect("the flow's own error");
    let why = cause.to_string();
    let why = why.split(['(', ')']).nth(1).unwrap_or_default().to_owned();
    let last = std::error::Error::source(cause).map(ToString::to_string).unwrap_or_default();
    (letter.meta.sequence, letter.error.stage().to_string(), why, last)
}

fn check(scripts: &[Script], attempts: &Attempts, ends: &Ends) -> Result<(), TestCaseError> {
    let mut outputs = Vec::new();
    let mut dead = Vec::new();
    for (i, script) in scripts.iter().enumerate() {
        let i = i as u64;
        match script.fate() {
            Fate::Output => outputs.push(i * 10 + 1),
            Fate::GaveUp(why) => {
                let last = if script.transient >= ATTEMPTS { "busy" } else { "refused" };
                dead.push((i, "flow".to_owned(), why.to_owned(), last.to_owned()));
            }
        }
    }
    let made: Vec<u32> = scripts.iter().map(|s| s.attempts()).collect();
    prop_assert_eq!(&ends.outputs, &outputs, "outputs, in input order");
    prop_assert_eq!(&ends.dead, &dead, "dead letters, by sequence, with the flow's chain");
    prop_assert_eq!(&*attempts.lock().unwrap(), &made, "attempts per input");
    let n = scripts.len() as u64;
    prop_assert_eq!(ends.flow_row, (n, outputs.len() as u64, dead.len() as u64), "the flow's ledger row");
    prop_assert_eq!(ends.problems, 0, "the ledger balances");
    Ok(())
}

fn scripts() -> impl Strategy<Value = Vec<Script>> {
    let script =
        (prop_oneof![6 => 0u32..2, 3 => 2u32..ATTEMPTS, 1 => ATTEMPTS..ATTEMPTS + 3], proptest::bool::weighted(0.2))
            .prop_map(|(transient, permanent)| Script { transient, permanent });
    proptest::collection::vec(script, 0..120)
}

fn sync_run(scripts: &[Script], limit: usize, seed: u64, boundary: Option<usize>) -> (Ends, Attempts) {
    let (attempts, out) = (Attempts::new(Mutex::new(vec![0; scripts.len()])), VecSink::new());
    let runnable = pipeline(scripts, limit, seed, &attempts, &out);
    let plan = plan(&runnable, boundary);
    let report = SyncEngine::new().run(&plan, runnable).unwrap();
    let row = report.row("flow").unwrap();
    let ends = Ends {
        outputs: out.payloads(),
        dead: report.dead_letters.iter().map(dead_letter).collect(),
        flow_row: (row.received, row.emitted, row.dead_letters),
        problems: report.problems.len(),
    };
    (ends, attempts)
}

fn async_run(scripts: &[Script], limit: usize, seed: u64, boundary: Option<usize>) -> (Ends, Attempts) {
    let (attempts, out) = (Attempts::new(Mutex::new(vec![0; scripts.len()])), VecSink::new());
    let runnable = pipeline(scripts, limit, seed, &attempts, &out);
    let plan = plan(&runnable, boundary);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let report = runtime.block_on(AsyncEngine::new().run(&plan, runnable)).unwrap();
    let row = report.row("flow").unwrap();
    let mut dead: Vec<_> = report.dead_letters.iter().map(dead_letter).collect();
    dead.sort();
    let ends = Ends {
        outputs: out.payloads(),
        dead,
        flow_row: (row.received, row.emitted, row.dead_letters),
        problems: report.problems.len(),
    };
    (ends, attempts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_input_is_an_output_or_a_dead_letter_on_the_sync_engine(
        scripts in scripts(), limit in 1usize..9, seed in any::<u64>(), boundary in proptest::option::of(0usize..2),
    ) {
        let (ends, attempts) = sync_run(&scripts, limit, seed, boundary);
        check(&scripts, &attempts, &ends)?;
    }

    #[test]
    fn every_input_is_an_output_or_a_dead_letter_on_tokio(
        scripts in scripts(), limit in 1usize..9, seed in any::<u64>(), boundary in proptest::option::of(0usize..2),
    ) {
        let (ends, attempts) = async_run(&scripts, limit, seed, boundary);
        check(&scripts, &attempts, &ends)?;
    }
}

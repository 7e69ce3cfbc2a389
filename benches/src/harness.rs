//! Timing two variants fairly: interleaved rounds, best round of each.

use std::hint::black_box;
use std::time::Instant;

/// One side of a comparison: a closure doing the whole workload once and
/// returning a checksum (so the work cannot be optimised away, and so both
/// sides can be checked to compute the same thing).
pub struct Variant {
    /// A label, printed in the JSON output.
    pub label: &'static str,
    /// Runs the workload once.
    pub run: Box<dyn FnMut() -> u64>,
}

/// A comparison of Flux against one or more baselines.
///
/// When several baselines are given, the fastest one is the reference: two
/// hand loops differing in a constant can differ by up to 1.18x through code
/// layout alone (measured here), so Flux is compared with the better one.
pub struct Comparison {
    /// The name on the output line.
    pub name: &'static str,
    /// What one run processes, in `unit`s (envelopes, bytes).
    pub work: u64,
    /// The unit of `work`, for example `"items"` or `"bytes"`.
    pub unit: &'static str,
    /// The Flux side.
    pub flux: Variant,
    /// The baselines.
    pub baselines: Vec<Variant>,
    /// Extra `key=value` figures to print after the ratio.
    pub extra: Vec<(String, String)>,
}

/// What a comparison measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The comparison's name.
    pub name: &'static str,
    /// Flux throughput divided by the best baseline's.
    pub ratio: f64,
    /// Flux throughput in `unit`/s.
    pub flux_per_sec: f64,
    /// Best baseline throughput in `unit`/s.
    pub baseline_per_sec: f64,
    /// Which baseline was best.
    pub baseline_label: &'static str,
    /// The unit.
    pub unit: &'static str,
    /// Extra figures.
    pub extra: Vec<(String, String)>,
}

/// Runs `rounds` interleaved rounds (each variant once per round, after one
/// warm-up, alternating which side goes first) and compares the best round
/// of each.
///
/// # Panics
///
/// If a baseline's checksum differs from Flux's: the two sides did not do
/// the same work, so their ratio would mean nothing.
pub fn run_comparison(mut comparison: Comparison, rounds: usize) -> Outcome {
    let expected = (comparison.flux.run)();
    for baseline in &mut comparison.baselines {
        let got = (baseline.run)();
        assert_eq!(got, expected, "{}: baseline `{}` computed a different checksum", comparison.name, baseline.label);
    }
    let mut best_flux = f64::INFINITY;
    let mut best_base = vec![f64::INFINITY; comparison.baselines.len()];
    for round in 0..rounds.max(1) {
        // Alternate who goes first, so neither side always runs on a cache
        // (or a CPU frequency) the other warmed.
        if round % 2 == 1 {
            best_flux = best_flux.min(time(&mut comparison.flux.run));
        }
        for (best, baseline) in best_base.iter_mut().zip(&mut comparison.baselines) {
            *best = best.min(time(&mut baseline.run));
        }
        if round % 2 == 0 {
            best_flux = best_flux.min(time(&mut comparison.flux.run));
        }
    }
    let (index, best) =
        best_base.iter().enumerate().fold((0, f64::INFINITY), |acc, (i, &t)| if t < acc.1 { (i, t) } else { acc });
    let work = comparison.work as f64;
    Outcome {
        name: comparison.name,
        ratio: best / best_flux,
        flux_per_sec: work / best_flux,
        baseline_per_sec: work / best,
        baseline_label: comparison.baselines.get(index).map_or("none", |b| b.label),
        unit: comparison.unit,
        extra: comparison.extra,
    }
}

fn time(run: &mut Box<dyn FnMut() -> u64>) -> f64 {
    let start = Instant::now();
    black_box(run());
    start.elapsed().as_secs_f64()
}

impl core::fmt::Debug for Variant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Variant").field("label", &self.label).finish_non_exhaustive()
    }
}

impl core::fmt::Debug for Comparison {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Comparison").field("name", &self.name).field("work", &self.work).finish_non_exhaustive()
    }
}

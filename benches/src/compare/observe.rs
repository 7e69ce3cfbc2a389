//! `cargo xtask bench observe`: what watching a run costs. The fused
//! chain's workloads (see `fused_chain`) run with `flux-observe`'s
//! `Metrics` told of every step, against the same run with no observer,
//! side by side in one run. Every figure is kept (no sampling): the engine
//! reports each stage's counts and each boundary's flow once per step of
//! up to 1,024 envelopes, never per envelope, so the cost is a few calls
//! and one uncontended lock per step.

use std::hint::black_box;
use std::sync::Arc;

use flux_observe::Metrics;

use crate::compare::fused_chain::{L2_VALUES, TOTAL, data, flux_run_observed};
use crate::{Comparison, Variant};

fn workload<const FNV: bool, const META: bool>(name: &'static str, values: usize) -> Comparison {
    let data = data(values);
    let passes = TOTAL / values;
    let (observed, bare) = (data.clone(), data);
    Comparison {
        name,
        work: (values * passes) as u64,
        unit: "envelopes",
        flux: Variant {
            label: "flux with metrics",
            run: Box::new(move || {
                let metrics = Arc::new(Metrics::new());
                let folded = flux_run_observed::<FNV, META>(&observed, passes, Some(metrics.clone()));
                let snapshot = metrics.snapshot();
                assert_eq!(
                    snapshot.stage("sink").map(|s| s.received),
                    Some(snapshot.stages[snapshot.stages.len() - 2].sent)
                );
                black_box(snapshot);
                folded
            }),
        },
        baselines: vec![Variant {
            label: "flux without",
            run: Box::new(move || flux_run_observed::<FNV, META>(black_box(&bare), passes, None)),
        }],
        extra: Vec::new(),
    }
}

/// The fused chain's five workloads, observed and not.
pub fn comparisons() -> Vec<Comparison> {
    vec![
        workload::<false, false>("observe/dram-sum", TOTAL),
        workload::<true, false>("observe/dram-fnv", TOTAL),
        workload::<false, false>("observe/l2-sum", L2_VALUES),
        workload::<true, false>("observe/l2-fnv", L2_VALUES),
        workload::<false, true>("observe/l2-sum-meta", L2_VALUES),
    ]
}

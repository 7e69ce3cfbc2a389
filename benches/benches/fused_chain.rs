//! Criterion view of the fused-chain comparison (`cargo bench -p flux-benches`).

#![allow(missing_docs, reason = "criterion_group! generates an undocumented function")]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flux_benches::compare::fused_chain;

fn fused_chain(c: &mut Criterion) {
    let mut group = c.benchmark_group("fused_chain");
    group.sample_size(10);
    for mut comparison in fused_chain::comparisons() {
        group.throughput(Throughput::Elements(comparison.work));
        let name = comparison.name.trim_start_matches("fused_chain/");
        group.bench_function(format!("{name}/flux"), |b| b.iter(&mut comparison.flux.run));
        for baseline in &mut comparison.baselines {
            group.bench_function(format!("{name}/{}", baseline.label), |b| b.iter(&mut baseline.run));
        }
    }
    group.finish();
}

criterion_group!(benches, fused_chain);
criterion_main!(benches);

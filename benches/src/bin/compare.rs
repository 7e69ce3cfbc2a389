//! Runs the side-by-side comparisons: `compare [NAME] [--rounds N]`.
//!
//! Prints `NAME ratio=R flux=F UNIT/s baseline=B UNIT/s ...` per comparison
//! and writes the results as JSON under `target/flux-bench/`.

#![allow(clippy::print_stdout, reason = "the comparison lines are this program's output")]

use std::path::PathBuf;
use std::process::ExitCode;

use flux_benches::{Outcome, compare, run_comparison};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut filter: Option<String> = None;
    let mut rounds = 5;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => match args.next().and_then(|r| r.parse().ok()) {
                Some(r) => rounds = r,
                None => return usage("--rounds needs a number"),
            },
            name if filter.is_none() && !name.starts_with('-') => filter = Some(name.to_owned()),
            other => return usage(&format!("unexpected argument `{other}`")),
        }
    }
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name == f || name.starts_with(&format!("{f}/")));
    let mut outcomes = Vec::new();
    // A group whose workloads all skipped themselves (a server not named)
    // was still asked for: no usage error then.
    let mut groups_asked = 0;
    for (name, build) in compare::all() {
        if wanted(name) {
            outcomes.push(report(run_comparison(build(), rounds)));
        }
    }
    for (group, build) in compare::groups() {
        let in_group = |f: &str| f == group || f.strip_prefix(group).is_some_and(|rest| rest.starts_with('/'));
        if !filter.as_deref().is_none_or(in_group) {
            continue; // building a group prepares its data: skip it unless wanted
        }
        groups_asked += 1;
        let members: Vec<Outcome> = build()
            .into_iter()
            .filter(|c| filter.as_deref().is_none_or(|f| f == group || c.name == f))
            .map(|c| report(run_comparison(c, rounds)))
            .collect();
        if members.len() > 1 {
            summarise(group, &members);
        }
        outcomes.extend(members);
    }
    if outcomes.is_empty() && groups_asked == 0 {
        return usage(&format!("no comparison named `{}`", filter.unwrap_or_default()));
    }
    ExitCode::SUCCESS
}

fn report(outcome: Outcome) -> Outcome {
    let mut line = format!(
        "{} ratio={:.3} flux={:.3e} {unit}/s baseline={:.3e} {unit}/s baseline_kind={}",
        outcome.name,
        outcome.ratio,
        outcome.flux_per_sec,
        outcome.baseline_per_sec,
        outcome.baseline_label,
        unit = outcome.unit
    );
    for (key, value) in &outcome.extra {
        line.push_str(&format!(" {key}={value}"));
    }
    println!("{line}");
    let json = serde_json::json!({
        "name": outcome.name,
        "ratio": outcome.ratio,
        "flux_per_sec": outcome.flux_per_sec,
        "baseline_per_sec": outcome.baseline_per_sec,
        "baseline": outcome.baseline_label,
        "unit": outcome.unit,
        "extra": outcome.extra.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
    });
    write_json(outcome.name, &json);
    outcome
}

fn summarise(group: &str, members: &[Outcome]) {
    let logs: f64 = members.iter().map(|o| o.ratio.ln()).sum();
    let geomean = (logs / members.len() as f64).exp();
    let min = members.iter().map(|o| o.ratio).fold(f64::INFINITY, f64::min);
    let max = members.iter().map(|o| o.ratio).fold(0.0, f64::max);
    println!("{group} ratio={geomean:.3} min={min:.3} max={max:.3} workloads={}", members.len());
    let json = serde_json::json!({ "name": group, "ratio": geomean, "min": min, "max": max,
        "workloads": members.iter().map(|o| o.name).collect::<Vec<_>>() });
    write_json(group, &json);
}

fn write_json(name: &str, json: &serde_json::Value) {
    let dir = target_dir().join("flux-bench");
    let path = dir.join(format!("{}.json", name.replace('/', "-")));
    let written = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json.to_string()));
    if let Err(e) = written {
        eprintln!("warning: could not write {}: {e}", path.display());
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("target"), PathBuf::from)
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("error: {problem}\nusage: compare [NAME] [--rounds N]");
    ExitCode::from(2)
}

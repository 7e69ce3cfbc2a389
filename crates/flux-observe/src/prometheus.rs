//! A snapshot in the Prometheus text exposition format.

use core::fmt::Write as _;

use crate::{EdgeFigures, Snapshot, StageFigures};

/// A per-stage counter: its name, help text, and where its value is.
type StageMetric = (&'static str, &'static str, fn(&StageFigures) -> u64);

const STAGE_METRICS: [StageMetric; 13] = [
    ("flux_stage_received_total", "Envelopes that reached the stage.", |s| s.received),
    ("flux_stage_sent_total", "Envelopes the stage passed on.", |s| s.sent),
    ("flux_stage_dead_letters_total", "Inputs the stage sent to the dead-letter output.", |s| s.dead_letters),
    ("flux_stage_side_outputs_total", "Inputs the stage sent to the side output.", |s| s.side_outputs),
    ("flux_stage_late_total", "Inputs the stage sent aside for being late.", |s| s.late),
    ("flux_stage_dropped_by_policy_total", "Inputs the stage dropped on purpose.", |s| s.dropped_by_policy),
    ("flux_stage_created_total", "Envelopes the stage made.", |s| s.created),
    ("flux_stage_merged_total", "Inputs merged into open groups.", |s| s.merged),
    ("flux_stage_released_total", "Merged inputs released in records.", |s| s.released),
    ("flux_stage_partial_total", "Envelopes made from state that went out incomplete.", |s| s.partial),
    ("flux_stage_discarded_total", "Merged inputs discarded by policy.", |s| s.discarded),
    ("flux_stage_consumed_total", "Envelopes the stage wrote.", |s| s.consumed),
    ("flux_stage_pending", "Merged inputs held in open groups now.", |s| s.pending),
];

/// A per-boundary figure: name, help, type, and where its value is.
type EdgeMetric = (&'static str, &'static str, &'static str, fn(&EdgeFigures) -> u64);

const EDGE_METRICS: [EdgeMetric; 6] = [
    ("flux_edge_sent_total", "Envelopes sent into the boundary.", "counter", |e| e.sent),
    ("flux_edge_received_total", "Envelopes taken out of the boundary.", "counter", |e| e.received),
    ("flux_edge_dropped_by_policy_total", "Envelopes the boundary's policy dropped or rejected.", "counter", |e| {
        e.dropped_by_policy
    }),
    ("flux_edge_batches_total", "Batches taken out of the boundary.", "counter", |e| e.batches),
    ("flux_edge_queued", "Envelopes waiting in the boundary now.", "gauge", |e| e.queued),
    ("flux_edge_capacity", "Envelopes the boundary can hold.", "gauge", |e| e.holds),
];

impl Snapshot {
    /// The snapshot in the Prometheus text format (version 0.0.4): one
    /// counter per stage figure (`stage` label), the boundaries' flow and
    /// queue gauges (`junction` and `after` labels), and dead letters by
    /// `stage` and `cause`.
    ///
    /// ```
    /// use flux_observe::{Snapshot, StageFigures};
    ///
    /// let snapshot = Snapshot {
    ///     stages: vec![StageFigures { stage: "parse".into(), received: 3, sent: 2, ..Default::default() }],
    ///     ..Default::default()
    /// };
    /// let text = snapshot.to_prometheus();
    /// assert!(text.contains("# TYPE flux_stage_received_total counter\nflux_stage_received_total{stage=\"parse\"} 3\n"));
    /// ```
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        for (name, help, value) in STAGE_METRICS {
            let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
            header(&mut out, name, help, kind);
            for stage in &self.stages {
                let _ = writeln!(out, "{name}{{stage=\"{}\"}} {}", escape(&stage.stage), value(stage));
            }
        }
        for (name, help, kind, value) in EDGE_METRICS {
            header(&mut out, name, help, kind);
            for edge in &self.edges {
                let (junction, after) = (edge.junction, escape(&edge.after));
                let _ = writeln!(out, "{name}{{junction=\"{junction}\",after=\"{after}\"}} {}", value(edge));
            }
        }
        let name = "flux_segment_step_seconds";
        header(&mut out, name, "Real time a step of the segment takes (quantiles within 0.1%).", "summary");
        for segment in &self.segments {
            let label = escape(&segment.first_stage);
            for (quantile, nanos) in [
                ("0.5", segment.step_p50_nanos),
                ("0.9", segment.step_p90_nanos),
                ("0.99", segment.step_p99_nanos),
                ("0.999", segment.step_p999_nanos),
            ] {
                let _ = writeln!(out, "{name}{{segment=\"{label}\",quantile=\"{quantile}\"}} {}", seconds(nanos));
            }
            let _ = writeln!(out, "{name}_sum{{segment=\"{label}\"}} {}", seconds(segment.busy_nanos));
            let _ = writeln!(out, "{name}_count{{segment=\"{label}\"}} {}", segment.steps);
        }
        let name = "flux_segment_busy_ratio";
        header(&mut out, name, "Share of the run's real time the segment spent in steps.", "gauge");
        for segment in &self.segments {
            let _ = writeln!(out, "{name}{{segment=\"{}\"}} {}", escape(&segment.first_stage), segment.busy_share());
        }
        let name = "flux_dead_letters_total";
        header(&mut out, name, "Dead letters by the stage they name and their cause.", "counter");
        for letter in &self.dead_letters {
            let (stage, cause) = (escape(&letter.stage), escape(&letter.cause));
            let _ = writeln!(out, "{name}{{stage=\"{stage}\",cause=\"{cause}\"}} {}", letter.count);
        }
        out
    }
}

/// Nanoseconds as seconds, the unit Prometheus names want.
fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the format wants it: backslash, double quote and line
/// feed escaped.
fn escape(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', r#"\""#).replace('\n', r"\n")
}

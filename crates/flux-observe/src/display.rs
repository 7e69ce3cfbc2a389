//! A snapshot as a table a person reads after a run.

use core::fmt;

use crate::Snapshot;

impl fmt::Display for Snapshot {
    /// Per stage: received, sent, dead letters, side outputs, dropped by
    /// policy; per boundary: flow and what it holds; the dead letters by
    /// stage and cause; and, for a run that has not ended, where it waits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.finished { "ended" } else { "running" };
        let seconds = self.at_nanos as f64 / 1e9;
        writeln!(f, "run {state} at {seconds:.3} s of engine time")?;
        let width = self.stages.iter().map(|stage| stage.stage.len()).max().unwrap_or(5).max(5);
        writeln!(
            f,
            "  {:<width$} {:>12} {:>12} {:>12} {:>10} {:>10}",
            "stage", "received", "sent", "dead", "side", "dropped"
        )?;
        for s in &self.stages {
            let (stage, received, sent) = (&s.stage, s.received, s.sent);
            let (dead, side, dropped) = (s.dead_letters, s.side_outputs, s.dropped_by_policy);
            writeln!(f, "  {stage:<width$} {received:>12} {sent:>12} {dead:>12} {side:>10} {dropped:>10}")?;
        }
        for edge in &self.edges {
            let (after, sent, received, queued, holds) =
                (&edge.after, edge.sent, edge.received, edge.queued, edge.holds);
            write!(f, "  boundary after {after}: {sent} sent, {received} received, {queued} of {holds} queued")?;
            match edge.dropped_by_policy {
                0 => writeln!(f)?,
                dropped => writeln!(f, ", {dropped} dropped by its policy")?,
            }
        }
        for s in &self.segments {
            let (first, steps, share) = (&s.first_stage, s.steps, s.busy_share() * 100.0);
            let (p50, p99) = (s.step_p50_nanos as f64 / 1e3, s.step_p99_nanos as f64 / 1e3);
            writeln!(
                f,
                "  segment from {first}: {steps} steps, busy {share:.0}%, step p50 {p50:.1} µs, p99 {p99:.1} µs"
            )?;
        }
        if !self.dead_letters.is_empty() {
            writeln!(f, "  dead letters:")?;
            for letter in &self.dead_letters {
                writeln!(f, "    {:>8}  {}: {}", letter.count, letter.stage, letter.cause)?;
            }
        }
        if let (false, Some(edge)) = (self.finished, self.fullest_edge()) {
            let next = self.stages.get(edge.junction + 1).map_or("?", |stage| stage.stage.as_str());
            writeln!(
                f,
                "  waiting: the boundary after {} is fullest ({} of {}); {next} is the slow side",
                edge.after, edge.queued, edge.holds
            )?;
        }
        Ok(())
    }
}

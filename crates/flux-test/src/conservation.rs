//! Exact conservation by sequence: each input ends once, and only once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Checks, sequence by sequence, that every input envelope ended exactly
/// once: in the output, as a dead letter, as a side output, or among the
/// drops a policy counted.
///
/// Totals can balance while envelopes go missing (one lost, another
/// doubled); sequences cannot. Drops carry no sequence, so they are a
/// count: exactly that many inputs may end nowhere else.
///
/// # Examples
///
/// ```
/// use flux_test::Conservation;
///
/// Conservation::of(0..6).output([0, 1, 4]).dead_letters([2, 5]).dropped(1).assert();
///
/// let lost = Conservation::of(0..4).output([0, 1, 1]).check().unwrap_err();
/// assert_eq!(lost, "sequence 1 ended 2 times (output, output); 2 of 4 inputs ended nowhere: [2, 3]");
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "call `check` or `assert`"]
pub struct Conservation {
    inputs: BTreeSet<u64>,
    ends: BTreeMap<u64, Vec<&'static str>>,
    dropped: u64,
}

impl Conservation {
    /// The sequences that entered the pipeline.
    pub fn of(inputs: impl IntoIterator<Item = u64>) -> Self {
        Conservation { inputs: inputs.into_iter().collect(), ..Conservation::default() }
    }

    fn ended(mut self, place: &'static str, sequences: impl IntoIterator<Item = u64>) -> Self {
        for sequence in sequences {
            self.ends.entry(sequence).or_default().push(place);
        }
        self
    }

    /// Sequences that reached the output.
    pub fn output(self, sequences: impl IntoIterator<Item = u64>) -> Self {
        self.ended("output", sequences)
    }

    /// Sequences that became dead letters.
    pub fn dead_letters(self, sequences: impl IntoIterator<Item = u64>) -> Self {
        self.ended("dead letter", sequences)
    }

    /// Sequences routed to the side output.
    pub fn side_outputs(self, sequences: impl IntoIterator<Item = u64>) -> Self {
        self.ended("side output", sequences)
    }

    /// Inputs dropped by a policy that counted them (a filter, a drop at end of input).
    pub fn dropped(mut self, count: u64) -> Self {
        self.dropped += count;
        self
    }

    /// What is wrong, if anything.
    ///
    /// # Errors
    ///
    /// A sequence ended more than once, a sequence ended that never
    /// entered, or the inputs that ended nowhere are not exactly the
    /// counted drops.
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let mut missing = Vec::new();
        for &input in &self.inputs {
            match self.ends.get(&input).map_or(0, Vec::len) {
                0 => missing.push(input),
                1 => {}
                n => problems.push(format!("sequence {input} ended {n} times ({})", self.ends[&input].join(", "))),
            }
        }
        let strangers: Vec<u64> = self.ends.keys().copied().filter(|s| !self.inputs.contains(s)).collect();
        if !strangers.is_empty() {
            problems.push(format!("sequences that never entered ended: {}", first_few(&strangers)));
        }
        if missing.len() as u64 != self.dropped {
            let mut line = format!("{} of {} inputs ended nowhere", missing.len(), self.inputs.len());
            if self.dropped > 0 {
                let _ = write!(line, " but {} were counted as dropped", self.dropped);
            }
            let _ = write!(line, ": {}", first_few(&missing));
            problems.push(line);
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }

    /// Panics with what is wrong, if anything.
    ///
    /// # Panics
    ///
    /// When [`Conservation::check`] fails.
    #[track_caller]
    pub fn assert(&self) {
        if let Err(problems) = self.check() {
            panic!("conservation failed: {problems}");
        }
    }
}

/// Up to ten sequences, and how many more.
fn first_few(sequences: &[u64]) -> String {
    let shown: Vec<String> = sequences.iter().take(10).map(u64::to_string).collect();
    let more = sequences.len().saturating_sub(10);
    if more == 0 { format!("[{}]", shown.join(", ")) } else { format!("[{}, and {more} more]", shown.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_balanced_ending_passes_and_every_kind_of_imbalance_is_named() {
        assert!(Conservation::of(0..3).output([2, 0]).side_outputs([1]).check().is_ok());
        assert_eq!(
            Conservation::of(0..3).output([0, 1, 2, 9]).check().unwrap_err(),
            "sequences that never entered ended: [9]"
        );
        assert_eq!(
            Conservation::of(0..3).output([0]).dropped(1).check().unwrap_err(),
            "2 of 3 inputs ended nowhere but 1 were counted as dropped: [1, 2]"
        );
        assert_eq!(
            Conservation::of(0..12).check().unwrap_err(),
            "12 of 12 inputs ended nowhere: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, and 2 more]"
        );
    }
}

//! A fused run whose hinted work could keep several cores busy is cut into
//! parts of about equal work.

use flux_core::{EdgeSpec, ExecutionPlan, Junction, PlanError, PlannerPass};

/// Cuts a segment into up to `parts` segments of about equal hinted CPU
/// per item, when each part would carry at least `min_part_ns`.
///
/// [`IsolateHeavy`](super::IsolateHeavy) gives a stage of its own only to
/// a stage heavy enough alone. Four stages of 25 ns each are not, but
/// together they are 100 ns an item on one core, and a boundary now costs
/// far less than half of that: cut in two, each half runs beside the
/// other. Measured on a 2-core machine (`cargo xtask bench async`,
/// `async/work_25ns`, docs/BENCHMARKS.md): the four maps fused ran at
/// 1.8e7 items/s, cut in two parts of 50 hinted ns each at 2.9-3.2e7.
///
/// The work is what stages say through
/// [`StageDescriptor::cpu_hint_ns`](flux_core::StageDescriptor::cpu_hint_ns)
/// (the builder's `cpu_hint_ns` step in `flux-steps`): a run without
/// hints is never cut. Boundaries already in the plan stay; each segment
/// between them is weighed on its own. Of the ways to cut a segment, the
/// pass takes the one whose heaviest part is lightest, with as many parts
/// as its work allows, up to `parts`.
///
/// The plan is the same for every engine. The sync engine runs the parts
/// one after the other, on one thread, and pays the hand-off between them
/// (a map, a boundary and a sink together take under 17 ns an item there)
/// without the second core's gain: hints are for a run on the tokio
/// engine, and `Planner::for_one_thread`, which leaves this pass out,
/// plans for one thread (`flux::run` uses it).
#[derive(Clone, Copy, Debug)]
pub struct SplitByCost {
    /// The most parts a segment is cut into (two by default: the cores of
    /// the smallest machine a second segment pays on).
    pub parts: usize,
    /// Hinted CPU per item, in nanoseconds, that each part must carry for
    /// the cut to pay for its hand-off; a part always carries at least
    /// 1 ns, so a run without hints is never cut.
    pub min_part_ns: u64,
}

impl Default for SplitByCost {
    /// Two parts (the smallest machine with a second core) of at least
    /// 40 ns: a map, a boundary and a sink run at 6.0e7 items/s on the sync
    /// engine (`engines/async_handoff`), under 17 ns an item for all three,
    /// so a part of 40 ns leaves the second core most of its gain.
    fn default() -> Self {
        SplitByCost { parts: 2, min_part_ns: 40 }
    }
}

impl PlannerPass for SplitByCost {
    fn name(&self) -> &'static str {
        "split-by-cost"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        for (first, last) in plan.segments() {
            let work: Vec<u64> = plan.stages[first..=last].iter().map(|stage| u64::from(stage.cpu_hint_ns)).collect();
            for cut in balanced_cuts(&work, self.parts, self.min_part_ns) {
                plan.junctions[first + cut] = Junction::Boundary(EdgeSpec::default());
            }
        }
        Ok(())
    }
}

/// Where to cut `work` (one figure per stage, in order): the index of the
/// stage before each cut. The most parts, up to `parts`, that each carry
/// `min_part` or more, cut so that the heaviest part is lightest; none
/// when not even two parts can.
fn balanced_cuts(work: &[u64], parts: usize, min_part: u64) -> Vec<usize> {
    let min_part = min_part.max(1);
    // prefix[i]: the work of the first `i` stages.
    let prefix: Vec<u64> = core::iter::once(0)
        .chain(work.iter().scan(0, |sum, w| {
            *sum += w;
            Some(*sum)
        }))
        .collect();
    (2..=parts.min(work.len())).rev().find_map(|count| lightest_heaviest(&prefix, count, min_part)).unwrap_or_default()
}

/// The cuts into `count` parts of at least `min_part` each whose heaviest
/// part is lightest, if there are such parts (a linear partition, by
/// dynamic programming over the stages' `prefix` sums: stages are few). Of
/// cuts as good, the earliest.
fn lightest_heaviest(prefix: &[u64], count: usize, min_part: u64) -> Option<Vec<usize>> {
    const NONE: u64 = u64::MAX;
    let n = prefix.len() - 1;
    // best[k][i]: the lightest heaviest part of the first `i` stages cut
    // into `k` parts, and the stage its last part starts at.
    let mut best = vec![vec![(NONE, 0usize); n + 1]; count + 1];
    best[0][0] = (0, 0);
    for k in 1..=count {
        for i in k..=n {
            for start in (k - 1)..i {
                let (before, _) = best[k - 1][start];
                let part = prefix[i] - prefix[start];
                if before == NONE || part < min_part {
                    continue;
                }
                let heaviest = before.max(part);
                if heaviest < best[k][i].0 {
                    best[k][i] = (heaviest, start);
                }
            }
        }
    }
    if best[count][n].0 == NONE {
        return None;
    }
    let mut cuts = Vec::with_capacity(count - 1);
    let mut end = n;
    for k in (2..=count).rev() {
        let start = best[k][end].1;
        cuts.push(start - 1);
        end = start;
    }
    cuts.reverse();
    Some(cuts)
}

#[cfg(test)]
mod tests {
    use super::balanced_cuts;

    #[test]
    fn equal_stages_are_cut_in_the_middle() {
        assert_eq!(balanced_cuts(&[0, 25, 25, 25, 25, 0], 2, 40), vec![2]);
    }

    #[test]
    fn the_cut_makes_the_heaviest_part_lightest() {
        // 60 | 10 + 10 + 20: the heaviest part is 60; any other cut is worse.
        assert_eq!(balanced_cuts(&[60, 10, 10, 20], 2, 30), vec![0]);
        // 10 + 20 | 30 + 5: 30 and 35.
        assert_eq!(balanced_cuts(&[10, 20, 30, 5], 2, 30), vec![1]);
        // 40 | 0 + 0 + 40, 40 + 0 | 0 + 40 and 40 + 0 + 0 | 40 are as good.
        assert_eq!(balanced_cuts(&[40, 0, 0, 40], 2, 40), vec![0], "of cuts as good, the earliest");
    }

    #[test]
    fn no_cut_unless_every_part_carries_the_minimum() {
        assert!(balanced_cuts(&[0, 20, 20, 20, 0], 2, 40).is_empty(), "60 in all: no two parts of 40");
        assert!(balanced_cuts(&[100, 0, 0], 2, 40).is_empty(), "all the work in one stage: a part would be empty");
        assert!(balanced_cuts(&[0, 0, 0], 2, 40).is_empty(), "no hints, no cut");
        assert!(balanced_cuts(&[0, 0, 0], 2, 0).is_empty(), "no hints, no cut, whatever the minimum");
        assert_eq!(balanced_cuts(&[1, 0, 1], 2, 0), vec![0], "a minimum of none is a minimum of 1 ns");
        assert_eq!(balanced_cuts(&[40, 40], 2, 40), vec![0], "exactly the minimum in each part");
    }

    #[test]
    fn more_parts_when_the_cores_and_the_work_allow() {
        assert_eq!(balanced_cuts(&[30, 30, 30, 30, 30, 30], 3, 40), vec![1, 3]);
        assert_eq!(
            balanced_cuts(&[30, 30, 30, 30, 30, 30], 4, 40),
            vec![1, 3],
            "four parts of six stages leave two parts of one stage, 30 each"
        );
        assert_eq!(balanced_cuts(&[30, 30, 30, 30], 4, 40), vec![1], "two parts of 60: three could not each carry 40");
        assert!(balanced_cuts(&[30, 30, 30, 30], 1, 40).is_empty(), "one part is no cut");
    }
}

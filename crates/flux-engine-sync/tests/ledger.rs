//! Nothing is lost silently: the ledger balances, and a run whose ledger
//! does not balance fails.

mod support;

use bytes::Bytes;
use flux_core::{
    Context, Envelope, Instant, Layer, LedgerVisitor, Pipeline, Purity, Push, Runnable, StageDescriptor, StageId,
    StageKind, TraceContext,
};
use flux_engine_sync::{Imbalance, RunErrorKind, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

#[test]
fn try_map_failures_reach_the_dead_letter_output_with_their_correlation() {
    let input: Vec<Envelope<String>> = (0..100u64)
        .map(|i| {
            let text = if i % 10 == 3 { format!("bad{i}") } else { i.to_string() };
            Envelope::new(text)
                .with_sequence(i)
                .with_key(Bytes::from(format!("k{}", i % 4)))
                .with_trace(TraceContext::new(u128::from(i) + 1, 9))
        })
        .collect();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(EnvelopeSource(input.into_iter()))
        .try_map(|s: String| s.parse::<u64>())
        .named("parse")
        .filter(|n| n % 2 == 0)
        .flat_map(|n| vec![n; (n % 3) as usize])
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();

    assert_eq!(report.dead_letters.len(), 10);
    for letter in &report.dead_letters {
        let seq = letter.meta.sequence;
        assert_eq!(seq % 10, 3);
        assert_eq!(letter.error.stage().as_str(), "parse");
        assert_eq!(letter.error.position(), flux_core::Position::Sequence(seq));
        assert_eq!(letter.meta.key.as_deref(), Some(format!("k{}", seq % 4).as_bytes()));
        assert_eq!(letter.meta.trace.trace_id(), u128::from(seq) + 1);
    }
    let parse = report.row("parse").unwrap();
    assert_eq!((parse.received, parse.emitted, parse.dead_letters), (100, 90, 10));
    // 90 parsed (the bad ones are all odd), 50 even; each n yields n % 3
    // copies: 17 yield none (dropped), 16 one, 17 two (one extra created).
    let filter = report.row("filter-2").unwrap();
    assert_eq!((filter.received, filter.counts.dropped, filter.emitted), (90, 40, 50));
    let flat = report.row("flat_map-3").unwrap();
    assert_eq!((flat.received, flat.counts.dropped, flat.counts.created, flat.emitted), (50, 17, 17, 50));
    assert_eq!(flat.emitted, out.envelopes().len() as u64);
    let sink = report.row("sink").unwrap();
    assert_eq!(sink.counts.consumed, out.envelopes().len() as u64);
    // Count in == out + dead letters + counted drops, at every stage.
    let source = report.row("source").unwrap();
    assert_eq!(source.emitted, 100);
}

/// Yields ready-made envelopes.
struct EnvelopeSource<I>(I);

impl<I: Iterator<Item = Envelope<String>> + Send> flux_core::Source for EnvelopeSource<I> {
    type Item = String;
    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<flux_core::Pull<String>, flux_core::SourceError> {
        Ok(self.0.next().map_or(flux_core::Pull::End, flux_core::Pull::Item))
    }
}

/// A buggy stage that swallows (or, with `twice`, duplicates) every third
/// envelope without counting it.
struct Swallow {
    id: &'static str,
    twice: bool,
}
struct SwallowNode<D> {
    next: D,
    seen: u64,
    twice: bool,
}

impl Layer<u32> for Swallow {
    type Out = u32;
    type Node<D: Push<u32> + 'static> = SwallowNode<D>;
    fn descriptor(&self) -> StageDescriptor {
        StageDescriptor::new(self.id, StageKind::Transform, Purity::Pure).with_types("u32", "u32")
    }
    fn set_id(&mut self, _id: StageId) {}
    fn into_node<D: Push<u32> + 'static>(self, next: D) -> SwallowNode<D> {
        SwallowNode { next, seen: 0, twice: self.twice }
    }
}

impl<D: Push<u32>> Push<u32> for SwallowNode<D> {
    fn push(&mut self, item: Envelope<u32>, cx: &mut Context<'_>) {
        self.seen += 1;
        let third = self.seen.is_multiple_of(3);
        if third && self.twice {
            self.next.push(item.clone(), cx);
        }
        if !third || self.twice {
            self.next.push(item, cx);
        }
    }
    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.next.on_time(cx);
    }
    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        self.next.next_deadline(at_end)
    }
    fn finish(&mut self, cx: &mut Context<'_>) {
        self.next.finish(cx);
    }
    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.next.visit(visitor);
    }
    fn poll_lifecycle(
        &mut self,
        phase: flux_core::Lifecycle,
        cx: &mut flux_core::Context<'_>,
    ) -> std::task::Poll<Result<(), flux_core::StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}

#[test]
fn a_stage_that_loses_envelopes_fails_the_run() {
    let pipeline = Pipeline::from_source(IterSource::new(0..30u32))
        .map(|n| n)
        .layer(Swallow { id: "swallow", twice: false })
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let err = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let RunErrorKind::Unbalanced(problems) = err.kind() else { panic!("expected an imbalance, got {err}") };
    assert_eq!(problems, &[Imbalance::Vanished { stage: StageId::from_static("sink"), count: 10 }]);
    assert_eq!(err.to_string(), "the run's ledger does not balance: 10 envelopes reached `sink` and were not consumed");
}

#[test]
fn a_stage_that_holds_merged_inputs_at_stop_fails_the_run() {
    /// Holds everything and never lets it go.
    struct Hoard(u64);
    impl flux_core::Stage<u32> for Hoard {
        type Out = u32;
        fn process(&mut self, _input: Envelope<u32>, _out: &mut impl flux_core::Emit<u32>) {
            self.0 += 1;
        }
        fn held(&self) -> u64 {
            self.0
        }
    }
    let pipeline = Pipeline::from_source(IterSource::new(0..5u32)).stage(Hoard(0)).sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let err = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert!(err.to_string().contains("stage `stage-1` merged 5 inputs but released 0 and discarded 0"), "{err}");
}

/// Cuts a boundary after the stage named `swallow`.
struct CutAfterSwallow;

impl flux_core::PlannerPass for CutAfterSwallow {
    fn name(&self) -> &'static str {
        "cut-after-swallow"
    }
    fn run(&self, plan: &mut flux_core::ExecutionPlan) -> Result<(), flux_core::PlanError> {
        let i = plan.index_of("swallow").expect("stage exists");
        plan.junctions[i] = flux_core::Junction::Boundary(flux_core::EdgeSpec::default());
        Ok(())
    }
}

#[test]
fn a_loss_before_a_boundary_is_located_at_that_boundary() {
    let pipeline = Pipeline::from_source(IterSource::new(0..30u32))
        .layer(Swallow { id: "swallow", twice: false })
        .layer(Swallow { id: "duplicate", twice: true })
        .sink(VecSink::new());
    let plan = Planner::new().with_pass(CutAfterSwallow).plan(pipeline.describe()).unwrap();
    let err = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let RunErrorKind::Unbalanced(problems) = err.kind() else { panic!("expected an imbalance, got {err}") };
    // `swallow` lost 10 of 30 before the boundary; `duplicate` then made 6
    // uncounted copies of the 20 it got, so the end is off by 4 only.
    assert_eq!(
        problems,
        &[
            Imbalance::Boundary { junction: 1, derived: 30, sent: 20 },
            Imbalance::Vanished { stage: StageId::from_static("sink"), count: 4 },
        ]
    );
}

#[test]
fn a_hand_made_plan_with_a_duplicate_id_is_refused_at_assembly() {
    let pipeline = Pipeline::from_source(IterSource::new(0..3u32))
        .map(|n| n)
        .named("same")
        .filter(|_| true)
        .named("same")
        .sink(VecSink::new());
    let plan = flux_plan::Planner::empty().plan(pipeline.describe());
    // The empty planner still checks ids last.
    assert!(plan.is_err());
    let plan = flux_core::ExecutionPlan::draft(pipeline.describe());
    let err = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "stage id `same` is used by stage 1 and stage 2");
}

/// Holds every input; at end of input emits the first, dead-letters the
/// second and discards the rest, saying so for each.
struct HoldThenSettle {
    held: Vec<Envelope<u32>>,
}

impl flux_core::Stage<u32> for HoldThenSettle {
    type Out = u32;
    fn purity(&self) -> Purity {
        Purity::Stateful
    }
    fn process(&mut self, input: Envelope<u32>, _out: &mut impl flux_core::Emit<u32>) {
        self.held.push(input);
    }
    fn finish(&mut self, out: &mut impl flux_core::Emit<u32>) {
        let mut held = std::mem::take(&mut self.held).into_iter();
        if let Some(first) = held.next() {
            out.emit(first);
        }
        if let Some(second) = held.next() {
            let (_, meta, _) = second.into_parts();
            out.dead_letter(meta, flux_core::Position::None, "held too long".into());
        }
        out.discarded(held.len() as u64);
    }
    fn held(&self) -> u64 {
        self.held.len() as u64
    }
}

#[test]
fn a_user_stage_can_emit_divert_and_discard_what_it_held() {
    let out = VecSink::new();
    let pipeline =
        Pipeline::from_source(IterSource::new(0..5u32)).stage(HoldThenSettle { held: Vec::new() }).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(out.payloads(), vec![0]);
    assert_eq!(report.dead_letters.len(), 1);
    let row = report.row("stage-1").unwrap();
    assert_eq!((row.counts.merged, row.counts.released, row.counts.discarded, row.counts.pending), (5, 2, 3, 0));
    assert_eq!((row.received, row.emitted, row.dead_letters), (5, 1, 1));
}

/// Holds its first input; lets it go with the second, without an output
/// to carry it (`grow` instead claims two held inputs per input).
struct Vanishing {
    held: u64,
    grow: bool,
}

impl flux_core::Stage<u32> for Vanishing {
    type Out = u32;
    fn purity(&self) -> Purity {
        Purity::Stateful
    }
    fn process(&mut self, _input: Envelope<u32>, _out: &mut impl flux_core::Emit<u32>) {
        self.held = if self.grow { self.held + 2 } else { 1 - self.held };
    }
    fn held(&self) -> u64 {
        self.held
    }
}

fn vanishing(grow: bool) -> flux_engine_sync::RunError {
    let pipeline = Pipeline::from_source(IterSource::new(0..5u32))
        .stage(Vanishing { held: 0, grow })
        .named("vanish")
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    SyncEngine::new().run(&plan, pipeline).unwrap_err()
}

#[test]
fn a_stage_whose_held_inputs_leave_without_an_output_fails_the_run_at_that_input() {
    let err = vanishing(false);
    assert_eq!(err.to_string(), "stage `vanish` stopped the run at sequence 1");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "the stage's held inputs fell by 1 in a call that emitted nothing to carry them"
    );
}

#[test]
fn a_stage_that_claims_to_hold_more_than_it_was_given_fails_the_run() {
    let err = vanishing(true);
    assert_eq!(err.to_string(), "stage `vanish` stopped the run at sequence 0");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "the stage's held inputs grew by 2 in a call given 1"
    );
}

#[test]
fn a_stage_that_discards_more_than_it_holds_fails_the_run() {
    /// Holds nothing, and says it dropped three.
    struct Overdraw;
    impl flux_core::Stage<u32> for Overdraw {
        type Out = u32;
        fn process(&mut self, input: Envelope<u32>, out: &mut impl flux_core::Emit<u32>) {
            out.emit(input);
            out.discarded(3);
        }
    }
    let pipeline = Pipeline::from_source(IterSource::new(0..5u32)).stage(Overdraw).sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let err = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "the stage discarded 3 held inputs, but held 0 and was given 1"
    );
    assert!(!err.report().unwrap().problems.is_empty(), "the ledger does not balance either");
}

/// Refuses each odd input, then also hands it back as undelivered, as if it
/// had accepted it: the same envelope counted twice.
struct DoubleCounting {
    refused: Vec<flux_core::Meta>,
}

impl flux_core::Sink<u32> for DoubleCounting {
    fn write(&mut self, item: Envelope<u32>, _cx: &mut Context<'_>) -> Result<(), flux_core::WriteError> {
        if item.payload() % 2 == 1 {
            let meta = item.into_parts().1;
            self.refused.push(meta.clone());
            return Err(flux_core::WriteError::new(meta, "odd"));
        }
        Ok(())
    }
    fn has_news(&self) -> bool {
        !self.refused.is_empty()
    }
    fn take_undelivered(&mut self, into: &mut Vec<flux_core::Undelivered>) {
        into.extend(self.refused.drain(..).map(|meta| flux_core::Undelivered {
            meta,
            position: flux_core::Position::None,
            cause: "odd, again".into(),
        }));
    }
}

#[test]
fn a_sink_that_hands_back_more_than_it_accepted_is_an_imbalance() {
    // Inputs 1, 3, 5 and 7 are refused and handed back; only 0 and 2 were
    // accepted, so two of the handed-back envelopes were never the sink's.
    let pipeline =
        Pipeline::from_source(IterSource::new([0u32, 1, 2, 3, 5, 7])).sink(DoubleCounting { refused: Vec::new() });
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let err = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let RunErrorKind::Unbalanced(problems) = err.kind() else { panic!("expected an imbalance, got {err}") };
    assert_eq!(problems, &[Imbalance::Overdrawn { stage: StageId::from_static("sink"), received: 6, accounted: 8 }]);
}

/// Holds inputs; on a marker (0) side-outputs the marker and forgets what
/// it held; `emit_and_discard` instead emits each input and says it
/// discarded one more.
struct Forgetful {
    held: u64,
    emit_and_discard: bool,
}

impl flux_core::Stage<u32> for Forgetful {
    type Out = u32;
    fn purity(&self) -> Purity {
        Purity::Stateful
    }
    fn process(&mut self, input: Envelope<u32>, out: &mut impl flux_core::Emit<u32>) {
        if self.emit_and_discard {
            out.emit(input);
            out.discarded(1);
        } else if *input.payload() == 0 {
            out.side_output(input.into_parts().1, flux_core::SideReason::Other("marker"));
            self.held = 0;
        } else {
            self.held += 1;
        }
    }
    fn held(&self) -> u64 {
        self.held
    }
}

fn forgetful(input: Vec<u32>, emit_and_discard: bool) -> flux_engine_sync::RunError {
    let pipeline = Pipeline::from_source(IterSource::new(input))
        .stage(Forgetful { held: 0, emit_and_discard })
        .named("forget")
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    SyncEngine::new().run(&plan, pipeline).unwrap_err()
}

#[test]
fn a_side_output_carries_only_its_own_input_not_the_ones_the_stage_let_go() {
    let err = forgetful(vec![5, 6, 7, 0], false);
    assert_eq!(err.to_string(), "stage `forget` stopped the run at sequence 3");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "the stage's held inputs fell by 3 in a call that emitted nothing to carry them"
    );
}

#[test]
fn an_input_that_went_out_cannot_also_be_discarded() {
    let err = forgetful(vec![1, 2], true);
    assert_eq!(err.to_string(), "stage `forget` stopped the run at sequence 0");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "the stage discarded 1 held inputs, but held 0 and was given 1"
    );
}

#[test]
fn a_side_output_that_names_its_own_input_cannot_also_carry_one_held() {
    // Holds 5, then the marker goes to the side output and 5 is forgotten:
    // one diversion for two inputs.
    let err = forgetful(vec![5, 0], false);
    assert_eq!(err.to_string(), "stage `forget` stopped the run at sequence 1");
}

/// Holds inputs; on a marker (0) sends the marker and everything it held
/// to the dead-letter output, one diversion each; drops odd inputs.
struct DivertsAll {
    held: Vec<Envelope<u32>>,
}

impl flux_core::Stage<u32> for DivertsAll {
    type Out = u32;
    fn purity(&self) -> Purity {
        Purity::Stateful
    }
    fn process(&mut self, input: Envelope<u32>, out: &mut impl flux_core::Emit<u32>) {
        match *input.payload() {
            0 => {
                for item in self.held.drain(..).chain([input]) {
                    out.dead_letter(item.into_parts().1, flux_core::Position::None, "flushed by a marker".into());
                }
            }
            n if n % 2 == 1 => {} // dropped by policy
            _ => self.held.push(input),
        }
    }
    fn held(&self) -> u64 {
        self.held.len() as u64
    }
}

#[test]
fn a_stage_may_drop_inputs_and_divert_what_it_held_one_diversion_each() {
    let pipeline = Pipeline::from_source(IterSource::new(vec![2, 3, 4, 0, 5]))
        .stage(DivertsAll { held: Vec::new() })
        .named("divert")
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    assert_eq!(dead, [0, 2, 3]);
    let row = report.row("divert").unwrap();
    assert_eq!((row.counts.dropped, row.counts.merged, row.counts.released, row.counts.pending), (2, 2, 2, 0));
}

/// Emits each input twice.
struct Twice;

impl flux_core::Stage<u32> for Twice {
    type Out = u32;
    fn process(&mut self, input: Envelope<u32>, out: &mut impl flux_core::Emit<u32>) {
        out.emit(input.clone());
        out.emit(input);
    }
}

#[test]
fn outputs_beyond_the_first_are_counted_as_created() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..4u32)).stage(Twice).named("twice").sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(out.payloads().len(), 8);
    let row = report.row("twice").unwrap();
    assert_eq!((row.received, row.emitted, row.counts.created), (4, 8, 4));
}

/// Sums inputs in threes: the third input's call emits the sum of all
/// three, lets them go, and then panics.
#[derive(Default)]
struct PanicsAfterEmitting {
    held: Vec<u32>,
}

impl flux_core::Stage<u32> for PanicsAfterEmitting {
    type Out = u32;
    fn purity(&self) -> Purity {
        Purity::Stateful
    }
    fn process(&mut self, input: Envelope<u32>, out: &mut impl flux_core::Emit<u32>) {
        self.held.push(*input.payload());
        if self.held.len() == 3 {
            out.emit(input.map(|_| 0).with_sequence(0).map(|_| self.held.iter().sum()));
            self.held.clear();
            panic!("emitted, then failed");
        }
    }
    fn held(&self) -> u64 {
        self.held.len() as u64
    }
}

#[test]
fn what_a_stage_let_go_before_a_panic_is_counted_from_its_held_count() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(vec![1, 2, 3]))
        .stage(PanicsAfterEmitting::default())
        .named("threes")
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let err = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(err.to_string(), "stage `threes` stopped the run at sequence 2");
    assert_eq!(out.payloads(), [6]);
    let report = err.report().unwrap();
    assert!(report.dead_letters.is_empty(), "the third input went out in the sum");
    let row = report.row("threes").unwrap();
    assert_eq!((row.counts.merged, row.counts.released, row.counts.pending), (2, 2, 0));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

//! An accumulating stage in a run that fails: open groups are flushed by
//! the `AtEnd` policy when the run stops, a merge that stops the run emits
//! what was merged, and a panic in the accumulator is caught at the stage.

mod support;

use std::error::Error;

use bytes::Bytes;
use flux_accumulate::{
    Accumulate, AccumulateExt, AtEnd, FileSpill, FragmentError, OnMergeError, Policy, SpillCipher, SpillError,
};
use flux_core::{Context, EmitReason, Envelope, Panicked, Pipeline, Position, Pull, Runnable, Source, SourceError};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::VecSink;
use flux_test::{Conservation, PanicOnMerge};
use support::{Parts, Record};

/// Fragments `(key, part, value)` in order, then a read error.
struct ThenFails(std::vec::IntoIter<(&'static str, u8, u32)>, u64);

impl Source for ThenFails {
    type Item = (u8, u32);
    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<(u8, u32)>, SourceError> {
        let Some((key, part, value)) = self.0.next() else {
            return Err(SourceError { position: Position::ByteOffset(999), cause: "disk gone".into() });
        };
        self.1 += 1;
        let envelope =
            Envelope::new((part, value)).with_key(Bytes::from_static(key.as_bytes())).with_sequence(self.1 - 1);
        Ok(Pull::Item(envelope))
    }
}

fn fragments() -> Vec<(&'static str, u8, u32)> {
    vec![("a", 0, 1), ("b", 0, 2), ("a", 1, 3), ("c", 0, 4), ("b", 0, 5)]
}

/// `input` at time zero, each fragment with its index as its sequence.
fn timed(input: &[(&'static str, u8, u32)]) -> flux_test::TimedSource<(u8, u32)> {
    flux_test::TimedSource::new(
        input
            .iter()
            .enumerate()
            .map(|(i, &(key, part, value))| {
                let envelope =
                    Envelope::new((part, value)).with_key(Bytes::from_static(key.as_bytes())).with_sequence(i as u64);
                (flux_core::Instant::ZERO, envelope)
            })
            .collect(),
    )
}

/// Each record's key, values and reason.
fn records(out: &VecSink<Record>) -> Vec<(String, Vec<u32>, EmitReason)> {
    out.payloads().into_iter().map(|r| (String::from_utf8(r.key.to_vec()).unwrap(), r.values, r.reason)).collect()
}

#[test]
fn open_groups_are_flushed_when_the_run_stops() {
    // Fused with the source, the stage takes the source's step as a batch:
    // the fragments read before the error in that same step still merge.
    for planner in [Planner::new(), Planner::new().with_pass(support::FuseAll)] {
        let out = VecSink::new();
        let parts = Parts { required: 0b11, ..Parts::default() };
        let pipeline = Pipeline::from_source(ThenFails(fragments().into_iter(), 0))
            .accumulate(parts, Policy::default())
            .sink(out.clone());
        let plan = planner.plan(pipeline.describe()).unwrap();
        let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
        assert_eq!(error.to_string(), "stage `source` stopped the run at byte 999");
        assert_eq!(
            records(&out),
            [
                ("a".into(), vec![1, 3], EmitReason::Complete),
                ("b".into(), vec![2, 5], EmitReason::EndOfStream),
                ("c".into(), vec![4], EmitReason::EndOfStream),
            ]
        );
        let report = error.report().unwrap();
        assert_eq!(report.row("accumulate-1").unwrap().counts.released, 5);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}

#[test]
fn drop_at_end_counts_the_open_groups_when_the_run_stops() {
    let out = VecSink::new();
    let policy = Policy::builder().at_end(AtEnd::Drop).build().unwrap();
    let parts = Parts { required: 0b11, ..Parts::default() };
    let pipeline =
        Pipeline::from_source(ThenFails(fragments().into_iter(), 0)).accumulate(parts, policy).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let counts = error.report().unwrap().row("accumulate-1").unwrap().counts;
    assert_eq!((counts.released, counts.discarded), (2, 3));
    assert!(error.report().unwrap().problems.is_empty());
}

#[test]
fn a_merge_error_that_stops_the_run_still_emits_every_group_merged_so_far() {
    let out = VecSink::new();
    let policy = Policy::builder().on_merge_error(OnMergeError::StopRun).build().unwrap();
    let mut input = fragments();
    input.insert(3, ("a", 0, u32::MAX)); // fails to merge
    let pipeline = Pipeline::from_source(timed(&input))
        .accumulate(Parts { required: 0b111, ..Parts::default() }, policy)
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `accumulate-1` stopped the run at sequence 3");
    let report = error.report().unwrap();
    let merged: Vec<u32> = records(&out).into_iter().flat_map(|(_, values, _)| values).collect();
    assert_eq!(merged.len(), 5, "every fragment merged before or with the failure was emitted");
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    assert_eq!(dead, [3]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_panicking_merge_is_caught_at_the_stage_and_its_group_is_dropped_counted() {
    let out = VecSink::new();
    let acc = PanicOnMerge::new(Parts { required: 0b11, ..Parts::default() }, 3);
    let pipeline =
        Pipeline::from_source(timed(&fragments())).accumulate(acc, Policy::default()).named("orders").sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `orders` stopped the run at sequence 3");
    assert!(Error::source(&error).unwrap().is::<Panicked>());
    let report = error.report().unwrap();
    // Merge 3 is "c"'s first fragment: it is a dead letter, and "c" (which
    // held nothing yet) is dropped; "a" is complete, "b" flushed at the stop.
    assert_eq!(
        records(&out),
        [("a".into(), vec![1, 3], EmitReason::Complete), ("b".into(), vec![2, 5], EmitReason::EndOfStream)]
    );
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    Conservation::of(0..5).output([0, 1, 2, 4]).dead_letters(dead).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// An accumulator callback a test makes panic.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Callback {
    StartsGroup,
    ClosesGroup,
    Open,
    /// Panics after the merge, which leaves the state half-written.
    Merge,
    StateBytes,
    Completeness,
    MaxItemsFor,
    MaxBytesFor,
    TtlFor,
    Close,
    EncodeState,
    DecodeState,
    /// `state_bytes` of a state a restore just decoded.
    StateBytesOfRestored,
}

/// `Parts`, except that call number `at` of `callback` panics.
struct PanicsIn {
    acc: Parts,
    callback: Callback,
    at: u64,
    calls: std::cell::Cell<u64>,
    /// Set by a restore: the next `state_bytes` measures a restored state.
    decoded: std::cell::Cell<bool>,
}

impl PanicsIn {
    fn check(&self, callback: Callback) {
        if callback != self.callback {
            return;
        }
        let call = self.calls.get();
        self.calls.set(call + 1);
        assert_ne!(call, self.at, "{callback:?} panics at call {call}");
    }
}

// Each call is counted before it is forwarded: the panic is the
// callback's own, wherever the node made it.
impl flux_core::Accumulator for PanicsIn {
    type Fragment = (u8, u32);
    type State = support::State;
    type Output = Record;

    fn open(&mut self, key: &Bytes) -> support::State {
        self.check(Callback::Open);
        self.acc.open(key)
    }
    fn merge(
        &mut self,
        state: &mut support::State,
        fragment: Envelope<(u8, u32)>,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        let merged = self.acc.merge(state, fragment);
        if self.callback == Callback::Merge && self.calls.get() == self.at {
            // Half-written, and far larger than when it was last measured.
            state.values.reserve(100_000);
        }
        self.check(Callback::Merge);
        merged
    }
    fn state_bytes(&self, state: &support::State) -> usize {
        self.check(Callback::StateBytes);
        if self.decoded.replace(false) {
            self.check(Callback::StateBytesOfRestored);
        }
        self.acc.state_bytes(state)
    }
    fn encode_state(&self, state: &support::State, out: &mut Vec<u8>) -> bool {
        self.check(Callback::EncodeState);
        self.acc.encode_state(state, out)
    }
    fn decode_state(&mut self, key: &Bytes, encoded: &[u8]) -> Result<support::State, Box<dyn Error + Send + Sync>> {
        self.check(Callback::DecodeState);
        self.decoded.set(true);
        self.acc.decode_state(key, encoded)
    }
    fn completeness(&self, state: &support::State) -> flux_core::Completeness {
        self.check(Callback::Completeness);
        self.acc.completeness(state)
    }
    fn close(&mut self, key: Bytes, state: support::State, reason: EmitReason) -> Record {
        self.check(Callback::Close);
        self.acc.close(key, state, reason)
    }
    fn closes_group(&self, fragment: &Envelope<(u8, u32)>) -> bool {
        self.check(Callback::ClosesGroup);
        self.acc.closes_group(fragment)
    }
    fn starts_group(&self, fragment: &Envelope<(u8, u32)>) -> bool {
        self.check(Callback::StartsGroup);
        self.acc.starts_group(fragment)
    }
    fn max_items_for(&self, state: &support::State) -> Option<u64> {
        self.check(Callback::MaxItemsFor);
        self.acc.max_items_for(state)
    }
    fn max_bytes_for(&self, state: &support::State) -> Option<u64> {
        self.check(Callback::MaxBytesFor);
        self.acc.max_bytes_for(state)
    }
    fn ttl_for(&self, state: &support::State) -> Option<core::time::Duration> {
        self.check(Callback::TtlFor);
        self.acc.ttl_for(state)
    }
}

#[test]
fn a_panic_in_any_accumulator_callback_is_settled_at_the_stage() {
    // (callback, the call that panics, the sequence the error names,
    // whether that input is merged by then, fragments discarded). The
    // input: a0 b0 a1 c0 b0; "a" is complete at its second fragment. A
    // callback made before the merge turns its input into a dead letter;
    // one made after leaves the input in its group, which the stop
    // flushes. Completeness call 3 is made for "a"'s record (named by its
    // first fragment): the record cannot be made, and its two fragments
    // are counted as discarded, as when `close` panics. A panic as a
    // fragment joins its group (`state_bytes` before the merge, or the
    // merge) leaves the state in doubt: the group is discarded, its
    // earlier fragments counted. `state_bytes` is called as a group opens,
    // before and after each merge, and as a group leaves the table: a
    // panic after the merge, or as "a" leaves (call 8), loses nothing.
    let cases = [
        (Callback::StartsGroup, 3, 3, false, 0),
        (Callback::ClosesGroup, 3, 3, false, 0),
        (Callback::Open, 2, 3, false, 0),
        (Callback::Merge, 2, 2, false, 1),
        (Callback::Merge, 3, 3, false, 0),
        (Callback::StateBytes, 6, 2, false, 1),
        (Callback::StateBytes, 2, 0, true, 0),
        (Callback::StateBytes, 8, 0, true, 0),
        (Callback::Completeness, 1, 1, true, 0),
        (Callback::Completeness, 3, 0, true, 2),
        (Callback::MaxItemsFor, 1, 1, true, 0),
        (Callback::MaxBytesFor, 1, 1, true, 0),
        (Callback::TtlFor, 1, 1, true, 0),
        (Callback::Close, 0, 0, true, 2),
    ];
    // A default policy takes the plain path; a latency bound the general
    // one. Fused into the source's segment, the plain path takes each step
    // of the source as a batch: the panic leaves the rest of it in the
    // segment, and the stop still merges it (a fragment at a time, the
    // source is read no further), so the outcome is the same as behind a
    // channel. Were the fragments pushed one at a time, the source would
    // not have made those after the panic.
    let latency = Policy::builder().max_latency(core::time::Duration::from_secs(60)).build().unwrap();
    let runs = [(Policy::default(), false), (latency, false), (Policy::default(), true)];
    for (callback, at, sequence, merged, discarded) in cases {
        for (policy, fused) in &runs {
            let case = format!("{callback:?} with {policy:?}, fused: {fused}");
            let out = VecSink::new();
            let acc = PanicsIn {
                acc: Parts { required: 0b11, ..Parts::default() },
                callback,
                at,
                calls: 0.into(),
                decoded: false.into(),
            };
            let layer = Accumulate::new(acc, policy.clone());
            let stats = layer.stats();
            let pipeline =
                Pipeline::from_source(timed(&fragments())).accumulate_with(layer).named("orders").sink(out.clone());
            let planner = if *fused { Planner::new().with_pass(support::FuseAll) } else { Planner::new() };
            let plan = planner.plan(pipeline.describe()).unwrap();
            let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
            assert_eq!(error.to_string(), format!("stage `orders` stopped the run at sequence {sequence}"), "{case}");
            assert!(Error::source(&error).unwrap().is::<Panicked>(), "{case}");
            let report = error.report().unwrap();
            let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
            // A value is its input's sequence + 1.
            let output: Vec<u64> =
                records(&out).into_iter().flat_map(|(_, values, _)| values).map(|v| u64::from(v) - 1).collect();
            if merged {
                assert_eq!(dead, [] as [u64; 0], "{case}");
            } else {
                assert_eq!(dead, [sequence], "{case}");
            }
            assert_eq!(report.row("orders").unwrap().counts.discarded, discarded, "{case}");
            Conservation::of(0..5).output(output).dead_letters(dead).dropped(discarded).assert();
            assert!(report.problems.is_empty(), "{case}: {:?}", report.problems);
            // The figures stay true: a state that grew in a panicking merge
            // leaves no hole in the count of the others.
            let figures = stats.snapshot();
            assert!(figures.peak_bytes < 64 << 10, "{case}: peak {} bytes", figures.peak_bytes);
            assert_eq!((figures.pending_keys, figures.state_bytes), (0, 0), "{case}");
        }
    }
}

#[test]
fn a_panic_in_max_bytes_for_before_an_at_most_merge_makes_the_fragment_a_dead_letter() {
    // Under an "at most" limit the group's own limit is read before a
    // fragment joins: "a"'s second fragment (sequence 2) asks, call 2
    // (calls 0 and 1 follow the merges of sequences 0 and 1). It is a dead
    // letter; "a" keeps its first fragment, flushed with the others when
    // the run stops (the rest of the batch still merges).
    let input: Vec<_> = fragments()
        .into_iter()
        .enumerate()
        .map(|(i, (key, part, value))| {
            let envelope = Envelope::new((part, value))
                .with_key(Bytes::from_static(key.as_bytes()))
                .with_sequence(i as u64)
                .with_cost(flux_core::Cost::bytes(10));
            (flux_core::Instant::ZERO, envelope)
        })
        .collect();
    let out = VecSink::new();
    let acc = PanicsIn {
        acc: Parts { required: 0b11, ..Parts::default() },
        callback: Callback::MaxBytesFor,
        at: 2,
        calls: 0.into(),
        decoded: false.into(),
    };
    let policy = Policy::builder().max_bytes_at_most(1_000).build().unwrap();
    let pipeline = Pipeline::from_source(flux_test::TimedSource::new(input))
        .accumulate(acc, policy)
        .named("orders")
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `orders` stopped the run at sequence 2");
    assert!(Error::source(&error).unwrap().is::<Panicked>());
    let report = error.report().unwrap();
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    assert_eq!(dead, [2]);
    assert_eq!(
        records(&out),
        [
            ("a".into(), vec![1], EmitReason::EndOfStream),
            ("b".into(), vec![2, 5], EmitReason::EndOfStream),
            ("c".into(), vec![4], EmitReason::EndOfStream)
        ]
    );
    assert_eq!(report.row("orders").unwrap().counts.discarded, 0);
    Conservation::of(0..5).output([0, 1, 4, 3]).dead_letters(dead).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// A cipher that panics on a chosen call to `seal` or to `open`.
#[derive(Default)]
struct PanickyCipher {
    seal_at: Option<u64>,
    open_at: Option<u64>,
    seals: u64,
    opens: u64,
}

impl SpillCipher for PanickyCipher {
    fn seal(&mut self, _key: &[u8], _block: &mut Vec<u8>) {
        self.seals += 1;
        assert_ne!(Some(self.seals - 1), self.seal_at, "the cipher panics on seal");
    }
    fn open(&mut self, _key: &[u8], _block: &mut Vec<u8>) -> Result<(), SpillError> {
        self.opens += 1;
        assert_ne!(Some(self.opens - 1), self.open_at, "the cipher panics on open");
        Ok(())
    }
}

#[test]
fn a_later_fragment_of_a_key_whose_merge_panicked_opens_a_fresh_group() {
    // "c"'s first fragment (3) panics half-way through its merge; its
    // second (5) must not inherit the half-written state or be named by 3.
    let mut input = fragments();
    input.push(("c", 1, 6));
    let acc = PanicsIn {
        acc: Parts { required: 0b11, ..Parts::default() },
        callback: Callback::Merge,
        at: 3,
        calls: 0.into(),
        decoded: false.into(),
    };
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(timed(&input)).accumulate(acc, Policy::default()).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `accumulate-1` stopped the run at sequence 3");
    let c: Vec<(u64, Vec<u32>)> = out
        .take()
        .into_iter()
        .filter(|record| record.payload().key == "c")
        .map(|record| (record.meta().sequence, record.into_payload().values))
        .collect();
    assert_eq!(c, [(5, vec![6])]);
    let report = error.report().unwrap();
    assert_eq!(report.dead_letters.iter().map(|l| l.meta.sequence).collect::<Vec<_>>(), [3]);
    assert_eq!(report.row("accumulate-1").unwrap().counts.discarded, 0, "the group 3 opened held nothing");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_state_that_grew_in_a_panicking_merge_leaves_the_others_counted() {
    // "a"'s second merge (call 2) reserves room for 100,000 values, then
    // panics: "a" is discarded, and the count of the states still open
    // must not lose the others to it. "b" is complete at its second
    // fragment; its record sees the figures published after that batch,
    // with "c" open.
    let acc = PanicsIn {
        acc: Parts { required: 0b11, ..Parts::default() },
        callback: Callback::Merge,
        at: 2,
        calls: 0.into(),
        decoded: false.into(),
    };
    let layer = Accumulate::new(acc, Policy::default());
    let stats = layer.stats();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record_seen = seen.clone();
    let input = [("a", 0, 1), ("b", 0, 2), ("a", 1, 3), ("c", 0, 4), ("b", 1, 5)];
    let pipeline = Pipeline::from_source(timed(&input))
        .accumulate_with(layer)
        .inspect(move |_| record_seen.lock().unwrap().push(stats.snapshot()))
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `accumulate-1` stopped the run at sequence 2");
    let seen = seen.lock().unwrap();
    let state = core::mem::size_of::<support::State>() as u64 + 4 * 4;
    assert_eq!((seen[0].pending_keys, seen[0].state_bytes), (1, state));
}

/// 20 keys, two rounds: 40 fragments that never complete, under a spill
/// threshold low enough that the second round restores spilled groups.
fn spilling_run(cipher: PanickyCipher) -> (flux_engine_sync::RunError, Vec<u64>) {
    spilling_run_of(Parts { spillable: true, ..Parts::default() }, cipher)
}

fn spilling_run_of<A>(acc: A, cipher: PanickyCipher) -> (flux_engine_sync::RunError, Vec<u64>)
where
    A: flux_core::Accumulator<Fragment = (u8, u32), Output = Record> + Send + 'static,
{
    let keys: Vec<&'static str> = (0..20).map(|k| &*format!("key-{k:02}").leak()).collect();
    let input: Vec<_> = (0..40u32).map(|i| (keys[i as usize % 20], 0, i + 1)).collect();
    let layer = Accumulate::new(acc, Policy::builder().spill_above(256).build().unwrap())
        .spill_strategy(FileSpill::with_cipher(cipher));
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(timed(&input)).accumulate_with(layer).named("orders").sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let output = records(&out).into_iter().flat_map(|(_, values, _)| values).map(|v| u64::from(v) - 1).collect();
    (error, output)
}

#[test]
fn a_cipher_that_panics_while_spilling_stops_the_run_and_every_group_is_still_emitted() {
    let (error, output) = spilling_run(PanickyCipher { seal_at: Some(2), ..PanickyCipher::default() });
    // The third spill is made after fragment 5 is merged: the run stops
    // there, and every group, spilled or not, is emitted at the stop.
    assert_eq!(error.to_string(), "stage `orders` stopped the run at sequence 5");
    assert!(Error::source(&error).unwrap().is::<Panicked>());
    let report = error.report().unwrap();
    assert!(report.dead_letters.is_empty(), "the fragment was merged before its group spilled");
    Conservation::of(0..40).output(output).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_cipher_that_panics_while_restoring_is_a_failed_restore_counted_as_discarded() {
    let (error, output) = spilling_run(PanickyCipher { open_at: Some(1), ..PanickyCipher::default() });
    assert_eq!(error.to_string(), "stage `orders` stopped the run at sequence 1");
    let Some(FragmentError::Restore(cause)) = Error::source(&error).unwrap().downcast_ref::<FragmentError>() else {
        panic!("not a failed restore: {error:?}");
    };
    assert!(cause.is::<Panicked>(), "{cause:?}");
    let report = error.report().unwrap();
    let discarded = report.row("orders").unwrap().counts.discarded;
    // The second restore is key-01's, at its second fragment (21): the
    // group, holding fragment 1, is discarded and counted; 21 opens a new one.
    assert_eq!(discarded, 1);
    assert!(!output.contains(&1) && output.contains(&21), "{output:?}");
    Conservation::of(0..40).output(output).dropped(discarded).assert();
    assert!(report.dead_letters.is_empty());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// `Parts` that spill, with a panic at call `at` of `callback`.
fn spilling_panics_in(callback: Callback, at: u64) -> PanicsIn {
    PanicsIn {
        acc: Parts { spillable: true, ..Parts::default() },
        callback,
        at,
        calls: 0.into(),
        decoded: false.into(),
    }
}

#[test]
fn a_panic_in_encode_state_stops_the_run_and_every_group_is_still_emitted() {
    let (error, output) = spilling_run_of(spilling_panics_in(Callback::EncodeState, 2), PanickyCipher::default());
    // As when the cipher panics on its third seal: fragment 5 is merged.
    assert_eq!(error.to_string(), "stage `orders` stopped the run at sequence 5");
    let report = error.report().unwrap();
    assert!(report.dead_letters.is_empty());
    Conservation::of(0..40).output(output).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_panic_in_decode_state_is_a_failed_restore_counted_as_discarded() {
    let (error, output) = spilling_run_of(spilling_panics_in(Callback::DecodeState, 1), PanickyCipher::default());
    assert_eq!(error.to_string(), "stage `orders` stopped the run at sequence 1");
    let Some(FragmentError::Restore(cause)) = Error::source(&error).unwrap().downcast_ref::<FragmentError>() else {
        panic!("not a failed restore: {error:?}");
    };
    assert!(cause.is::<Panicked>(), "{cause:?}");
    let report = error.report().unwrap();
    assert_eq!(report.row("orders").unwrap().counts.discarded, 1);
    assert!(!output.contains(&1) && output.contains(&21), "{output:?}");
    Conservation::of(0..40).output(output).dropped(1).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_panic_in_state_bytes_as_a_spilled_group_is_restored_loses_nothing() {
    let acc = spilling_panics_in(Callback::StateBytesOfRestored, 0);
    let (error, output) = spilling_run_of(acc, PanickyCipher::default());
    // The first restore is key-00's, named by its first fragment; the
    // group is whole again before it is measured, and fragment 20 joins it.
    assert_eq!(error.to_string(), "stage `orders` stopped the run at sequence 0");
    assert!(Error::source(&error).unwrap().is::<Panicked>());
    let report = error.report().unwrap();
    assert!(report.dead_letters.is_empty());
    assert_eq!(report.row("orders").unwrap().counts.discarded, 0);
    Conservation::of(0..40).output(output).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

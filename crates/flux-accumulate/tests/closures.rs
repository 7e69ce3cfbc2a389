//! The closure accumulators through the sync engine: `parts` and its two
//! kinds of part, and boundaries on any accumulator.

mod support;

use std::time::Duration;

use bytes::Bytes;
use flux_accumulate::{
    AccumulateExt, Assembled, Boundaries, Expiry, FragmentError, PartsState, Policy, REASON_HEADER, Timer, TimerStart,
    collect, parts,
};
use flux_core::{Accumulator, EmitReason, Envelope, Instant, Pipeline, Runnable};
use flux_engine_sync::{RunReport, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};
use support::{Harness, frag, header, secs};

type Row = (&'static str, &'static str, u32);

fn kind(row: &Row) -> &'static str {
    row.1
}

/// A record as the tests read it: key, complete, values, reason.
type Joined = (String, bool, Vec<u32>, String);

/// Runs `(key, part, value)` rows through `parts` with one `order` and
/// at least one `payment`; each record as (key, complete, values, reason).
fn join(rows: Vec<Row>) -> (Vec<Joined>, RunReport) {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(rows))
        .key_by(|row: &Row| row.0)
        .accumulate(parts(kind).once("order").at_least_once("payment"), Policy::default())
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let records = out
        .take()
        .into_iter()
        .map(|envelope| {
            let reason = String::from_utf8(envelope.meta().headers.get(REASON_HEADER).unwrap().to_vec()).unwrap();
            let record: Assembled<Row> = envelope.into_payload();
            let key = String::from_utf8(record.key.to_vec()).unwrap();
            (key, record.complete, record.items.iter().map(|(_, row)| row.2).collect(), reason)
        })
        .collect();
    (records, report)
}

#[test]
fn a_group_with_an_at_least_once_part_waits_for_the_end_of_input_however_its_rows_interleave() {
    // o1: an order and two payments; o2: a payment only. Every order of
    // the four rows gives the same two records, emitted at the end.
    let rows: [Row; 4] = [("o1", "order", 1), ("o1", "payment", 2), ("o1", "payment", 3), ("o2", "payment", 4)];
    let orders = permutations(&rows);
    assert_eq!(orders.len(), 24);
    for order in orders {
        let (mut records, report) = join(order.clone());
        records.sort();
        let o1 = &records[0];
        assert_eq!((o1.0.as_str(), o1.1, o1.3.as_str()), ("o1", true, "end-of-stream"), "{order:?}");
        let mut values = o1.2.clone();
        values.sort_unstable();
        assert_eq!(values, [1, 2, 3], "{order:?}: no payment started a second group");
        assert_eq!((records[1].0.as_str(), records[1].1, records[1].2.clone()), ("o2", false, vec![4]));
        assert!(report.dead_letters.is_empty());
    }
}

#[test]
fn a_group_of_once_parts_is_emitted_as_complete_when_its_last_part_arrives() {
    let out = VecSink::new();
    let rows: Vec<Row> = vec![("a", "head", 1), ("b", "head", 2), ("a", "tail", 3), ("a", "head", 4)];
    let pipeline = Pipeline::from_source(IterSource::new(rows))
        .key_by(|row: &Row| row.0)
        .accumulate(parts(kind).once("head").once("tail"), Policy::default())
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let records: Vec<(bool, Vec<u32>)> =
        out.payloads().into_iter().map(|r| (r.complete, r.items.iter().map(|(_, row)| row.2).collect())).collect();
    // "a" completes at row 3; row 4 opens a new "a", flushed at the end with "b".
    assert_eq!(records, [(true, vec![1, 3]), (false, vec![2]), (false, vec![4])]);
    assert_eq!(report.row("accumulate-2").unwrap().counts.merged, 4);
}

#[test]
fn a_second_once_part_and_an_undeclared_part_are_dead_letters_that_leave_the_group_as_it_was() {
    let rows: Vec<Row> = vec![("o1", "order", 1), ("o1", "order", 2), ("o1", "refund", 3), ("o1", "payment", 4)];
    let (records, report) = join(rows);
    assert_eq!(records, [("o1".to_owned(), true, vec![1, 4], "end-of-stream".to_owned())]);
    let dead: Vec<(u64, String)> = report
        .dead_letters
        .iter()
        .map(|letter| {
            let cause = letter.error.cause().downcast_ref::<FragmentError>().expect("a merge error");
            (letter.meta.sequence, std::error::Error::source(cause).unwrap().to_string())
        })
        .collect();
    assert_eq!(dead, [(1, "part `order` arrived twice".to_owned()), (2, "`refund` is not a declared part".to_owned())]);
}

#[test]
fn starts_when_ends_the_open_group_before_the_fragment_that_starts_the_next() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(["H1", "a", "b", "H2", "c"]))
        .key_by(|_| "lines")
        .accumulate(collect().starts_when(|line: &&str| line.starts_with('H')), Policy::default())
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let _report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let groups: Vec<Vec<&str>> = out.payloads().into_iter().map(|r| r.value).collect();
    assert_eq!(groups, [vec!["H1", "a", "b"], vec!["H2", "c"]]);
}

fn permutations(rows: &[Row]) -> Vec<Vec<Row>> {
    if rows.len() <= 1 {
        return vec![rows.to_vec()];
    }
    let mut all = Vec::new();
    for (i, &row) in rows.iter().enumerate() {
        let mut rest = rows.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, row);
            all.push(tail);
        }
    }
    all
}

#[test]
fn a_fragment_that_ends_its_group_ends_it_even_when_its_merge_fails() {
    // The end marker is not a declared part: it is a dead letter, but the
    // record it ends still goes out, so the next header opens a new group
    // instead of arriving twice in this one.
    let rows: Vec<Row> = vec![("r", "header", 1), ("r", "end", 2), ("r", "header", 3), ("r", "end", 4)];
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(rows))
        .key_by(|row: &Row| row.0)
        .accumulate(parts(kind).once("header").ends_when(|row: &Row| row.1 == "end"), Policy::default())
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let records: Vec<Vec<u32>> =
        out.payloads().into_iter().map(|r| r.items.iter().map(|(_, row)| row.2).collect()).collect();
    assert_eq!(records, [vec![1], vec![3]]);
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    assert_eq!(dead, [1, 3], "the end markers, not the second header");
}

#[test]
fn boundaries_leave_every_other_callback_to_the_accumulator_they_wrap() {
    let inner = || support::Parts {
        limit_from_part63: true,
        ttl_from_part62: true,
        spillable: true,
        ends_on_part: Some(9),
        ..support::Parts::default()
    };
    let mut bounded = inner().ends_when(|(part, _): &(u8, u32)| *part == 7);
    assert!(format!("{bounded:?}").starts_with("Bounded"), "{bounded:?}");
    let key = Bytes::from_static(b"k");
    let mut limited = bounded.open(&key);
    bounded.merge(&mut limited, support::frag("k", 63, 5)).unwrap();
    bounded.merge(&mut limited, support::frag("k", 62, 30)).unwrap();
    assert_eq!(bounded.max_items_for(&limited), Some(5));
    assert_eq!(bounded.ttl_for(&limited), Some(std::time::Duration::from_secs(30)));
    assert_eq!(bounded.state_bytes(&limited), inner().state_bytes(&limited));
    assert_eq!(bounded.completeness(&limited), inner().completeness(&limited));
    // A state without limits encodes as the inner accumulator encodes it.
    let mut plain = bounded.open(&key);
    bounded.merge(&mut plain, support::frag("k", 1, 8)).unwrap();
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    assert!(bounded.encode_state(&plain, &mut mine));
    assert!(inner().encode_state(&plain, &mut theirs));
    assert_eq!(mine, theirs);
    assert!(!bounded.encode_state(&limited, &mut Vec::new()), "the inner accumulator declines this one");
    assert_eq!(bounded.decode_state(&key, &mine).unwrap(), plain);
    // Its own boundary, or the wrapped accumulator's.
    assert!(bounded.closes_group(&support::frag("k", 7, 0)));
    assert!(bounded.closes_group(&support::frag("k", 9, 0)));
    assert!(!bounded.closes_group(&support::frag("k", 1, 0)));
    assert!(!bounded.starts_group(&support::frag("k", 7, 0)));
    // A byte limit and a control signal, from the wrapped accumulator.
    let mut weighed = support::Parts {
        limit_from_part63: true,
        bytes_limit_from_part61: true,
        signal_on_part: Some((4, flux_core::CompleteAll::Inclusive)),
        ..support::Parts::default()
    }
    .ends_when(|_: &(u8, u32)| false);
    let mut heavy = weighed.open(&key);
    weighed.merge(&mut heavy, support::frag("k", 63, 80)).unwrap();
    assert_eq!((weighed.max_bytes_for(&heavy), weighed.max_items_for(&heavy)), (Some(80), None));
    assert_eq!(weighed.completes_all(&support::frag("k", 4, 0)), Some(flux_core::CompleteAll::Inclusive));
    assert_eq!(weighed.completes_all(&support::frag("k", 5, 0)), None);
    // And a linger, from any accumulator that sets one.
    let mut lingers = lingering(5).ends_when(|_: &(u8, u32)| false);
    let mut whole = lingers.open(&key);
    assert_eq!(lingers.linger_for(&whole), None, "not whole yet");
    lingers.merge(&mut whole, support::frag("k", 0, 1)).unwrap();
    lingers.merge(&mut whole, support::frag("k", 1, 2)).unwrap();
    assert_eq!(lingers.linger_for(&whole), Some(Duration::from_secs(5)));
}

#[test]
fn a_parts_record_is_read_by_part_and_its_state_is_measured() {
    let mut acc = parts(kind).once("order").at_least_once("line");
    assert!(format!("{acc:?}").contains("order"), "{acc:?}");
    let key = Bytes::from_static(b"o1");
    let mut state = acc.open(&key);
    for row in [("o1", "line", 1), ("o1", "order", 2), ("o1", "line", 3)] {
        acc.merge(&mut state, Envelope::new(row)).unwrap();
    }
    // Three rows in a `Vec` that grew to room for four.
    let measured = core::mem::size_of::<PartsState<Row>>() + 4 * core::mem::size_of::<(u8, Row)>();
    assert_eq!(acc.state_bytes(&state), measured);
    let record = acc.close(key, state, EmitReason::EndOfStream);
    assert!(record.complete);
    assert_eq!(record.part("line").map(|row| row.2).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(record.part("order").map(|row| row.2).collect::<Vec<_>>(), [2]);
    assert_eq!(record.part("refund").count(), 0);
}

/// `parts` over `support::frag` fragments: part 0 is the order, any other
/// part a payment, and a whole group lingers `wait` seconds for more.
fn lingering(wait: u64) -> impl Accumulator<Fragment = (u8, u32), Output = Assembled<(u8, u32)>> {
    let classify = |f: &(u8, u32)| if f.0 == 0 { "order" } else { "payment" };
    parts(classify).once("order").at_least_once("payment").linger(Duration::from_secs(wait))
}

/// What a harness emitted, as (when, reason, complete, values).
fn emitted<A>(h: &mut Harness<A>) -> Vec<(Instant, EmitReason, bool, Vec<u32>)>
where
    A: Accumulator<Output = Assembled<(u8, u32)>>,
{
    h.take()
        .into_iter()
        .map(|(at, record)| {
            let reason = match header(&record, REASON_HEADER).as_str() {
                "complete" => EmitReason::Complete,
                "lifetime" => EmitReason::Lifetime,
                "end-of-stream" => EmitReason::EndOfStream,
                other => panic!("unexpected reason {other}"),
            };
            let record = record.into_payload();
            (at, reason, record.complete, record.items.iter().map(|(_, f)| f.1).collect())
        })
        .collect()
}

#[test]
fn a_whole_group_lingers_from_the_moment_it_became_whole_and_later_fragments_do_not_move_it() {
    let mut h = Harness::new(lingering(5), Policy::default());
    h.now = secs(1);
    h.push(frag("k", 1, 10)); // a payment opens the group at 1 s
    assert_eq!(h.node_deadline(), None, "not whole: no linger yet");
    h.now = secs(4);
    h.push(frag("k", 0, 20)); // the order makes it whole at 4 s
    assert_eq!(h.node_deadline(), Some(secs(9)), "5 s from the fill, not from the first fragment");
    h.now = secs(7);
    h.push(frag("k", 2, 30));
    assert_eq!(h.node_deadline(), Some(secs(9)), "a later payment joins and does not move the deadline");
    h.advance_to(secs(9) - Duration::from_nanos(1));
    assert_eq!(h.records(), 0, "one nanosecond early");
    h.advance_to(secs(10));
    assert_eq!(emitted(&mut h), [(secs(9), EmitReason::Complete, true, vec![10, 20, 30])]);
    h.push(frag("k", 1, 40)); // after the linger: a new, partial group
    h.finish();
    assert_eq!(emitted(&mut h), [(secs(10), EmitReason::EndOfStream, false, vec![40])]);
    h.assert_balanced(true);
}

#[test]
fn a_linger_meets_its_deadline_at_the_instant_or_after_it_as_its_own_timer_says() {
    for (expiry, expected) in [
        (Expiry::AtDeadline, vec![(secs(5), EmitReason::Complete, true, vec![10, 20])]),
        (
            Expiry::AfterDeadline,
            vec![(secs(5) + Duration::from_nanos(1), EmitReason::Complete, true, vec![10, 20, 30])],
        ),
    ] {
        // Every other timer keeps the opposite rule: only the linger's counts.
        let other = if expiry == Expiry::AtDeadline { Expiry::AfterDeadline } else { Expiry::AtDeadline };
        let policy = Policy::builder().expiry(other).expiry_of(Timer::Linger, expiry).build().unwrap();
        let mut h = Harness::new(lingering(5), policy);
        h.push(frag("k", 1, 10));
        h.push(frag("k", 0, 20)); // whole at 0 s: lingers until 5 s
        h.advance_to(secs(5));
        h.push(frag("k", 2, 30)); // exactly at the deadline
        h.advance_to(secs(6));
        assert_eq!(emitted(&mut h), expected, "{expiry:?}");
    }
}

#[test]
fn a_group_timer_that_comes_first_ends_a_lingering_group_and_a_tie_goes_to_the_timer() {
    // (TTL from the first fragment, linger): the group opens at 0 s and is
    // whole at 2 s.
    for (ttl, wait, expected) in [
        (3, 5, (secs(3), EmitReason::Lifetime)),
        (10, 5, (secs(7), EmitReason::Complete)),
        (7, 5, (secs(7), EmitReason::Lifetime)),
    ] {
        let policy = Policy::builder().ttl(Duration::from_secs(ttl), TimerStart::FirstFragment).build().unwrap();
        let mut h = Harness::new(lingering(wait), policy);
        h.push(frag("k", 0, 1));
        h.now = secs(2);
        h.push(frag("k", 1, 2));
        h.advance_to(secs(20));
        assert_eq!(emitted(&mut h), [(expected.0, expected.1, true, vec![1, 2])], "ttl {ttl}, linger {wait}");
        h.finish();
        h.assert_balanced(true);
    }
}

#[test]
fn without_a_linger_a_whole_group_waits_for_the_end_of_input() {
    let classify = |f: &(u8, u32)| if f.0 == 0 { "order" } else { "payment" };
    let mut h = Harness::new(parts(classify).once("order").at_least_once("payment"), Policy::default());
    h.push(frag("k", 0, 1));
    h.push(frag("k", 1, 2));
    assert_eq!(h.node_deadline(), None);
    h.advance_to(secs(3600));
    h.push(frag("k", 1, 3));
    h.finish();
    assert_eq!(emitted(&mut h), [(secs(3600), EmitReason::EndOfStream, true, vec![1, 2, 3])]);
}

//! Keying and time in one line: `key_by`, `split_key`, `event_time`, and the read-only
//! metadata view of `map_with_meta` and `filter_with_meta`.

use std::error::Error as _;
use std::time::Duration;

use bytes::Bytes;
use flux::accumulate::{REASON_HEADER, Watermark};
use flux::prelude::*;
use flux::{Instant, Panicked, SideReason};

#[test]
fn key_by_keys_each_envelope_with_a_slice_of_its_payload_without_a_copy() {
    let lines: Vec<Bytes> = ["ann,3", "bob,4", "ann,5"].into_iter().map(Bytes::from).collect();
    let out = VecSink::new();
    let pipeline =
        Pipeline::from_source(IterSource::new(lines.clone())).key_by(|line: &Bytes| line.slice(..3)).sink(out.clone());
    let report = flux::run(pipeline).unwrap();
    assert!(report.dead_letters.is_empty());
    let envelopes = out.take();
    assert_eq!(envelopes.iter().map(|e| e.payload().clone()).collect::<Vec<_>>(), lines, "payloads untouched");
    for envelope in &envelopes {
        let key = envelope.meta().key.as_ref().expect("keyed");
        assert_eq!(key.as_ref(), &envelope.payload()[..3]);
        assert_eq!(key.as_ptr(), envelope.payload().as_ptr(), "the key shares the payload's bytes");
    }
}

#[test]
fn split_key_moves_each_key_out_of_its_payload_without_a_copy() {
    let users: Vec<Bytes> = ["ann", "bob", "ann"].into_iter().map(Bytes::from).collect();
    let rows: Vec<(Bytes, u64)> = users.iter().cloned().zip([3, 4, 5]).collect();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(rows))
        .split_key(|(user, amount): (Bytes, u64)| (user, amount * 10))
        .sink(out.clone());
    let report = flux::run(pipeline).unwrap();
    assert!(report.dead_letters.is_empty());
    let envelopes = out.take();
    assert_eq!(envelopes.iter().map(|e| *e.payload()).collect::<Vec<_>>(), [30, 40, 50], "the rest goes on");
    assert_eq!(envelopes.iter().map(|e| e.meta().sequence).collect::<Vec<_>>(), [0, 1, 2], "metadata kept");
    for (envelope, user) in envelopes.iter().zip(&users) {
        let key = envelope.meta().key.as_ref().expect("keyed");
        assert_eq!(key, user);
        assert_eq!(key.as_ptr(), user.as_ptr(), "the key is the payload's own bytes, moved");
    }
}

#[test]
fn a_sum_per_key_by_split_key_is_the_sum_by_key_by() {
    let rows = [("ann", 3u64), ("bob", 4), ("ann", 5), ("cy", 1)];
    let sum = || fold(0u64, |sum: &mut u64, amount: u64| *sum += amount);
    let (split, _) = flux::run_to_vec(
        Pipeline::from_source(IterSource::new(rows))
            .split_key(|(user, amount)| (user, amount))
            .accumulate(sum(), Policy::default()),
    )
    .unwrap();
    let (kept, _) = flux::run_to_vec(
        Pipeline::from_source(IterSource::new(rows))
            .key_by(|(user, _)| *user)
            .map(|(_, amount)| amount)
            .accumulate(sum(), Policy::default()),
    )
    .unwrap();
    let sums = |records: Vec<Keyed<u64>>| records.into_iter().map(|k| (k.key, k.value)).collect::<Vec<_>>();
    let split = sums(split);
    assert_eq!(split, [("ann".into(), 8), ("bob".into(), 4), ("cy".into(), 1)]);
    assert_eq!(split, sums(kept));
}

#[test]
fn a_panic_in_split_key_names_the_stage_and_dead_letters_its_input() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(["a", "boom", "c"]))
        .split_key(|s: &'static str| {
            assert_ne!(s, "boom", "user code panics");
            (s, s.len())
        })
        .sink(out.clone());
    let error = flux::run(pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `split_key-1` stopped the run at sequence 1");
    assert!(error.source().is_some_and(|s| s.is::<Panicked>()));
    assert_eq!(error.report().unwrap().dead_letters.iter().map(|l| l.meta.sequence).collect::<Vec<_>>(), [1]);
    assert_eq!(out.payloads(), [1]);
}

#[test]
fn a_sum_per_key_is_a_key_by_and_a_fold() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new([("ann", 3), ("bob", 4), ("ann", 5), ("cy", 1)]))
        .key_by(|(user, _)| *user)
        .map(|(_, amount)| amount)
        .accumulate(fold(0u64, |sum, amount| *sum += amount), Policy::default())
        .sink(out.clone());
    let report = flux::run(pipeline).unwrap();
    let sums: Vec<(Bytes, u64)> = out.payloads().into_iter().map(|k| (k.key, k.value)).collect();
    assert_eq!(sums, [("ann".into(), 8), ("bob".into(), 4), ("cy".into(), 1)]);
    assert_eq!(report.row("accumulate-3").unwrap().counts.merged, 4);
}

#[test]
fn event_time_drives_windows_and_late_data_goes_to_the_side_output() {
    // (event second, key): window of 10 s, no lateness allowed; the
    // fragment at second 3 arrives after the one at second 15 has moved
    // the watermark past its window.
    let input = [(1, "a"), (4, "a"), (15, "a"), (3, "a"), (16, "a")];
    let policy = Policy::builder()
        .watermark(Watermark {
            window: Duration::from_secs(10),
            out_of_orderness: Duration::ZERO,
            allowed_lateness: Duration::ZERO,
        })
        .build()
        .unwrap();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(input))
        .event_time(|(second, _)| Instant::from_secs(*second))
        .key_by(|(_, key)| *key)
        .accumulate(count(), policy)
        .sink(out.clone());
    let report = flux::run(pipeline).unwrap();
    let counts: Vec<u64> = out.payloads().into_iter().map(|k| k.value).collect();
    assert_eq!(counts, [2, 2], "window [0, 10) and window [10, 20)");
    let late: Vec<(u64, SideReason)> = report.side_outputs.iter().map(|s| (s.meta.sequence, s.reason)).collect();
    assert_eq!(late, [(3, SideReason::Late)]);
}

#[test]
fn filter_with_meta_routes_on_a_records_reason_header() {
    // Groups of two are complete by size; the odd one out is flushed at
    // the end: keep only the size-cut records.
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(["a", "b", "a", "b", "c"]))
        .key_by(|key| *key)
        .accumulate(count(), Policy::builder().max_items(2).build().unwrap())
        .filter_with_meta(|_, meta| meta.headers.get(REASON_HEADER).is_some_and(|r| r.as_ref() == b"count"))
        .sink(out.clone());
    let report = flux::run(pipeline).unwrap();
    let kept: Vec<Bytes> = out.payloads().into_iter().map(|k| k.key).collect();
    assert_eq!(kept, ["a", "b"]);
    assert_eq!(report.row("filter-3").unwrap().counts.dropped, 1);
}

#[test]
fn map_with_meta_reads_the_sequence_and_key() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(["x", "y"]))
        .key_by(|s| s.to_uppercase())
        .map_with_meta(|s, meta| format!("{s}{}{}", meta.sequence, String::from_utf8_lossy(meta.key.as_ref().unwrap())))
        .sink(out.clone());
    let report = flux::run(pipeline).unwrap();
    assert_eq!(report.row("map-2").unwrap().emitted, 2);
    assert_eq!(out.payloads(), ["x0X", "y1Y"]);
}

#[test]
fn a_key_function_that_panics_stops_the_run_at_its_input() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(["a", "", "b"]))
        .key_by(|s: &&str| Bytes::copy_from_slice(&s.as_bytes()[..1]))
        .sink(out.clone());
    let error = flux::run(pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `key_by-1` stopped the run at sequence 1");
    assert!(error.source().is_some_and(|s| s.is::<Panicked>()));
    assert_eq!(error.report().unwrap().dead_letters.iter().map(|l| l.meta.sequence).collect::<Vec<_>>(), [1]);
    assert_eq!(out.payloads(), ["a"]);
}

#[test]
fn an_integer_key_groups_by_its_value() {
    let rows = [(7u64, 1u64), (300, 2), (7, 3), (300, 4), (9, 5)];
    let (sums, _report) = flux::run_to_vec(
        Pipeline::from_source(IterSource::new(rows))
            .key_by(|(user, _)| *user)
            .map(|(_, amount)| amount)
            .accumulate(fold(0u64, |sum, amount| *sum += amount), Policy::default()),
    )
    .unwrap();
    let by_user: Vec<(u64, u64)> =
        sums.into_iter().map(|k| (u64::from_be_bytes(k.key.as_ref().try_into().unwrap()), k.value)).collect();
    assert_eq!(by_user, [(7, 4), (300, 6), (9, 5)]);
}

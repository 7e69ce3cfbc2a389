//! `FieldMerge`: each strategy on several fragments, nulls and missing
//! fields, refused values as dead letters that leave the group as it was,
//! and a Vector-style `reduce` through the sync engine.

mod support;

use std::time::Duration;

use bytes::Bytes;
use flux_accumulate::fields::{FieldMerge, FieldMergeError, Fields, FieldsState, Strategy, group_by};
use flux_accumulate::{AccumulateExt, Boundaries, FragmentError, Policy, REASON_HEADER, TimerStart};
use flux_core::{Accumulator, EmitReason, Envelope, Pipeline, Runnable};
use flux_engine_sync::{RunReport, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};
use serde_json::{Value, json};
use support::{Harness, header, secs};

fn fields(value: Value) -> Fields {
    match value {
        Value::Object(fields) => fields,
        other => panic!("not an object: {other}"),
    }
}

/// Merges `events` into one group by hand; the record, and each refused
/// fragment as (its index, the error's text).
fn merged(mut acc: FieldMerge, events: Vec<Value>) -> (Value, Vec<(usize, String)>) {
    let key = Bytes::from_static(b"k");
    let mut state = acc.open(&key);
    let mut refused = Vec::new();
    for (i, event) in events.into_iter().enumerate() {
        if let Err(error) = acc.merge(&mut state, Envelope::new(fields(event))) {
            let error = error.downcast_ref::<FieldMergeError>().expect("a field error");
            refused.push((i, error.to_string()));
        }
    }
    (Value::Object(acc.close(key, state, EmitReason::EndOfStream).value), refused)
}

/// The record of `events` merged with one strategy on field `f`.
fn one(strategy: Strategy, values: Vec<Value>) -> (Value, Vec<(usize, String)>) {
    merged(FieldMerge::new().field("f", strategy), values.into_iter().map(|v| json!({ "f": v })).collect())
}

#[test]
fn sum_keeps_integers_integers_and_a_float_makes_the_sum_a_float() {
    let (record, refused) = one(Strategy::Sum, vec![json!(3), json!(4), json!(-10)]);
    assert_eq!((record, refused), (json!({"f": -3}), vec![]));
    let (record, _) = one(Strategy::Sum, vec![json!(1), json!(2.5), json!(3)]);
    assert_eq!(record, json!({"f": 6.5}));
    // Past i64 the sum is still an integer while it fits u64.
    let (record, _) = one(Strategy::Sum, vec![json!(i64::MAX), json!(i64::MAX), json!(1)]);
    assert_eq!(record, json!({"f": u64::MAX}));
    assert!(record["f"].is_u64());
    let (record, _) = one(Strategy::Sum, vec![json!(u64::MAX), json!(-5)]);
    assert_eq!(record, json!({"f": u64::MAX - 5}));
}

#[test]
fn a_sum_that_overflows_is_refused_naming_the_field_and_later_values_still_add() {
    let (record, refused) = one(Strategy::Sum, vec![json!(u64::MAX - 1), json!(2), json!(1)]);
    assert_eq!(record, json!({"f": u64::MAX}));
    assert_eq!(refused, [(1, "field `f`: sum overflows: 18446744073709551614 + 2".to_owned())]);
    let (record, refused) = one(Strategy::Sum, vec![json!(i64::MIN), json!(-1), json!(1)]);
    assert_eq!(record, json!({"f": i64::MIN + 1}));
    assert_eq!(refused, [(1, "field `f`: sum overflows: -9223372036854775808 + -1".to_owned())]);
    // A float sum that is no longer finite.
    let (record, refused) = one(Strategy::Sum, vec![json!(1e308), json!(1e308), json!(0.5)]);
    assert_eq!(record, json!({"f": 1e308 + 0.5}));
    assert_eq!(refused, [(1, "field `f`: sum overflows: 1e+308 + 1e+308".to_owned())]);
}

#[test]
fn sum_refuses_what_is_not_a_number_and_skips_null() {
    let values = vec![json!(1), json!("2"), json!(null), json!(true), json!([3]), json!({"n": 4}), json!(5)];
    let (record, refused) = one(Strategy::Sum, values);
    assert_eq!(record, json!({"f": 6}));
    assert_eq!(
        refused,
        [
            (1, "field `f`: sum takes numbers, found a string".to_owned()),
            (3, "field `f`: sum takes numbers, found a boolean".to_owned()),
            (4, "field `f`: sum takes numbers, found an array".to_owned()),
            (5, "field `f`: sum takes numbers, found an object".to_owned()),
        ]
    );
}

#[test]
fn min_and_max_compare_numbers_as_numbers_and_strings_byte_by_byte() {
    let numbers = || vec![json!(3), json!(10.5), json!(null), json!(-1), json!(10.5), json!(7)];
    assert_eq!(one(Strategy::Max, numbers()), (json!({"f": 10.5}), vec![]));
    assert_eq!(one(Strategy::Min, numbers()), (json!({"f": -1}), vec![]));
    // Integers compare exactly, past what a float holds.
    assert_eq!(one(Strategy::Max, vec![json!(u64::MAX - 1), json!(u64::MAX), json!(3)]).0, json!({"f": u64::MAX}));
    // Equal values: the first is kept, as it arrived.
    let (record, _) = one(Strategy::Max, vec![json!(2), json!(2.0)]);
    assert!(record["f"].is_i64(), "{record}");
    let stamps = || vec![json!("2026-12-01T10:00:05Z"), json!("2026-12-01T10:00:01Z"), json!("2026-12-01T10:00:09Z")];
    assert_eq!(one(Strategy::Min, stamps()).0, json!({"f": "2026-12-01T10:00:01Z"}));
    assert_eq!(one(Strategy::Max, stamps()).0, json!({"f": "2026-12-01T10:00:09Z"}));
}

#[test]
fn min_and_max_refuse_a_value_of_another_kind_than_the_field_holds() {
    let (record, refused) = one(Strategy::Max, vec![json!(3), json!("9"), json!(false), json!(4)]);
    assert_eq!(record, json!({"f": 4}));
    assert_eq!(
        refused,
        [
            (1, "field `f`: max compares numbers, found a string".to_owned()),
            (2, "field `f`: max takes numbers or strings, found a boolean".to_owned()),
        ]
    );
    let (record, refused) = one(Strategy::Min, vec![json!("b"), json!(1), json!("a")]);
    assert_eq!(record, json!({"f": "a"}));
    assert_eq!(refused, [(1, "field `f`: min compares strings, found a number".to_owned())]);
}

#[test]
fn first_last_and_last_non_null_treat_null_as_documented() {
    let values = || vec![json!(null), json!("a"), json!({"x": 1}), json!("b"), json!(null)];
    assert_eq!(one(Strategy::First, values()), (json!({"f": null}), vec![]));
    assert_eq!(one(Strategy::Last, values()), (json!({"f": null}), vec![]));
    assert_eq!(one(Strategy::LastNonNull, values()), (json!({"f": "b"}), vec![]));
    assert_eq!(one(Strategy::First, vec![json!([1]), json!(2)]).0, json!({"f": [1]}));
}

#[test]
fn concat_joins_strings_with_its_separator_and_refuses_anything_else() {
    let (record, refused) =
        one(Strategy::Concat("\n".into()), vec![json!("a"), json!(null), json!("b"), json!(7), json!(""), json!("c")]);
    assert_eq!(record, json!({"f": "a\nb\n\nc"}));
    assert_eq!(refused, [(3, "field `f`: concat takes strings, found a number".to_owned())]);
    let (record, _) = one(Strategy::Concat(", ".into()), vec![json!("x"), json!("y")]);
    assert_eq!(record, json!({"f": "x, y"}));
    let (record, refused) = one(Strategy::Concat(" ".into()), vec![json!(["a"]), json!("b")]);
    assert_eq!(record, json!({"f": "b"}));
    assert_eq!(refused, [(0, "field `f`: concat takes strings, found an array".to_owned())]);
}

#[test]
fn append_keeps_every_value_in_order_with_arrays_spliced_in() {
    let values = vec![json!(["a", "b"]), json!("c"), json!(null), json!(["a", ["d"]]), json!({"x": 1}), json!([])];
    let (record, refused) = one(Strategy::Append, values);
    assert_eq!(record, json!({"f": ["a", "b", "c", null, "a", ["d"], {"x": 1}]}));
    assert!(refused.is_empty());
}

#[test]
fn flat_unique_keeps_each_value_once_in_first_seen_order() {
    let values = vec![
        json!("h2"),
        json!(["h1", "h2"]),
        json!(null),
        json!(["h3", null, "h1"]),
        json!({"x": 1}),
        json!([{"x": 1}, 2, 2.0]),
    ];
    let (record, refused) = one(Strategy::FlatUnique, values);
    // 2 and 2.0 are different JSON values (an integer and a float).
    assert_eq!(record, json!({"f": ["h2", "h1", "h3", {"x": 1}, 2, 2.0]}));
    assert!(refused.is_empty());
    assert_eq!(one(Strategy::FlatUnique, vec![json!(null), json!([null])]).0, json!({}));
}

#[test]
fn a_timestamp_window_keeps_the_first_value_and_the_last_as_field_end() {
    let values = vec![json!("10:00:05"), json!("10:00:01"), json!(null), json!(true), json!("10:00:03")];
    let (record, refused) = one(Strategy::TimestampWindow, values);
    // By arrival, not the earliest and the latest.
    assert_eq!(record, json!({"f": "10:00:05", "f_end": "10:00:03"}));
    assert_eq!(refused, [(3, "field `f`: timestamp_window takes strings or numbers, found a boolean".to_owned())]);
    assert_eq!(one(Strategy::TimestampWindow, vec![json!(1700)]).0, json!({"f": 1700, "f_end": 1700}));
    // The window's end replaces an incoming field of that name.
    let acc = FieldMerge::new().timestamp_window("ts").last("ts_end");
    let (record, _) = merged(acc, vec![json!({"ts": 1, "ts_end": "x"}), json!({"ts": 2, "ts_end": "y"})]);
    assert_eq!(record, json!({"ts": 1, "ts_end": 2}));
}

#[test]
fn fields_not_named_sum_numbers_and_keep_the_first_of_anything_else() {
    let events = vec![
        json!({"count": 1, "host": "a", "ok": true, "ctx": {"n": 1}, "gone": null}),
        json!({"count": 2, "host": "b", "ok": false, "ctx": {"n": 2}, "gone": 5}),
        json!({"count": "x", "host": 3}),
        json!({"count": 0.5}),
    ];
    let (record, refused) = merged(FieldMerge::new(), events.clone());
    assert_eq!(record, json!({"count": 3.5, "host": "a", "ok": true, "ctx": {"n": 1}, "gone": null}));
    assert!(refused.is_empty(), "by type, a value of another kind is left out, not refused");
    let (record, _) = merged(FieldMerge::new().others(Strategy::Last).sum("count"), events[..2].to_vec());
    assert_eq!(record, json!({"count": 3, "host": "b", "ok": false, "ctx": {"n": 2}, "gone": 5}));
    let (_, refused) = merged(FieldMerge::new(), vec![json!({"n": u64::MAX}), json!({"n": 1})]);
    assert_eq!(refused, [(1, "field `n`: sum overflows: 18446744073709551615 + 1".to_owned())]);
}

#[test]
fn a_missing_field_is_left_as_it_was_and_one_never_kept_is_not_in_the_record() {
    let acc = FieldMerge::new().sum("bytes").last("status").last_non_null("user").concat("msg", " ");
    let events = vec![
        json!({"bytes": 5, "msg": "a"}),
        json!({"status": 200, "user": null}),
        json!({"msg": "b"}),
        json!({"bytes": null, "user": null}),
    ];
    let (record, refused) = merged(acc, events);
    assert_eq!(record, json!({"bytes": 5, "msg": "a b", "status": 200}));
    assert!(refused.is_empty());
}

#[test]
fn a_refused_field_leaves_every_field_of_its_fragment_unmerged() {
    let mut acc = FieldMerge::new().sum("bytes").sum("count").concat("msg", "\n").append("tags").timestamp_window("ts");
    let key = Bytes::from_static(b"k");
    let mut state = acc.open(&key);
    let good = json!({"bytes": 10, "count": 1, "msg": "a", "tags": ["x"], "ts": 1});
    acc.merge(&mut state, Envelope::new(fields(good))).unwrap();
    let (before, bytes_before) = (state.clone(), acc.state_bytes(&state));
    // Fields before and after the refused one (in the map's order) are
    // all left out.
    let bad = json!({"bytes": 5, "count": "oops", "msg": "b", "tags": ["y"], "ts": 2, "new": 1});
    let error = acc.merge(&mut state, Envelope::new(fields(bad))).unwrap_err();
    assert_eq!(error.downcast_ref::<FieldMergeError>().unwrap().field(), "count");
    assert_eq!(state, before);
    assert_eq!(acc.state_bytes(&state), bytes_before);
    acc.merge(&mut state, Envelope::new(fields(json!({"bytes": 1, "msg": "c", "ts": 3})))).unwrap();
    let record = Value::Object(acc.close(key, state, EmitReason::Complete).value);
    assert_eq!(record, json!({"bytes": 11, "count": 1, "msg": "a\nc", "tags": ["x"], "ts": 1, "ts_end": 3}));
}

#[test]
fn state_bytes_follow_the_merged_values() {
    let mut acc = FieldMerge::new().concat("msg", "\n").append("tags");
    let mut state = acc.open(&Bytes::from_static(b"k"));
    let empty = acc.state_bytes(&state);
    assert_eq!(empty, size_of::<FieldsState>());
    let (entry, value) = (size_of::<String>(), size_of::<Value>());
    acc.merge(&mut state, Envelope::new(fields(json!({"msg": "abc", "n": 1})))).unwrap();
    assert_eq!(acc.state_bytes(&state), empty + (entry + 3 + value + 3) + (entry + 1 + value));
    acc.merge(&mut state, Envelope::new(fields(json!({"msg": "de", "n": 2})))).unwrap();
    let after_two = empty + (entry + 3 + value + 6) + (entry + 1 + value);
    assert_eq!(acc.state_bytes(&state), after_two, "the separator and the text; a sum costs nothing more");
    acc.merge(&mut state, Envelope::new(fields(json!({"tags": ["x", "yz"]})))).unwrap();
    assert_eq!(acc.state_bytes(&state), after_two + entry + 4 + value + (value + 1) + (value + 2));
    assert_eq!(state.fields()["msg"], json!("abc\nde"));
}

#[test]
fn the_table_prints_in_field_order_and_names_each_strategy() {
    let acc = FieldMerge::new().max("b").concat("a", "\n").others(Strategy::First);
    assert_eq!(format!("{acc:?}"), r#"FieldMerge { named: [("a", Concat("\n")), ("b", Max)], others: First }"#);
    assert_eq!(acc.strategy("b"), &Strategy::Max);
    assert_eq!(acc.strategy("zzz"), &Strategy::First);
    assert_eq!(FieldMerge::default().strategy("x"), &Strategy::ByType);
}

#[test]
#[should_panic(expected = "field `x` has two strategies: sum and max")]
fn a_field_named_twice_is_a_mistake_caught_when_the_table_is_built() {
    let _ = FieldMerge::new().sum("x").max("x");
}

/// Runs `events` keyed by `request` through a `FieldMerge` stage on the
/// sync engine; the records (key, fields, reason) and the report.
fn run(acc: FieldMerge, events: Vec<Value>, policy: Policy) -> (Vec<(String, Value, String)>, RunReport) {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(events.into_iter().map(fields).collect::<Vec<_>>()))
        .key_by(|event: &Fields| event.get("request").and_then(Value::as_str).unwrap_or("none").to_owned())
        .accumulate(acc.ends_when(|event: &Fields| event.contains_key("status")), policy)
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let records = out
        .take()
        .into_iter()
        .map(|record| {
            let reason = header(&record, REASON_HEADER);
            let record = record.into_payload();
            (String::from_utf8(record.key.to_vec()).unwrap(), Value::Object(record.value), reason)
        })
        .collect();
    (records, report)
}

/// The table a Vector user would write for request logs.
fn request_logs() -> FieldMerge {
    FieldMerge::new()
        .first("request")
        .concat("message", "\n")
        .sum("bytes")
        .max("latency_ms")
        .flat_unique("hosts")
        .timestamp_window("ts")
        .last_non_null("status")
}

#[test]
fn a_vector_style_reduce_of_multi_line_request_logs_through_the_sync_engine() {
    // Two requests interleaved; each ends with the line that has a
    // status; r3 never ends and is flushed at the end of input.
    let events = vec![
        json!({"request": "r1", "ts": "10:00:00", "message": "GET /a", "bytes": 100, "latency_ms": 3, "hosts": "h1"}),
        json!({"request": "r2", "ts": "10:00:01", "message": "GET /b", "bytes": 7, "hosts": ["h2"]}),
        json!({"request": "r1", "ts": "10:00:02", "message": "  retry", "bytes": 50, "latency_ms": 9.5, "hosts": ["h2", "h1"]}),
        json!({"request": "r2", "ts": "10:00:03", "message": "  ok", "bytes": 3, "latency_ms": 1, "status": 200}),
        json!({"request": "r1", "ts": "10:00:04", "message": "  ok", "latency_ms": 4, "status": 503, "level": "warn"}),
        json!({"request": "r3", "ts": "10:00:05", "message": "GET /c", "bytes": 1}),
    ];
    let (records, report) = run(request_logs(), events, Policy::default());
    assert_eq!(
        records,
        [
            (
                "r2".to_owned(),
                json!({"request": "r2", "ts": "10:00:01", "ts_end": "10:00:03", "message": "GET /b\n  ok",
                       "bytes": 10, "latency_ms": 1, "hosts": ["h2"], "status": 200}),
                "end-condition".to_owned()
            ),
            (
                "r1".to_owned(),
                json!({"request": "r1", "ts": "10:00:00", "ts_end": "10:00:04", "message": "GET /a\n  retry\n  ok",
                       "bytes": 150, "latency_ms": 9.5, "hosts": ["h1", "h2"], "status": 503, "level": "warn"}),
                "end-condition".to_owned()
            ),
            (
                "r3".to_owned(),
                json!({"request": "r3", "ts": "10:00:05", "ts_end": "10:00:05", "message": "GET /c", "bytes": 1}),
                "end-of-stream".to_owned()
            ),
        ]
    );
    assert!(report.dead_letters.is_empty());
    assert_eq!(report.row("accumulate-2").unwrap().counts.merged, 6);
}

#[test]
fn refused_fields_are_dead_letters_naming_the_field_and_the_group_goes_on() {
    let events = vec![
        json!({"request": "r1", "message": "a", "bytes": 1}),
        json!({"request": "r1", "message": "b", "bytes": "2"}),
        json!({"request": "r1", "message": ["c"], "bytes": 4}),
        json!({"request": "r1", "message": "d", "bytes": 8, "status": 200}),
    ];
    let (records, report) = run(request_logs(), events, Policy::default());
    assert_eq!(
        records,
        [(
            "r1".to_owned(),
            json!({"request": "r1", "message": "a\nd", "bytes": 9, "status": 200}),
            "end-condition".to_owned()
        )]
    );
    let dead: Vec<(u64, String, String)> = report
        .dead_letters
        .iter()
        .map(|letter| {
            let cause = letter.error.cause().downcast_ref::<FragmentError>().expect("a merge error");
            let field = std::error::Error::source(cause).unwrap().downcast_ref::<FieldMergeError>().unwrap();
            (letter.meta.sequence, field.field().to_owned(), field.reason().to_owned())
        })
        .collect();
    assert_eq!(
        dead,
        [
            (1, "bytes".to_owned(), "sum takes numbers, found a string".to_owned()),
            (2, "message".to_owned(), "concat takes strings, found an array".to_owned()),
        ]
    );
    let counts = &report.row("accumulate-2").unwrap().counts;
    assert_eq!((counts.merged, counts.released), (2, 2), "the two refused fragments are dead letters, not merged");
}

#[test]
fn a_field_table_takes_the_policys_item_limit_and_its_inactivity_ttl() {
    // Vector's `max_events` and `expire_after_ms`.
    let (records, _) = run(
        FieldMerge::new().concat("message", " "),
        (1..=5).map(|n| json!({"request": "r", "message": n.to_string()})).collect(),
        Policy::builder().max_items(2).build().unwrap(),
    );
    let messages: Vec<(Value, &str)> = records.iter().map(|r| (r.1["message"].clone(), r.2.as_str())).collect();
    assert_eq!(messages, [(json!("1 2"), "count"), (json!("3 4"), "count"), (json!("5"), "end-of-stream")]);

    let policy = Policy::builder().ttl(Duration::from_secs(30), TimerStart::LastFragment).build().unwrap();
    let mut h = Harness::new(FieldMerge::new().concat("message", " "), policy);
    let line = |text: &str| Envelope::new(fields(json!({"message": text}))).with_key(Bytes::from_static(b"r"));
    h.push(line("a"));
    h.now = secs(20);
    h.push(line("b"));
    h.advance_to(secs(49));
    assert_eq!(h.records(), 0, "30 s after the last line, not the first");
    h.advance_to(secs(50));
    let records: Vec<_> = h
        .take()
        .into_iter()
        .map(|(at, record)| (at, header(&record, REASON_HEADER), Value::Object(record.into_payload().value)))
        .collect();
    assert_eq!(records, [(secs(50), "inactivity".to_owned(), json!({"message": "a b"}))]);
    h.finish();
    h.assert_balanced(true);
}

/// A state holding every kind of JSON value, and a window's end.
fn every_kind() -> (FieldMerge, FieldsState) {
    let mut acc = FieldMerge::new().append("all").timestamp_window("ts").concat("msg", "\n");
    let mut state = acc.open(&Bytes::from_static(b"k"));
    let events = [
        json!({"all": [null, true, false, -7, u64::MAX, 0.1, "é ✓", [1, [2]], {"o": {"p": []}}], "ts": 1, "msg": "a"}),
        json!({"all": 0.30000000000000004, "ts": "t", "msg": "b", "sum": 2.5}),
    ];
    for event in events {
        acc.merge(&mut state, Envelope::new(fields(event))).unwrap();
    }
    (acc, state)
}

#[test]
fn a_spilled_state_comes_back_exactly_and_a_damaged_one_is_refused() {
    let (mut acc, state) = every_kind();
    let mut encoded = Vec::new();
    assert!(acc.encode_state(&state, &mut encoded));
    let key = Bytes::from_static(b"k");
    let decoded = acc.decode_state(&key, &encoded).unwrap();
    assert_eq!(decoded, state);
    assert_eq!(acc.state_bytes(&decoded), acc.state_bytes(&state));
    assert!(decoded.fields()["all"][4].is_u64() && decoded.fields()["all"][3].is_i64());
    assert_eq!(decoded.fields()["all"][9].as_f64().unwrap().to_bits(), 0.30000000000000004_f64.to_bits());
    // Cut anywhere, or with a byte too many, it is an error, never a panic.
    for end in 0..encoded.len() {
        assert!(acc.decode_state(&key, &encoded[..end]).is_err(), "cut at {end}");
    }
    let mut longer = encoded.clone();
    longer.push(0);
    let error = acc.decode_state(&key, &longer).unwrap_err();
    assert_eq!(error.to_string(), "a spilled field state that cannot be read: 1 bytes after the state");
}

#[test]
fn spilled_field_groups_are_restored_and_emit_what_they_would_have_in_memory() {
    let run = |policy: Policy| {
        let mut h = Harness::new(request_logs(), policy);
        for round in 0..10u64 {
            for request in 0..50u64 {
                let event = json!({"request": format!("r{request}"), "message": format!("line {round}"),
                                   "bytes": round * request, "latency_ms": (round * 7 % 5) as f64 / 3.0,
                                   "hosts": [format!("h{}", round % 3)], "ts": round});
                h.push(Envelope::new(fields(event)).with_key(Bytes::from(format!("r{request}"))));
            }
        }
        let stats = h.stats.snapshot();
        h.finish();
        h.assert_balanced(true);
        let records: Vec<(Bytes, Value)> =
            h.take().into_iter().map(|(_, r)| r.into_payload()).map(|r| (r.key, Value::Object(r.value))).collect();
        (records, stats.spills, stats.restores)
    };
    let (in_memory, no_spills, _) = run(Policy::default());
    let (spilled, spills, restores) = run(Policy::builder().spill_above(8 * 1024).build().unwrap());
    assert_eq!(no_spills, 0);
    assert!(spills > 0 && restores > 0, "{spills} spills, {restores} restores");
    assert_eq!(spilled, in_memory);
    assert_eq!(in_memory.len(), 50);
    assert_eq!(
        in_memory[7].1,
        json!({"request": "r7", "message": (0..10).map(|r| format!("line {r}")).collect::<Vec<_>>().join("\n"),
               "bytes": 7 * 45, "latency_ms": 4.0 / 3.0, "hosts": ["h0", "h1", "h2"], "ts": 0, "ts_end": 9})
    );
}

#[test]
fn group_by_keys_on_named_fields_and_a_missing_field_groups_apart_from_null() {
    let events = [
        json!({"host": "a", "pid": 1, "n": 1}),
        json!({"host": "a", "n": 2}),
        json!({"host": "a", "pid": 1, "n": 3}),
        json!({"host": "a", "pid": null, "n": 4}),
        json!({"n": 5, "host": "a"}),
        json!({"host": "a", "pid": "1", "n": 6}),
    ];
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(events.into_iter().map(fields).collect::<Vec<_>>()))
        .key_by(group_by(["host", "pid"]))
        .accumulate(FieldMerge::new(), Policy::default())
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert!(report.dead_letters.is_empty(), "every event has a key, even without the fields");
    let records: Vec<(Bytes, Value)> =
        out.payloads().into_iter().map(|record| (record.key, Value::Object(record.value))).collect();
    assert_eq!(
        records,
        [
            (Bytes::from_static(b"\"a\"\x001"), json!({"host": "a", "pid": 2, "n": 4})),
            (Bytes::from_static(b"\"a\"\x00"), json!({"host": "a", "n": 7})),
            (Bytes::from_static(b"\"a\"\x00null"), json!({"host": "a", "pid": null, "n": 4})),
            (Bytes::from_static(b"\"a\"\x00\"1\""), json!({"host": "a", "pid": "1", "n": 6})),
        ]
    );
}

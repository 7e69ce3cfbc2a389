//! Property: for random fragment streams under random policy combinations,
//! no fragment is lost or counted twice — the fragments inside emitted
//! records, the side outputs, the dead letters, the counted discards and
//! the counted drops add up to the input, and the stage's ledger balances with nothing pending.

mod support;

use std::time::Duration;

use bytes::Bytes;
use flux_accumulate::{
    AtEnd, BytesBound, CloseAfter, ClosedKeys, Eviction, Expiry, FRAGMENTS_HEADER, Forget, KeyLimit, NoKey, OnExpiry,
    OnMergeError, OnNewKey, Policy, Timer, TimerStart, Watermark,
};
use flux_core::{CompleteAll, Envelope, Instant};
use proptest::prelude::*;
use support::{Harness, Parts, header};

#[derive(Clone, Debug)]
enum Op {
    Push { key: Option<u8>, part: u8, value: u32, event_ms: u64 },
    Advance { ms: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (proptest::option::weighted(0.9, 0u8..12), 0u8..4, prop_oneof![9 => 0u32..100, 1 => Just(u32::MAX)], 0u64..400)
            .prop_map(|(key, part, value, event_ms)| Op::Push { key, part, value, event_ms }),
        1 => (0u64..300).prop_map(|ms| Op::Advance { ms }),
    ]
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn policy() -> impl Strategy<Value = Policy> {
    let limits = (
        proptest::option::of(1u64..6),
        proptest::option::of(1u64..200),
        proptest::option::of(1u64..500),
        proptest::option::of((1u64..500, 0usize..4)),
        any::<bool>(),
        prop_oneof![Just(0.5f32), Just(1.0f32)],
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(1u64..200),
    );
    let keys = (
        proptest::option::of((1u64..300, 0u64..100, 0u64..200)),
        proptest::option::of((1usize..5, any::<bool>())),
        proptest::option::of((1usize..4, proptest::option::of(1u64..500), 0usize..3, any::<bool>())),
        0usize..3,
        0usize..3,
        0usize..4,
        proptest::option::of(16u64..512),
        any::<bool>(),
    );
    // One timer whose deadline rule differs from the others'.
    let extra = proptest::option::of((0usize..4, any::<bool>()));
    (limits, keys, extra).prop_map(|(limits, keys, one_timer)| {
        let (items, bytes, latency, ttl, after, complete_at, discard_on_expiry, bytes_at_most, check_every) = limits;
        let (watermark, key_limit, closed, at_end, no_key, on_error, spill, new_key_completes) = keys;
        let mut b = Policy::builder().complete_at(complete_at);
        if let Some(n) = items {
            b = b.max_items(n);
        }
        if let Some(n) = bytes {
            b = b.max_bytes(n);
        }
        if bytes_at_most {
            // Also with no stage limit: it bounds nothing then, and the
            // fragments still take the general way.
            b = b.bytes_bound(BytesBound::AtMost);
        }
        if let Some(n) = check_every {
            b = b.check_every(ms(n));
        }
        if let Some(n) = latency {
            b = b.max_latency(ms(n));
        }
        if let Some((n, start)) = ttl {
            let start =
                [TimerStart::FirstFragment, TimerStart::LastFragment, TimerStart::FixedInterval, TimerStart::Periodic]
                    [start];
            b = b.ttl(ms(n), start);
        }
        if after {
            b = b.expiry(Expiry::AfterDeadline);
        }
        if let Some((timer, after)) = one_timer {
            let timer = [Timer::Ttl, Timer::Latency, Timer::Linger, Timer::Window][timer];
            b = b.expiry_of(timer, if after { Expiry::AfterDeadline } else { Expiry::AtDeadline });
        }
        if discard_on_expiry {
            b = b.on_expiry(OnExpiry::Discard);
        }
        if let Some((window, ooo, lateness)) = watermark {
            b = b.watermark(Watermark {
                window: ms(window),
                out_of_orderness: ms(ooo),
                allowed_lateness: ms(lateness),
            });
        }
        if let Some((max_keys, lru)) = key_limit {
            let eviction = if lru { Eviction::LeastRecentlyUsed } else { Eviction::OldestFirst };
            b = b.key_limit(KeyLimit { max_keys, eviction });
        }
        if let Some((capacity, remember, after, lru)) = closed {
            let after = [CloseAfter::Whole, CloseAfter::WholeOrFull, CloseAfter::AnyEnd][after];
            let forget = if lru { Forget::LeastRecentlyTouched } else { Forget::OldestClosed };
            let mut closed = ClosedKeys::new(capacity).after(after).forget(forget);
            if let Some(remember) = remember {
                closed = closed.remember_for(ms(remember));
            }
            b = b.closed_keys(closed);
        }
        b = b.at_end([AtEnd::Flush, AtEnd::Drop, AtEnd::WaitForTimers][at_end]);
        b = b.no_key([NoKey::DeadLetter, NoKey::Group(Bytes::from_static(b"<none>")), NoKey::Drop][no_key].clone());
        b = b.on_merge_error(
            [
                OnMergeError::SkipFragment,
                OnMergeError::DiscardGroup,
                OnMergeError::StopRun,
                OnMergeError::DiscardGroupAndFragment,
            ][on_error],
        );
        if new_key_completes {
            b = b.on_new_key(OnNewKey::CompleteOthers);
        }
        if let Some(threshold) = spill {
            b = b.spill_above(threshold);
        }
        b.build().expect("every generated setting is above zero")
    })
}

fn accumulator() -> impl Strategy<Value = Parts> {
    let signal = proptest::option::of((0u8..4, any::<bool>())).prop_map(|s| {
        s.map(|(part, inclusive)| (part, if inclusive { CompleteAll::Inclusive } else { CompleteAll::Exclusive }))
    });
    (0u64..16, proptest::option::of(0u8..4), proptest::option::of(0u8..4), any::<bool>(), signal).prop_map(
        |(required, ends_on_part, starts_on_part, spillable, signal_on_part)| Parts {
            required,
            ends_on_part,
            starts_on_part,
            signal_on_part,
            spillable,
            ..Parts::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_fragment_ends_exactly_once(acc in accumulator(), policy in policy(), ops in proptest::collection::vec(op(), 0..120)) {
        let mut h = Harness::new(acc, policy);
        let mut event_base = 0u64;
        for (sequence, op) in ops.into_iter().enumerate() {
            match op {
                Op::Push { key, part, value, event_ms } => {
                    event_base += 7;
                    let mut env = Envelope::new((part, value))
                        .with_sequence(sequence as u64)
                        .with_event_time(Instant::from_millis(event_base.saturating_sub(event_ms)))
                        .with_cost(flux_core::Cost::bytes(u32::from(part) * 10 + 5));
                    if let Some(k) = key {
                        env = env.with_key(Bytes::from(vec![b'k', k]));
                    }
                    h.push(env);
                }
                Op::Advance { ms } => {
                    let to = h.now + Duration::from_millis(ms);
                    h.advance_to(to);
                }
            }
        }
        h.finish();
        h.assert_balanced(true);
        let records = h.take();
        let in_records: u64 = records.iter().map(|(_, r)| {
            let n: u64 = header(r, FRAGMENTS_HEADER).parse().unwrap();
            prop_assert_eq!(n as usize, r.payload().values.len());
            Ok(n)
        }).sum::<Result<u64, TestCaseError>>()?;
        let diverted = (h.diverted.dead_letters.len() + h.diverted.side_outputs.len()) as u64;
        let ledger = h.ledger();
        prop_assert_eq!(in_records + diverted + ledger.discarded + ledger.dropped, h.pushed);
        let figures = h.stats.snapshot();
        prop_assert_eq!(
            figures.dropped_no_key + figures.signals,
            ledger.dropped,
            "the stage drops only key-less fragments and control signals"
        );
        prop_assert_eq!(h.stats.pressure().pending_keys, 0);
    }
}

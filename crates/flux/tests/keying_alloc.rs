//! Keying by an integer costs no allocation per record: the keying stage
//! copies integer keys into a shared buffer (`KeyText`), two allocations
//! per 256 eight-byte keys. Measured with a counting allocator, against the
//! same run keyed by static text (no key allocates), so that what the
//! engine itself allocates cancels out.

use bytes::Bytes;
use flux::prelude::*;
use flux::test::CountingAllocator;
use flux::{Context, WriteError};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

const RECORDS: u64 = 20_000;

/// Adds up every key's bytes (so each key is read) and keeps nothing.
#[derive(Clone, Default)]
struct KeySum(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Sink<u64> for KeySum {
    fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        let key = item.meta().key.as_ref().expect("keyed");
        let value = key.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
        self.0.fetch_add(value, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// Allocations of one run of `pipeline`, and what its sink added up.
fn allocations_of(pipeline: impl Runnable, sum: &KeySum) -> (u64, u64) {
    let before = ALLOCATOR.allocations();
    let report = flux::run(pipeline).unwrap();
    let made = ALLOCATOR.allocations() - before;
    assert!(report.dead_letters.is_empty());
    (made, sum.0.load(std::sync::atomic::Ordering::Relaxed))
}

#[test]
fn keying_by_an_integer_allocates_a_buffer_per_256_records_not_a_key_each() {
    let input = || IterSource::new(0..RECORDS);
    let expected: u64 = (0..RECORDS).sum();
    // Each run twice, the first to warm what is allocated once per process.
    let mut figures = Vec::new();
    for _ in 0..2 {
        let text = KeySum::default();
        let (unkeyed, text_sum) = allocations_of(
            Pipeline::from_source(input()).key_by(|_: &u64| Bytes::from_static(b"")).sink(text.clone()),
            &text,
        );
        let by_key = KeySum::default();
        let (keyed, keyed_sum) =
            allocations_of(Pipeline::from_source(input()).key_by(|n: &u64| *n).sink(by_key.clone()), &by_key);
        let by_split = KeySum::default();
        let (split, split_sum) =
            allocations_of(Pipeline::from_source(input()).split_key(|n: u64| (n, n)).sink(by_split.clone()), &by_split);
        assert_eq!((text_sum, keyed_sum, split_sum), (0, expected, expected), "every key is the record's number");
        figures.push((unkeyed, keyed, split));
    }
    let (engine, keyed, split) = figures[1];
    // 20,000 keys of 8 bytes fill 79 buffers of 2 KiB; each buffer is also
    // shared once (a second small allocation). One allocation per key
    // would be 20,000.
    for (how, made) in [("key_by", keyed), ("split_key", split)] {
        let keys = made.saturating_sub(engine);
        assert!(keys <= 200, "{how}: {keys} allocations for {RECORDS} integer keys (the run itself made {engine})");
    }
}

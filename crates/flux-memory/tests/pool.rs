//! The slab pool: reuse, the bound and its policies, statistics, leaks.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use flux_core::{BufferPool, LeakError, PoolExhausted};
use flux_memory::{Exhaustion, LeakGuard, PoolConfig, SlabPool, assert_no_leaks};

fn pool(max_slabs: usize) -> SlabPool {
    SlabPool::new("test-pool", PoolConfig::default().slab_size(64).max_slabs(max_slabs))
}

#[test]
fn a_slab_returns_when_its_last_slice_is_dropped_and_is_reused() {
    let pool = pool(2);
    let mut slab = pool.rent().unwrap();
    slab.extend_from_slice(b"first\nsecond\n");
    let bytes = slab.freeze();
    let first = bytes.slice(0..5);
    let second = bytes.slice(6..12);
    drop(bytes);
    drop(first);
    assert_eq!(pool.stats().in_use, 1, "one slice still holds the slab");
    assert_eq!(&second[..], b"second");
    drop(second);

    let stats = pool.stats();
    assert_eq!((stats.rented, stats.returned, stats.in_use), (1, 1, 0));
    let again = pool.rent().unwrap();
    assert_eq!(again.capacity(), 64);
    assert!(again.is_empty(), "a reused slab starts empty");
    assert_eq!(pool.stats().allocations_avoided, 1);
}

#[test]
fn a_slab_dropped_unfrozen_returns_at_once() {
    let pool = pool(1);
    let mut slab = pool.rent().unwrap();
    slab.extend_from_slice(b"partial");
    drop(slab);
    assert_no_leaks(&pool);
    assert!(pool.rent().is_ok());
}

#[test]
fn statistics_track_rentals_returns_and_the_high_water_mark() {
    let pool = pool(3);
    let a = pool.rent().unwrap().freeze();
    let b = pool.rent().unwrap().freeze();
    let c = pool.rent().unwrap();
    drop(a);
    drop(b);
    drop(c);
    let _d = pool.rent().unwrap();
    let stats = pool.stats();
    assert_eq!(stats.rented, 4);
    assert_eq!(stats.returned, 3);
    assert_eq!(stats.in_use, 1);
    assert_eq!(stats.high_water, 3);
    assert_eq!(stats.allocations_avoided, 1);
    assert_eq!(stats.capacity, 3);
}

#[test]
fn the_fail_policy_reports_exhaustion_with_the_pool_and_its_capacity() {
    let pool = pool(2);
    let held = [pool.rent().unwrap().freeze(), pool.rent().unwrap().freeze()];
    let error = pool.rent().unwrap_err();
    assert_eq!(error, PoolExhausted { pool: "test-pool".to_owned(), capacity: 2 });
    assert_eq!(error.to_string(), "buffer pool `test-pool` is exhausted (2 buffers in use)");
    drop(held);
    assert!(pool.rent().is_ok(), "a returned slab can be rented again");
}

#[test]
fn the_wait_policy_gets_a_slab_returned_by_another_thread() {
    let config = PoolConfig::default()
        .slab_size(64)
        .max_slabs(1)
        .exhaustion(Exhaustion::Wait { timeout: Duration::from_secs(60) });
    let pool = SlabPool::new("waiting", config);
    let frame = pool.rent().unwrap().freeze().slice(0..0);
    let (release, released) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        released.recv().unwrap();
        drop(frame); // the slab goes back from this thread
    });
    release.send(()).unwrap();
    let slab = pool.rent().expect("the rental waits for the other thread's return");
    holder.join().unwrap();
    drop(slab);
    assert_eq!(pool.stats().rented, 2);
    assert_no_leaks(&pool);
}

#[test]
fn the_wait_policy_fails_clearly_when_nothing_can_come_back() {
    // One thread holding the only slab and renting again is the
    // single-threaded engine's situation: the wait ends in an error, not a hang.
    let config = PoolConfig::default()
        .slab_size(64)
        .max_slabs(1)
        .exhaustion(Exhaustion::Wait { timeout: Duration::from_millis(1) });
    let pool = SlabPool::new("stuck", config);
    let _held = pool.rent().unwrap();
    let error = pool.rent().unwrap_err();
    assert_eq!(error.pool, "stuck");
    assert!(pool.waits() >= 1);
    assert!(pool.try_rent().is_err(), "try_rent never waits");
}

#[test]
fn a_leak_is_an_error_naming_the_pool_and_the_count() {
    let pool = pool(4);
    let kept = [pool.rent().unwrap().freeze(), pool.rent().unwrap().freeze()];
    let leak = pool.check_leaks().unwrap_err();
    assert_eq!(leak, LeakError { pool: "test-pool".to_owned(), outstanding: 2 });
    assert_eq!(leak.to_string(), "buffer pool `test-pool` leaked 2 buffers");
    drop(kept);
    assert!(pool.check_leaks().is_ok());
}

#[test]
fn the_test_helpers_fail_a_test_on_a_leak() {
    let pool = pool(2);
    let kept = pool.rent().unwrap().freeze();
    let helper = std::panic::catch_unwind(|| assert_no_leaks(&pool));
    assert!(helper.is_err(), "assert_no_leaks panics with a slab out");

    let guarded = pool.clone();
    let guard = std::panic::catch_unwind(move || drop(LeakGuard::new(guarded)));
    assert!(guard.is_err(), "the guard panics when dropped with a slab out");
    drop(kept);
    drop(LeakGuard::new(pool));
}

#[test]
fn slices_dropped_on_other_threads_all_come_back() {
    let pool = pool(4);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let frame = pool.rent().unwrap().freeze();
            thread::spawn(move || drop(frame))
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_no_leaks(&pool);
    assert_eq!(pool.stats().returned, 4);
}

#[test]
fn extreme_pool_limits_are_errors_not_panics_or_aborts() {
    let unbounded = SlabPool::new("unbounded", PoolConfig::default().slab_size(64).max_slabs(usize::MAX));
    let slabs: Vec<_> = (0..3).map(|_| unbounded.rent().unwrap()).collect();
    assert_eq!(unbounded.stats().in_use, 3);
    drop(slabs);
    for size in [usize::MAX, usize::MAX / 2, 1 << 62] {
        let huge = SlabPool::new("huge", PoolConfig::default().slab_size(size).max_slabs(2));
        let error = huge.rent().unwrap_err();
        assert_eq!(error.pool, "huge");
        let stats = huge.stats();
        assert_eq!((stats.rented, stats.in_use, stats.high_water), (0, 0, 0), "a failed rental leaves no trace");
    }
}

//! loom models of every place where threads meet in the slab pool.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p flux-memory --release --test loom`
//! (use a separate target directory: the flag changes every crate's build).
//! Each model is small (two threads, one or two slabs) so that loom's
//! exhaustive search ends in seconds.

#![cfg(loom)]

use core::time::Duration;

use flux_core::BufferPool;
use flux_memory::{Exhaustion, PoolConfig, SlabPool};
use loom::thread;

fn pool(max_slabs: usize, exhaustion: Exhaustion) -> SlabPool {
    SlabPool::new("loom", PoolConfig::default().slab_size(8).max_slabs(max_slabs).exhaustion(exhaustion))
}

/// A slab returned from another thread while this one rents: every count
/// stays exact and the slab is reused or the rental fails cleanly.
#[test]
fn a_return_from_another_thread_races_a_rental() {
    loom::model(|| {
        let pool = pool(1, Exhaustion::Fail);
        let frame = pool.rent().unwrap().freeze();
        let returner = thread::spawn(move || drop(frame));
        let rented = pool.rent();
        returner.join().unwrap();
        let stats = pool.stats();
        match rented {
            Ok(slab) => {
                assert_eq!(stats.allocations_avoided, 1);
                assert_eq!(stats.in_use, 1);
                drop(slab);
            }
            Err(exhausted) => {
                assert_eq!(exhausted.capacity, 1);
                assert_eq!(stats.in_use, 0);
            }
        }
        let stats = pool.stats();
        assert_eq!(stats.in_use, 0);
        assert_eq!(stats.rented, stats.returned);
        assert!(stats.high_water <= 1, "the bound held");
    });
}

/// A rental waiting at the bound is woken by a return from another thread:
/// no lost wake-up, whatever the order.
#[test]
fn a_waiting_rental_is_woken_by_a_return() {
    loom::model(|| {
        let pool = pool(1, Exhaustion::Wait { timeout: Duration::from_secs(1) });
        let frame = pool.rent().unwrap().freeze();
        let returner = thread::spawn(move || drop(frame));
        let slab = pool.rent().expect("the return wakes the waiting rental");
        returner.join().unwrap();
        drop(slab);
        assert_eq!(pool.stats().in_use, 0);
        assert_eq!(pool.stats().rented, 2);
    });
}

/// Two threads each drop the last slice of a different slab at once.
#[test]
fn concurrent_returns_are_all_counted() {
    loom::model(|| {
        let pool = pool(2, Exhaustion::Fail);
        let a = pool.rent().unwrap().freeze();
        let b = pool.rent().unwrap().freeze();
        let first = thread::spawn(move || drop(a));
        let second = thread::spawn(move || drop(b));
        first.join().unwrap();
        second.join().unwrap();
        let stats = pool.stats();
        assert_eq!((stats.returned, stats.in_use), (2, 0));
        let _x = pool.rent().unwrap();
        let _y = pool.rent().unwrap();
        assert_eq!(pool.stats().allocations_avoided, 2, "both returned slabs were kept for reuse");
    });
}

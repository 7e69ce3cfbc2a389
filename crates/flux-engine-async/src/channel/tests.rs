//! The channel's unit tests: what a policy is shown, a sender watching
//! for room, and a batch waiting for a take.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use flux_core::{
    Admission, BackpressurePolicy, Channels, Cost, EdgeSpec, Envelope, Instant, Pressure, Received, StageId,
};
use flux_test::WaitWhenQueued;

use super::{Blocked, FlumeChannels, lock};
use crate::clock::RunClock;

/// A policy that admits every batch at once and keeps the pressure it
/// was shown each time.
#[derive(Clone, Debug, Default)]
struct Seen(Arc<Mutex<Vec<Pressure>>>);

impl BackpressurePolicy for Seen {
    fn name(&self) -> &'static str {
        "seen"
    }
    fn edge(&self) -> EdgeSpec {
        EdgeSpec::default()
    }
    fn admit(&mut self, _batch: usize, pressure: &Pressure, _now: Instant) -> Admission {
        lock(&self.0).push(*pressure);
        Admission::Now
    }
}

/// A policy sizing by bytes reads the weight of an envelope from the
/// batch it is offered (its costs over its length), beside what is
/// already queued: the figure a byte limit divides its room by.
#[test]
fn a_policy_is_shown_the_offered_batchs_bytes_an_envelope_and_what_is_queued() {
    let seen = Seen::default();
    let policies = BTreeMap::from([(0, Box::new(seen.clone()) as Box<dyn BackpressurePolicy>)]);
    let mut channels = FlumeChannels::new(RunClock::start(), policies, vec![StageId::from_static("before")]);
    let (mut tx, _rx) = channels.open::<u32>(0, &EdgeSpec::default());
    let weighing = |n: u32, bytes: u32| Envelope::new(n).with_cost(Cost::bytes(bytes));
    tx.send(vec![weighing(1, 30), weighing(2, 10)]);
    tx.send(vec![weighing(3, 100)]);
    let shown: Vec<_> = lock(&seen.0)
        .iter()
        .map(|p| (p.envelope_bytes, p.queued_batches, p.queued_envelopes, p.queued_bytes))
        .collect();
    assert_eq!(shown, [(20, 0, 0, 0), (100, 1, 2, 40)], "40 bytes over two envelopes, then one of 100");
}

/// A sender watching for room sees a take made on another thread while
/// it spins, and gives up after its spins when nothing is taken.
#[test]
fn a_sender_watching_for_room_sees_a_take_and_gives_up_without_one() {
    let mut channels = FlumeChannels::new(RunClock::start(), BTreeMap::new(), vec![StageId::from_static("before")]);
    let (mut tx, mut rx) = channels.open::<u32>(0, &EdgeSpec { capacity: 1, batch_size: 1 });
    let outlet = channels.outlets[&0].clone();
    tx.send(vec![Envelope::new(0)]);
    assert!(!outlet.room_soon(64), "nothing taken: no room");
    // Another thread takes, and sends again, until told to stop: some
    // take falls inside the watch, however the threads are scheduled.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let taking = stop.clone();
    let taker = std::thread::spawn(move || {
        let mut taken = 0_u32;
        while !taking.load(std::sync::atomic::Ordering::Acquire) {
            if let Received::Batch(_) = rx.recv() {
                taken += 1;
                tx.send(vec![Envelope::new(taken)]);
            }
        }
        taken
    });
    let seen = outlet.room_soon(u32::MAX);
    stop.store(true, std::sync::atomic::Ordering::Release);
    assert!(seen, "a take is seen while watching");
    assert!(taker.join().expect("the taker ends") > 0);
}

/// A batch told to wait for room goes in on the receiver's next take,
/// while the batch ahead of it is still queued: not only once the
/// channel has emptied.
#[test]
fn a_batch_waiting_for_a_take_goes_in_on_the_next_take_not_once_the_channel_is_empty() {
    // Two batches in at once, a third waits for a take.
    let two_deep = WaitWhenQueued::beyond(1);
    let policies = BTreeMap::from([(0, Box::new(two_deep) as Box<dyn BackpressurePolicy>)]);
    let mut channels = FlumeChannels::new(RunClock::start(), policies, vec![StageId::from_static("before")]);
    let (mut tx, mut rx) = channels.open::<u32>(0, &two_deep.edge());
    let outlet = channels.outlets[&0].clone();
    for n in 1..=3 {
        tx.send(vec![Envelope::new(n)]);
    }
    assert!(outlet.has_pending(), "the third found two queued");
    assert_eq!(outlet.push_pending(), Some(Blocked::Room), "no take yet");
    let Received::Batch(first) = rx.recv() else { panic!("the first batch is queued") };
    assert_eq!(*first[0].payload(), 1);
    assert_eq!(outlet.push_pending(), None, "one take lets it in, the second still queued");
    assert_eq!(outlet.stats().max_depth, 2);
    let mut rest = Vec::new();
    while let Received::Batch(batch) = rx.recv() {
        rest.extend(batch.iter().map(|envelope| *envelope.payload()));
    }
    assert_eq!(rest, [2, 3]);
}

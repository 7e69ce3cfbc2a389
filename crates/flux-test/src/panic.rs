//! User code that panics at a chosen call: in a closure, a source, a sink
//! or an accumulator.

use std::error::Error;

use bytes::Bytes;
use flux_core::{
    Accumulator, Completeness, Context, EmitReason, Envelope, Pull, Sink, Source, SourceError, Undelivered, WriteError,
};

/// Counts calls and panics at a chosen one: put it in any closure.
///
/// # Examples
///
/// ```
/// use flux_test::Tripwire;
///
/// let mut trip = Tripwire::at(2);
/// let mut double = move |n: u32| { trip.check(); n * 2 };
/// assert_eq!(double(1), 2);
/// assert_eq!(double(2), 4);
/// let third = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| double(3)));
/// assert!(third.is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tripwire {
    at: u64,
    calls: u64,
}

impl Tripwire {
    /// Panics on call `at`, counting from zero.
    pub fn at(at: u64) -> Self {
        Tripwire { at, calls: 0 }
    }

    /// Counts a call; panics if it is the chosen one.
    ///
    /// # Panics
    ///
    /// On the chosen call, with the message `tripwire at call N`.
    pub fn check(&mut self) {
        let call = self.calls;
        self.calls += 1;
        if call == self.at {
            panic!("tripwire at call {call}");
        }
    }

    /// Calls counted so far.
    pub fn calls(&self) -> u64 {
        self.calls
    }
}

/// A source that panics on a chosen call to `pull`.
#[derive(Debug)]
pub struct PanicOnPull<S> {
    source: S,
    trip: Tripwire,
}

impl<S> PanicOnPull<S> {
    /// Wraps `source`; pull number `at` (from zero) panics.
    pub fn new(source: S, at: u64) -> Self {
        PanicOnPull { source, trip: Tripwire::at(at) }
    }
}

impl<S: Source> Source for PanicOnPull<S> {
    type Item = S::Item;

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<S::Item>, SourceError> {
        self.trip.check();
        self.source.pull(cx)
    }
}

/// A sink that panics on a chosen call to `write`.
#[derive(Debug)]
pub struct PanicOnWrite<K> {
    sink: K,
    trip: Tripwire,
}

impl<K> PanicOnWrite<K> {
    /// Wraps `sink`; write number `at` (from zero) panics.
    pub fn new(sink: K, at: u64) -> Self {
        PanicOnWrite { sink, trip: Tripwire::at(at) }
    }
}

impl<T, K: Sink<T>> Sink<T> for PanicOnWrite<K> {
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.trip.check();
        self.sink.write(item, cx)
    }

    fn close(&mut self, cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        self.sink.close(cx)
    }

    fn take_undelivered(&mut self, into: &mut Vec<Undelivered>) {
        self.sink.take_undelivered(into);
    }

    fn has_news(&self) -> bool {
        self.sink.has_news()
    }

    fn take_stop(&mut self) -> Option<Box<dyn Error + Send + Sync>> {
        self.sink.take_stop()
    }

    fn held(&self) -> u64 {
        self.sink.held()
    }
}

/// An accumulator that panics on a chosen call to `merge`, and otherwise
/// does what the one it wraps does.
#[derive(Debug)]
pub struct PanicOnMerge<A> {
    acc: A,
    trip: Tripwire,
}

impl<A> PanicOnMerge<A> {
    /// Wraps `acc`; merge number `at` (from zero) panics.
    pub fn new(acc: A, at: u64) -> Self {
        PanicOnMerge { acc, trip: Tripwire::at(at) }
    }
}

impl<A: Accumulator> Accumulator for PanicOnMerge<A> {
    type Fragment = A::Fragment;
    type State = A::State;
    type Output = A::Output;

    fn open(&mut self, key: &Bytes) -> A::State {
        self.acc.open(key)
    }

    fn merge(
        &mut self,
        state: &mut A::State,
        fragment: Envelope<A::Fragment>,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        self.trip.check();
        self.acc.merge(state, fragment)
    }

    fn completeness(&self, state: &A::State) -> Completeness {
        self.acc.completeness(state)
    }

    fn close(&mut self, key: Bytes, state: A::State, reason: EmitReason) -> A::Output {
        self.acc.close(key, state, reason)
    }

    fn state_bytes(&self, state: &A::State) -> usize {
        self.acc.state_bytes(state)
    }

    fn closes_group(&self, fragment: &Envelope<A::Fragment>) -> bool {
        self.acc.closes_group(fragment)
    }

    fn starts_group(&self, fragment: &Envelope<A::Fragment>) -> bool {
        self.acc.starts_group(fragment)
    }

    fn completes_all(&self, fragment: &Envelope<A::Fragment>) -> Option<flux_core::CompleteAll> {
        self.acc.completes_all(fragment)
    }

    fn max_items_for(&self, state: &A::State) -> Option<u64> {
        self.acc.max_items_for(state)
    }

    fn max_bytes_for(&self, state: &A::State) -> Option<u64> {
        self.acc.max_bytes_for(state)
    }

    fn ttl_for(&self, state: &A::State) -> Option<core::time::Duration> {
        self.acc.ttl_for(state)
    }

    fn linger_for(&self, state: &A::State) -> Option<core::time::Duration> {
        self.acc.linger_for(state)
    }

    fn encode_state(&self, state: &A::State, out: &mut Vec<u8>) -> bool {
        self.acc.encode_state(state, out)
    }

    fn decode_state(&mut self, key: &Bytes, encoded: &[u8]) -> Result<A::State, Box<dyn Error + Send + Sync>> {
        self.acc.decode_state(key, encoded)
    }
}

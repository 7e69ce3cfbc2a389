//! User code that panics at a chosen call: in a closure, a source, a sink
//! or an accumulator.

use std::error::Error;

use bytes::Bytes;
use core::task::Poll;

use flux_core::{
    Accumulator, Completeness, Context, EmitReason, EngineHint, Envelope, Instant, Pull, Sink, Source, SourceError,
    Undelivered, WriteError,
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

    // The rest is the wrapped source's own: wrapping it for a fault test
    // must change nothing but the chosen pull (its segment, its lifecycle).
    fn engine_hint(&self) -> EngineHint {
        self.source.engine_hint()
    }

    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SourceError>> {
        self.source.poll_open(cx)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SourceError>> {
        self.source.poll_close(cx)
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

    // The rest is the wrapped sink's own: wrapping it for a fault test
    // must change nothing but the chosen write.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Box<dyn Error + Send + Sync>>> {
        self.sink.poll_open(cx)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Box<dyn Error + Send + Sync>>> {
        self.sink.poll_close(cx)
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.sink.next_deadline()
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.sink.on_time(cx);
    }

    fn engine_hint(&self) -> EngineHint {
        self.sink.engine_hint()
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

#[cfg(test)]
mod tests {
    use flux_core::Instant;

    use super::*;
    use crate::{Diverted, IterSource, VecSink};

    /// A source or sink that asks for its own thread, is slow to open and
    /// close (one `Pending` each), and counts the calls.
    #[derive(Debug)]
    struct Lifecycle<W> {
        wrapped: W,
        opens: u32,
        closes: u32,
        timed: u32,
    }

    fn counting<W>(wrapped: W) -> Lifecycle<W> {
        Lifecycle { wrapped, opens: 0, closes: 0, timed: 0 }
    }

    fn twice(calls: &mut u32) -> Poll<()> {
        *calls += 1;
        if *calls == 1 { Poll::Pending } else { Poll::Ready(()) }
    }

    impl<S: Source> Source for Lifecycle<S> {
        type Item = S::Item;

        fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<S::Item>, SourceError> {
            self.wrapped.pull(cx)
        }

        fn engine_hint(&self) -> EngineHint {
            EngineHint::Isolate
        }

        fn poll_open(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), SourceError>> {
            twice(&mut self.opens).map(Ok)
        }

        fn poll_close(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), SourceError>> {
            twice(&mut self.closes).map(Ok)
        }
    }

    impl<T, K: Sink<T>> Sink<T> for Lifecycle<K> {
        fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError> {
            self.wrapped.write(item, cx)
        }

        fn poll_open(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Box<dyn Error + Send + Sync>>> {
            twice(&mut self.opens).map(Ok)
        }

        fn poll_close(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Box<dyn Error + Send + Sync>>> {
            twice(&mut self.closes).map(Ok)
        }

        fn next_deadline(&self) -> Option<Instant> {
            Some(Instant::from_secs(7))
        }

        fn on_time(&mut self, _cx: &mut Context<'_>) {
            self.timed += 1;
        }

        fn engine_hint(&self) -> EngineHint {
            EngineHint::Blocking
        }
    }

    #[test]
    fn a_source_wrapped_to_panic_keeps_its_hint_and_its_lifecycle() {
        let mut diverted = Diverted::default();
        let mut cx = Context::new(Instant::ZERO, &mut diverted);
        let mut source = PanicOnPull::new(counting(IterSource::new(0..3u8)), 9);
        assert_eq!(source.engine_hint(), EngineHint::Isolate);
        assert!(source.poll_open(&mut cx).is_pending());
        assert!(matches!(source.poll_open(&mut cx), Poll::Ready(Ok(()))));
        assert!(source.poll_close(&mut cx).is_pending());
        assert!(matches!(source.poll_close(&mut cx), Poll::Ready(Ok(()))));
        assert_eq!((source.source.opens, source.source.closes), (2, 2));
        assert!(matches!(source.pull(&mut cx), Ok(Pull::Item(item)) if *item.payload() == 0));
    }

    #[test]
    fn a_sink_wrapped_to_panic_keeps_its_hint_its_timer_and_its_lifecycle() {
        let mut diverted = Diverted::default();
        let mut cx = Context::new(Instant::ZERO, &mut diverted);
        let out = VecSink::new();
        let mut sink = PanicOnWrite::new(counting(out.clone()), 9);
        assert_eq!(Sink::<u8>::engine_hint(&sink), EngineHint::Blocking);
        assert_eq!(Sink::<u8>::next_deadline(&sink), Some(Instant::from_secs(7)));
        Sink::<u8>::on_time(&mut sink, &mut cx);
        assert!(Sink::<u8>::poll_open(&mut sink, &mut cx).is_pending());
        assert!(matches!(Sink::<u8>::poll_open(&mut sink, &mut cx), Poll::Ready(Ok(()))));
        assert!(Sink::<u8>::poll_close(&mut sink, &mut cx).is_pending());
        assert!(matches!(Sink::<u8>::poll_close(&mut sink, &mut cx), Poll::Ready(Ok(()))));
        assert_eq!((sink.sink.opens, sink.sink.closes, sink.sink.timed), (2, 2, 1));
        sink.write(Envelope::new(5u8), &mut cx).unwrap();
        assert_eq!(out.payloads(), [5]);
    }
}

//! The fan-in source: its inputs, their next items, and the two orders.

use core::fmt;

use flux_core::{Context, EngineHint, Envelope, Instant, Position, Pull, Rejected, Source, SourceError};

use crate::FromSource;

/// An item and the index of the source it came from (in the order the
/// sources were added to the [`FanIn`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The source's index.
    pub source: usize,
    /// The item, as the source made it.
    pub item: T,
}

/// The order in which a [`FanIn`] takes its sources' items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Order {
    /// Each source in turn, skipping one that waits.
    AsReady,
    /// The earliest event time among the sources' next items first; an
    /// item with no event time counts as the earliest. Ties go to the
    /// source added first.
    ByEventTime,
}

/// Several sources of one item type as one source: see the
/// [crate documentation](crate).
pub struct FanIn<T> {
    inputs: Vec<Input<T>>,
    order: Order,
    /// The sequence the next item gets: unique across every source.
    next_sequence: u64,
    /// The source `AsReady` asks first.
    turn: usize,
}

struct Input<T> {
    source: Box<dyn Source<Item = T>>,
    /// The item it made that is not out yet (`ByEventTime` only).
    head: Option<Envelope<T>>,
    state: State,
}

/// What one source gave when asked (a wait or the end is noted in its
/// state).
enum Got<T> {
    Item(Envelope<T>),
    Rejected(Rejected),
    /// The source asked for what was made to be sent on ([`Pull::Flush`]):
    /// the fan-in asks the same of the engine.
    Flush,
    Nothing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    WaitingUntil(Instant),
    /// It said `Pull::Pending`: it holds the pull's waker, and is asked
    /// again on the next pull (the engine pulls again once woken).
    Pending,
    Ended,
}

impl<T: 'static> FanIn<T> {
    /// A fan-in that takes items as its sources have them.
    pub fn as_ready() -> Self {
        FanIn::new(Order::AsReady)
    }

    /// A fan-in that merges its sources in event-time order.
    pub fn by_event_time() -> Self {
        FanIn::new(Order::ByEventTime)
    }

    /// A fan-in with the given order and no sources yet.
    pub fn new(order: Order) -> Self {
        FanIn { inputs: Vec::new(), order, next_sequence: 0, turn: 0 }
    }

    /// Adds a source; its items come out with the next index (0 first).
    #[must_use]
    pub fn source(mut self, source: impl Source<Item = T> + 'static) -> Self {
        self.inputs.push(Input { source: Box::new(source), head: None, state: State::Open });
        self
    }

    /// How many sources there are.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether no source was added.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    fn sourced(&mut self, source: usize, item: Envelope<T>) -> Envelope<Sourced<T>> {
        let (item, mut meta, cost) = item.into_parts();
        meta.sequence = self.take_sequence();
        Envelope::from_parts(Sourced { source, item }, meta, cost)
    }

    fn take_sequence(&mut self) -> u64 {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        sequence
    }

    fn rejected(&mut self, source: usize, rejected: Rejected) -> Pull<Sourced<T>> {
        let Rejected { mut meta, position, cause } = rejected;
        meta.sequence = self.take_sequence();
        Pull::Rejected(Rejected { meta, position, cause: Box::new(FromSource { source, cause }) })
    }

    /// Asks input `index` for its next item, noting when it waits or ends.
    fn pull_from(&mut self, index: usize, cx: &mut Context<'_>) -> Result<Got<T>, SourceError> {
        let input = &mut self.inputs[index];
        let from_source =
            |position, cause| SourceError { position, cause: Box::new(FromSource { source: index, cause }) };
        let pulled = input.source.pull(cx).map_err(|SourceError { position, cause }| from_source(position, cause))?;
        let (state, got) = match pulled {
            Pull::Item(item) => (State::Open, Got::Item(item)),
            Pull::Rejected(rejected) => (State::Open, Got::Rejected(rejected)),
            Pull::Flush => (State::Open, Got::Flush),
            Pull::Wait(until) => (State::WaitingUntil(until), Got::Nothing),
            Pull::Pending => (State::Pending, Got::Nothing),
            Pull::End => (State::Ended, Got::Nothing),
            // Loud, not lost: a kind of pull added to the kernel later must
            // be taught here before it can pass.
            _ => {
                let position = Position::Sequence(self.next_sequence);
                return Err(from_source(position, "a kind of pull the fan-in does not know".into()));
            }
        };
        input.state = state;
        Ok(got)
    }

    /// Whether input `index` can be asked now.
    fn ready(&self, index: usize, now: Instant) -> bool {
        match self.inputs[index].state {
            State::Open | State::Pending => true,
            State::WaitingUntil(until) => until <= now,
            State::Ended => false,
        }
    }

    /// What to say when no input is ready: the end once all ended, else
    /// the earliest time one of them waits for, else (one waits to be
    /// woken) pending. A timed wait goes first: the engine asks again at
    /// that time, and a woken input is then asked too.
    fn nothing_ready(&self) -> Pull<Sourced<T>> {
        let idle = self.inputs.iter().filter(|input| input.head.is_none());
        let wake = idle
            .clone()
            .filter_map(|input| match input.state {
                State::WaitingUntil(until) => Some(until),
                State::Open | State::Pending | State::Ended => None,
            })
            .min();
        match wake {
            Some(until) => Pull::Wait(until),
            None if idle.clone().any(|input| input.state == State::Pending) => Pull::Pending,
            None => Pull::End,
        }
    }

    fn pull_as_ready(&mut self, cx: &mut Context<'_>) -> Result<Pull<Sourced<T>>, SourceError> {
        let count = self.inputs.len();
        for step in 0..count {
            let index = (self.turn + step) % count;
            if !self.ready(index, cx.now()) {
                continue;
            }
            match self.pull_from(index, cx)? {
                Got::Item(item) => {
                    self.turn = index + 1;
                    return Ok(Pull::Item(self.sourced(index, item)));
                }
                Got::Rejected(rejected) => {
                    self.turn = index + 1;
                    return Ok(self.rejected(index, rejected));
                }
                Got::Flush => {
                    // Still its turn: it has made nothing yet.
                    self.turn = index;
                    return Ok(Pull::Flush);
                }
                Got::Nothing => {}
            }
        }
        Ok(self.nothing_ready())
    }

    fn pull_by_event_time(&mut self, cx: &mut Context<'_>) -> Result<Pull<Sourced<T>>, SourceError> {
        // Every input that can still make an item must show its next one:
        // only then is the earliest known. Each is asked once per pull, so
        // one that waits for the current instant cannot spin here (the
        // engine sees the wait, and stops a source stuck on it).
        for index in 0..self.inputs.len() {
            if self.inputs[index].head.is_none() && self.ready(index, cx.now()) {
                match self.pull_from(index, cx)? {
                    Got::Item(item) => self.inputs[index].head = Some(item),
                    Got::Rejected(rejected) => return Ok(self.rejected(index, rejected)),
                    Got::Flush => return Ok(Pull::Flush),
                    Got::Nothing => {}
                }
            }
        }
        let waiting = self.inputs.iter().any(|input| input.head.is_none() && input.state != State::Ended);
        if waiting {
            return Ok(self.nothing_ready());
        }
        let earliest = self
            .inputs
            .iter()
            .enumerate()
            .filter_map(|(index, input)| input.head.as_ref().map(|head| (head.meta().event_time, index)))
            .min();
        let Some((_, index)) = earliest else { return Ok(Pull::End) };
        let item = self.inputs[index].head.take().expect("the earliest input has a head");
        Ok(Pull::Item(self.sourced(index, item)))
    }
}

impl<T: Send + 'static> Source for FanIn<T> {
    type Item = Sourced<T>;

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<Sourced<T>>, SourceError> {
        match self.order {
            Order::AsReady => self.pull_as_ready(cx),
            Order::ByEventTime => self.pull_by_event_time(cx),
        }
    }

    /// The strongest of its sources' hints: it pulls from all of them on
    /// one thread, so one source that asks for a thread because its pulls
    /// block holds up them all, and one that works hard (decompressing) is
    /// work for the whole segment.
    fn engine_hint(&self) -> EngineHint {
        self.inputs.iter().map(|input| input.source.engine_hint()).fold(EngineHint::Any, |strongest, hint| {
            match (strongest, hint) {
                (EngineHint::Blocking, _) | (_, EngineHint::Blocking) => EngineHint::Blocking,
                (EngineHint::Isolate, _) | (_, EngineHint::Isolate) => EngineHint::Isolate,
                // `Any` gives way to any other hint, one added later too.
                (EngineHint::Any, other) => other,
                (strongest, _) => strongest,
            }
        })
    }
}

impl<T> fmt::Debug for FanIn<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanIn")
            .field("sources", &self.inputs.len())
            .field("order", &self.order)
            .field("next_sequence", &self.next_sequence)
            .finish_non_exhaustive()
    }
}

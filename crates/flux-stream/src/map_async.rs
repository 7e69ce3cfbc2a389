//! `map_async`: a stage whose transform is a future, with up to `limit`
//! of them in flight at once, all of them polled whenever one wakes.

use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::collections::VecDeque;

use flux_core::{
    Chain, Context, Cost, Envelope, ErrorEnvelope, Instant, Layer, LedgerVisitor, Lifecycle, Meta, Panicked, Pipeline,
    Position, Purity, Push, Source, Stack, StageDescriptor, StageError, StageId, StageKind, catch_panic, earliest,
};

use crate::flow::Env;
use crate::outcome::{AsIs, OkOrDeadLetter, Outcome};

/// What an async map calls for each input: a closure of the input alone
/// ([`Plain`], from `map_async`) or of the input and the stage's
/// environment ([`WithEnv`], from `map_flow`).
pub trait AsyncTransform<In>: Send + 'static {
    /// The future it makes.
    type Future: Future + Send + 'static;
    /// Makes the future for `input`.
    fn call(&mut self, input: In, env: &Env) -> Self::Future;
}

/// A transform of the input alone.
#[derive(Clone, Copy, Debug)]
pub struct Plain<F>(pub F);

impl<In, F, Fut> AsyncTransform<In> for Plain<F>
where
    F: FnMut(In) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
{
    type Future = Fut;
    fn call(&mut self, input: In, _env: &Env) -> Fut {
        (self.0)(input)
    }
}

/// A transform of the input and the stage's [`Env`].
#[derive(Clone, Copy, Debug)]
pub struct WithEnv<F>(pub F);

impl<In, F, Fut> AsyncTransform<In> for WithEnv<F>
where
    F: FnMut(In, &Env) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
{
    type Future = Fut;
    fn call(&mut self, input: In, env: &Env) -> Fut {
        (self.0)(input, env)
    }
}
use futures_util::stream::{FuturesUnordered, StreamExt};

/// In which order an async map passes its results on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// The inputs' order: a result that is ready before an earlier input's
    /// waits for it (and counts against the limit meanwhile, as in
    /// `futures`' `buffered`).
    Input,
    /// As the futures complete.
    Completion,
}

/// The layer built by [`AsyncSteps::map_async`] and
/// [`AsyncSteps::map_async_unordered`].
pub struct MapAsync<F, In, R = AsIs> {
    f: F,
    env: Env,
    id: StageId,
    limit: usize,
    order: Order,
    _in: PhantomData<fn(In)>,
    _outcome: PhantomData<fn() -> R>,
}

impl<F, In, R> core::fmt::Debug for MapAsync<F, In, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MapAsync")
            .field("id", &self.id)
            .field("limit", &self.limit)
            .field("order", &self.order)
            .finish()
    }
}

impl<F, In, R> Layer<In> for MapAsync<F, In, R>
where
    F: AsyncTransform<In>,
    R: Outcome<<F::Future as Future>::Output>,
    <F::Future as Future>::Output: Send + 'static,
    R::Out: Send + 'static,
    In: Send + 'static,
{
    type Out = R::Out;
    type Node<D: Push<Self::Out> + 'static> = MapAsyncNode<F, In, F::Future, D, R>;

    fn descriptor(&self) -> StageDescriptor {
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Pure)
            .with_types(core::any::type_name::<In>(), core::any::type_name::<Self::Out>())
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<Self::Out> + 'static>(self, next: D) -> MapAsyncNode<F, In, F::Future, D, R> {
        MapAsyncNode {
            f: self.f,
            env: self.env,
            id: self.id,
            limit: self.limit,
            order: self.order,
            waiting: VecDeque::new(),
            flight: FuturesUnordered::new(),
            started: 0,
            released: 0,
            finished: VecDeque::new(),
            next,
            _outcome: PhantomData,
        }
    }
}

pin_project_lite::pin_project! {
    /// One input's future, with what its output needs besides: the input's
    /// metadata and cost, and its number among the started inputs (the
    /// order results go out in, under [`Order::Input`]).
    struct InFlight<Fut> {
        #[pin]
        future: Fut,
        meta: Option<Meta>,
        cost: Cost,
        number: u64,
    }
}

/// A future's outcome: its output, or the panic that unwound out of its
/// `poll`, settled where it happened.
struct Finished<T> {
    meta: Meta,
    cost: Cost,
    number: u64,
    output: Result<T, Panicked>,
}

impl<Fut: Future> Future for InFlight<Fut> {
    type Output = Finished<Fut::Output>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = match catch_panic(|| this.future.poll(task)) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(panic) => Err(panic),
        };
        let meta = this.meta.take().expect("a future in flight completes once");
        Poll::Ready(Finished { meta, cost: *this.cost, number: *this.number, output })
    }
}

/// The node of an async map.
///
/// Inputs start as they arrive, up to the limit; the rest wait their turn
/// in the node, and the node tells the engine to push nothing more until
/// there is room (`Lifecycle::Accept`), so it holds at most one step's
/// inputs beyond the limit. Every future in flight is polled whenever the
/// engine polls the node (`Lifecycle::Settle`): after each step, and each
/// time one of them wakes the segment, also while the segment waits for
/// room downstream. That is the difference from `futures`' `buffered`,
/// whose futures stand still while its consumer is busy.
///
/// A future that panics makes its input a dead letter and stops the run,
/// as a panicking `map` does. Inputs still in flight when a run stops at
/// once are dead letters too, with a cause that says so: nothing the node
/// held is lost.
pub struct MapAsyncNode<F, In, Fut: Future, D, R = AsIs> {
    f: F,
    /// The futures' clock and timers: the node sets its time before each
    /// call into them and reports its timers as its own deadlines.
    env: Env,
    id: StageId,
    limit: usize,
    order: Order,
    /// Inputs not started yet, in arrival order.
    waiting: VecDeque<Envelope<In>>,
    flight: FuturesUnordered<InFlight<Fut>>,
    /// How many inputs were started: the next one's number.
    started: u64,
    /// Under `Order::Input`, the number of the next result to go out.
    released: u64,
    /// Under `Order::Input`, results that completed before an earlier
    /// input's, at their place counted from `released`.
    finished: VecDeque<Option<Finished<Fut::Output>>>,
    next: D,
    _outcome: PhantomData<fn() -> R>,
}

impl<F, In, Fut: Future, D, R> core::fmt::Debug for MapAsyncNode<F, In, Fut, D, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MapAsyncNode")
            .field("id", &self.id)
            .field("limit", &self.limit)
            .field("waiting", &self.waiting.len())
            .field("in_flight", &self.flight.len())
            .finish_non_exhaustive()
    }
}

impl<F, In, Fut, D, R> MapAsyncNode<F, In, Fut, D, R>
where
    F: AsyncTransform<In, Future = Fut>,
    Fut: Future,
    R: Outcome<Fut::Output>,
    D: Push<R::Out>,
{
    /// How many more inputs may start now: the limit counts what is in
    /// flight and, in input order, what waits for an earlier result.
    fn room(&self) -> usize {
        let held = match self.order {
            Order::Input => usize::try_from(self.started - self.released).unwrap_or(usize::MAX),
            Order::Completion => self.flight.len(),
        };
        self.limit.saturating_sub(held)
    }

    /// Starts waiting inputs while there is room. A transform that panics
    /// before it returns its future settles its input here.
    fn start_waiting(&mut self, cx: &mut Context<'_>) {
        while self.room() > 0 {
            let Some(input) = self.waiting.pop_front() else { return };
            let (payload, meta, cost) = input.into_parts();
            let (f, env) = (&mut self.f, &self.env);
            match catch_panic(|| f.call(payload, env)) {
                Ok(future) => {
                    let number = self.started;
                    self.started += 1;
                    self.flight.push(InFlight { future, meta: Some(meta), cost, number });
                }
                Err(panic) => cx.divert_panic(&self.id, meta, panic),
            }
        }
    }

    /// Polls every future that woke, starting waiting inputs as room
    /// frees, and passes what completed on.
    fn progress(&mut self, cx: &mut Context<'_>) {
        self.env.advance_to(cx.now());
        let waker = cx.waker().clone();
        let mut task = TaskContext::from_waker(&waker);
        loop {
            self.start_waiting(cx);
            match self.flight.poll_next_unpin(&mut task) {
                Poll::Ready(Some(done)) => self.complete(done, cx),
                Poll::Ready(None) | Poll::Pending => return,
            }
        }
    }

    fn complete(&mut self, done: Finished<Fut::Output>, cx: &mut Context<'_>) {
        if self.order == Order::Completion {
            return self.release(done, cx);
        }
        let place = usize::try_from(done.number - self.released).expect("within the limit");
        if self.finished.len() <= place {
            self.finished.resize_with(place + 1, || None);
        }
        self.finished[place] = Some(done);
        while let Some(Some(_)) = self.finished.front() {
            let next = self.finished.pop_front().flatten().expect("just seen");
            self.released += 1;
            self.release(next, cx);
        }
    }

    fn release(&mut self, done: Finished<Fut::Output>, cx: &mut Context<'_>) {
        match done.output.map(R::settle) {
            // Pushed isolated: a panic after this node, raised while the
            // engine polls the futures (not inside a step), is settled at
            // the node it came from, and what this node holds stays whole.
            Ok(Ok(output)) => {
                flux_core::push_isolated(&mut self.next, Envelope::from_parts(output, done.meta, done.cost), cx)
            }
            Ok(Err(cause)) => {
                let error = StageError::new(self.id.clone(), Position::Sequence(done.meta.sequence), cause);
                cx.dead_letter(ErrorEnvelope { meta: done.meta, error });
            }
            Err(panic) => cx.divert_panic(&self.id, done.meta, panic),
        }
    }

    /// Every input the node still holds, as dead letters: the run stopped
    /// before their futures completed.
    fn abandon(&mut self, cx: &mut Context<'_>) {
        let mut metas: Vec<Meta> = self.waiting.drain(..).map(|input| input.into_parts().1).collect();
        for in_flight in Pin::new(&mut self.flight).iter_pin_mut() {
            metas.extend(in_flight.project().meta.take());
        }
        self.flight.clear();
        metas.extend(self.finished.drain(..).flatten().map(|done| done.meta));
        for meta in metas {
            let position = Position::Sequence(meta.sequence);
            let error = StageError::new(self.id.clone(), position, Abandoned);
            cx.dead_letter(ErrorEnvelope { meta, error });
        }
    }
}

/// The cause of a dead letter whose future was still in flight when the
/// run stopped at once.
#[derive(Debug)]
struct Abandoned;

impl core::fmt::Display for Abandoned {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the run stopped before this input's future completed")
    }
}

impl std::error::Error for Abandoned {}

impl<F, In, Fut, D, R> Push<In> for MapAsyncNode<F, In, Fut, D, R>
where
    F: AsyncTransform<In, Future = Fut>,
    In: Send,
    Fut: Future + Send,
    Fut::Output: Send,
    R: Outcome<Fut::Output>,
    D: Push<R::Out>,
{
    /// Starts the input's future if there is room, or keeps it waiting;
    /// the engine polls the futures once the step is over.
    fn push(&mut self, item: Envelope<In>, cx: &mut Context<'_>) {
        self.env.advance_to(cx.now());
        self.waiting.push_back(item);
        self.start_waiting(cx);
    }

    /// Wakes the futures whose timers are due (the engine polls them
    /// next, through `Lifecycle::Settle`), then forwards the call.
    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.env.advance_to(cx.now());
        self.next.on_time(cx);
    }

    /// The futures' earliest timer, also at the end of input: a retry's
    /// wait is work in flight, which the engine waits for.
    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        earliest(self.env.next_timer(), self.next.next_deadline(at_end))
    }

    /// The engine settled the node before (nothing is held), unless the
    /// run stopped at once: then what is held becomes dead letters.
    fn finish(&mut self, cx: &mut Context<'_>) {
        self.progress(cx);
        self.abandon(cx);
        self.next.finish(cx);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.next.visit(visitor);
    }

    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        let own = match phase {
            Lifecycle::Open | Lifecycle::Close => true,
            Lifecycle::Accept => {
                self.progress(cx);
                self.waiting.is_empty() && self.room() > 0
            }
            Lifecycle::Settle => {
                self.progress(cx);
                self.waiting.is_empty() && self.flight.is_empty() && self.finished.is_empty()
            }
        };
        // The nodes after this one progress too, whatever this one answers.
        let rest = self.next.poll_lifecycle(phase, cx)?;
        if own { rest.map(Ok) } else { Poll::Pending }
    }
}

/// The pipeline `Pipeline<S, C>` becomes once an async map calling `T` is
/// added.
type Then<S, C, T, R = AsIs> = Pipeline<S, Stack<C, MapAsync<T, <C as Chain<<S as Source>::Item>>::Out, R>>>;

/// Async steps, as methods of a [`Pipeline`].
pub trait AsyncSteps<S: Source, C: Chain<S::Item>>: Sized {
    /// Transforms each payload with a future, up to `limit` of them in
    /// flight at once, passing results on in the inputs' order.
    ///
    /// Every future in flight keeps being polled while the stage waits
    /// for its next input or for room downstream, so a slow consumer
    /// does not stall the requests already made. Runs on both engines: on
    /// the sync engine the thread blocks, with virtual time standing
    /// still, while nothing else can run and a future is pending (so use
    /// futures that need no runtime there, such as a channel's).
    ///
    /// # Panics
    ///
    /// If `limit` is zero.
    fn map_async<F, Fut>(self, limit: usize, f: F) -> Then<S, C, Plain<F>>
    where
        F: FnMut(C::Out) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static;

    /// As [`AsyncSteps::map_async`], with the stage's [`Env`] given to
    /// each call: the engine's clock, timers on it ([`Env::sleep`],
    /// [`Env::timeout`], [`Env::retry`]) and a seeded generator. Waits are
    /// on the engine's clock, so on the sync engine a retry's thirty-second
    /// backoff takes no real time and lands to the nanosecond.
    ///
    /// # Panics
    ///
    /// If `limit` is zero.
    fn map_flow<F, Fut>(self, limit: usize, env: Env, f: F) -> Then<S, C, WithEnv<F>>
    where
        F: FnMut(C::Out, &Env) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static;

    /// As [`AsyncSteps::map_async`], passing results on as their futures
    /// complete: a slow input holds back only its own result.
    ///
    /// # Panics
    ///
    /// If `limit` is zero.
    fn map_async_unordered<F, Fut>(self, limit: usize, f: F) -> Then<S, C, Plain<F>>
    where
        F: FnMut(C::Out) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static;

    /// As [`AsyncSteps::map_async`], for futures that may fail: an `Ok`
    /// is passed on, an `Err` makes the input a dead letter of this stage
    /// (its sequence, key and trace kept, the `Err` as its cause), and the
    /// run goes on.
    ///
    /// # Panics
    ///
    /// If `limit` is zero.
    fn try_map_async<F, Fut, T, E>(self, limit: usize, f: F) -> Then<S, C, Plain<F>, OkOrDeadLetter>
    where
        F: FnMut(C::Out) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static;

    /// As [`AsyncSteps::map_flow`], for flows that may fail: an `Ok` is
    /// passed on, an `Err` (a retry that gave up, a timeout) makes the
    /// input a dead letter of this stage, whose cause keeps the error's
    /// chain. Transient errors go to the retry, permanent ones to the
    /// dead-letter output, and nothing is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use std::time::Duration;
    ///
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_stream::AsyncSteps;
    /// use flux_stream::flow::{Backoff, Env, Verdict};
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(IterSource::new(1..=3u32))
    ///     .try_map_flow(2, Env::seeded(7), |n, env| {
    ///         let permanent = |e: &io::Error| if e.kind() == io::ErrorKind::NotFound { Verdict::Permanent } else { Verdict::Transient };
    ///         env.retry(Backoff::exponential(Duration::from_secs(1), 3), permanent, move || async move {
    ///             if n == 2 { Err(io::Error::new(io::ErrorKind::NotFound, "no such order")) } else { Ok(n * 10) }
    ///         })
    ///     })
    ///     .sink(out.clone());
    /// let plan = flux_plan::Planner::new().plan(pipeline.describe()).unwrap();
    /// let report = flux_engine_sync::SyncEngine::new().run(&plan, pipeline).unwrap();
    ///
    /// assert_eq!(out.payloads(), [10, 30]);
    /// let letter = &report.dead_letters[0];
    /// assert_eq!(letter.meta.sequence, 1);
    /// assert_eq!(letter.error.to_string(), "stage `try_map_flow-1` failed at sequence 1");
    /// assert_eq!(letter.error.cause().to_string(), "gave up after 1 attempt (a permanent error): no such order");
    /// ```
    ///
    /// # Panics
    ///
    /// If `limit` is zero.
    fn try_map_flow<F, Fut, T, E>(self, limit: usize, env: Env, f: F) -> Then<S, C, WithEnv<F>, OkOrDeadLetter>
    where
        F: FnMut(C::Out, &Env) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static;
}

impl<S, C> AsyncSteps<S, C> for Pipeline<S, C>
where
    S: Source + 'static,
    S::Item: Send + 'static,
    C: Chain<S::Item>,
    C::Out: Send + 'static,
{
    fn map_async<F, Fut>(self, limit: usize, f: F) -> Then<S, C, Plain<F>>
    where
        F: FnMut(C::Out) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.layer(map_async_layer::<S, C, _, _>(limit, Plain(f), Env::seeded(0), Order::Input, "map_async"))
    }

    fn map_flow<F, Fut>(self, limit: usize, env: Env, f: F) -> Then<S, C, WithEnv<F>>
    where
        F: FnMut(C::Out, &Env) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.layer(map_async_layer::<S, C, _, _>(limit, WithEnv(f), env, Order::Input, "map_flow"))
    }

    fn map_async_unordered<F, Fut>(self, limit: usize, f: F) -> Then<S, C, Plain<F>>
    where
        F: FnMut(C::Out) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.layer(map_async_layer::<S, C, _, _>(limit, Plain(f), Env::seeded(0), Order::Completion, "map_async"))
    }

    fn try_map_async<F, Fut, T, E>(self, limit: usize, f: F) -> Then<S, C, Plain<F>, OkOrDeadLetter>
    where
        F: FnMut(C::Out) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
    {
        self.layer(map_async_layer::<S, C, _, _>(limit, Plain(f), Env::seeded(0), Order::Input, "try_map_async"))
    }

    fn try_map_flow<F, Fut, T, E>(self, limit: usize, env: Env, f: F) -> Then<S, C, WithEnv<F>, OkOrDeadLetter>
    where
        F: FnMut(C::Out, &Env) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
    {
        self.layer(map_async_layer::<S, C, _, _>(limit, WithEnv(f), env, Order::Input, "try_map_flow"))
    }
}

/// The layer, with the default id a builder step gets: its name and its
/// position.
fn map_async_layer<S: Source, C: Chain<S::Item>, F, R>(
    limit: usize,
    f: F,
    env: Env,
    order: Order,
    kind: &str,
) -> MapAsync<F, C::Out, R> {
    assert!(limit > 0, "{kind} needs room for at least one future in flight");
    let id = StageId::new(format!("{kind}-{}", C::LEN + 1));
    MapAsync { f, env, id, limit, order, _in: PhantomData, _outcome: PhantomData }
}

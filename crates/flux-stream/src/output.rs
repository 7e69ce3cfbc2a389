//! A pipeline's output as a [`Stream`]: a sink that hands each record to
//! async code through a bounded channel.

use core::fmt;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};

use std::time::Duration;

use flux_core::{Context, EngineHint, Envelope, Position, Sink, Undelivered, WriteError};
use futures_core::Stream;

/// The sink half of [`output`]: it sends each envelope into the channel,
/// blocking its thread while the channel is full, which is how the
/// consumer's pace holds the whole pipeline back.
///
/// It asks for a thread of its own ([`EngineHint::Blocking`]): the default
/// planner gives it its own segment, which the tokio engine runs off the
/// runtime's workers. On the sync engine, which runs everything on one
/// thread, consume the stream on another thread or task.
///
/// Under tokio's paused clock (`start_paused`, in tests) that thread is not
/// one the runtime waits for: the clock may jump to the next timer while
/// the thread is still handing a record on, past a timer another task has
/// just set. A test that measures time on the paused clock should end its
/// pipeline in a sink that runs as a task instead.
pub struct StreamSink<T> {
    tx: Option<flume::Sender<Envelope<T>>>,
    /// The sink's own receiver: when the consumer is gone, what it left
    /// in the channel is taken back and handed to the engine as
    /// undelivered, so it becomes dead letters instead of vanishing.
    reclaim: flume::Receiver<Envelope<T>>,
    undelivered: Vec<Undelivered>,
}

/// How long a blocked send waits before it looks whether the consumer is
/// still there.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// The stream half of [`output`]: every envelope the pipeline writes, in
/// order; it ends when the sink closes (the run's end).
pub struct OutputStream<T: 'static> {
    rx: flume::r#async::RecvStream<'static, Envelope<T>>,
}

/// A sink and the stream of what it is given, through a channel of
/// `capacity` envelopes (at least one).
///
/// If the stream is dropped before the run ends, the next write fails and
/// stops the run, naming the sink: that envelope, what the stream left in
/// the channel and what the pipeline still drains to the sink are dead
/// letters, and the source is not pulled again. (What the stream has not
/// yielded when it is dropped after the run is the consumer's to lose.)
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_engine_async::AsyncEngine;
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::IterSource;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (sink, mut records) = flux_stream::output(16);
/// let pipeline = Pipeline::from_source(IterSource::new(1..=100u32)).map(|n| n * 2).sink(sink);
/// let plan = Planner::new().plan(pipeline.describe()).unwrap();
/// let run = tokio::spawn(async move { AsyncEngine::new().run(&plan, pipeline).await });
///
/// let mut total = 0;
/// while let Some(record) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut records).poll_next(cx)).await {
///     total += record.into_payload();
/// }
/// assert_eq!(total, 10_100);
/// assert!(run.await.unwrap().is_ok());
/// # }
/// # use flux_stream::Stream;
/// ```
pub fn output<T: Send + 'static>(capacity: usize) -> (StreamSink<T>, OutputStream<T>) {
    let (tx, rx) = flume::bounded(capacity.max(1));
    let sink = StreamSink { tx: Some(tx), reclaim: rx.clone(), undelivered: Vec::new() };
    (sink, OutputStream { rx: rx.into_stream() })
}

/// Why a write failed: the stream was dropped.
#[derive(Debug)]
struct StreamDropped;

impl fmt::Display for StreamDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the output stream was dropped")
    }
}

impl std::error::Error for StreamDropped {}

impl<T> StreamSink<T> {
    /// Whether the consumer dropped the stream (only the sink's own
    /// receiver is left).
    fn consumer_gone(&self) -> bool {
        self.tx.as_ref().is_none_or(|tx| tx.receiver_count() <= 1)
    }

    /// Takes back what the gone consumer left in the channel, and closes it.
    fn reclaim(&mut self) {
        self.tx = None;
        for left in self.reclaim.try_iter() {
            let position = Position::Sequence(left.meta().sequence);
            let (_, meta, _) = left.into_parts();
            self.undelivered.push(Undelivered { meta, position, cause: Box::new(StreamDropped) });
        }
    }

    fn refuse(item: &Envelope<T>) -> WriteError {
        WriteError::new(item.meta().clone(), StreamDropped).stop_run("the output stream was dropped")
    }
}

impl<T: Send + 'static> Sink<T> for StreamSink<T> {
    fn write(&mut self, mut item: Envelope<T>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        loop {
            if self.consumer_gone() {
                self.reclaim();
                return Err(Self::refuse(&item));
            }
            let tx = self.tx.as_ref().expect("open while the consumer is there");
            match tx.send_timeout(item, LOOK_EVERY) {
                Ok(()) => return Ok(()),
                // Still full: look again whether anyone reads it.
                Err(flume::SendTimeoutError::Timeout(back) | flume::SendTimeoutError::Disconnected(back)) => {
                    item = back;
                }
            }
        }
    }

    fn engine_hint(&self) -> EngineHint {
        EngineHint::Blocking
    }

    /// Ends the stream once the consumer has taken what was sent (or
    /// takes back what a gone consumer left).
    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.consumer_gone() {
            self.reclaim();
        }
        self.tx = None;
        Ok(())
    }

    fn take_undelivered(&mut self, into: &mut Vec<Undelivered>) {
        into.append(&mut self.undelivered);
    }

    fn has_news(&self) -> bool {
        !self.undelivered.is_empty()
    }
}

impl<T: 'static> Stream for OutputStream<T> {
    type Item = Envelope<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Envelope<T>>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}

impl<T> fmt::Debug for StreamSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSink").field("open", &self.tx.is_some()).finish()
    }
}

impl<T: 'static> fmt::Debug for OutputStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputStream").finish_non_exhaustive()
    }
}

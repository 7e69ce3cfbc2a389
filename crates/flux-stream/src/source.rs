//! Sources that poll a stream.

use core::fmt;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::error::Error;

use flux_core::{Context, Envelope, Meta, Position, Pull, Rejected, Source, SourceError};
use futures_core::Stream;

/// A source that takes its items from a [`Stream`], numbering them in
/// order from 0.
///
/// The stream is polled with the engine's waker: `Pending` from the stream
/// is [`Pull::Pending`] from the source, and the end of the stream is the
/// end of the input.
pub struct StreamSource<S> {
    stream: Pin<Box<S>>,
    next_sequence: u64,
}

impl<S: Stream> StreamSource<S> {
    /// A source over `stream`.
    pub fn new(stream: S) -> Self {
        StreamSource { stream: Box::pin(stream), next_sequence: 0 }
    }

    fn poll(&mut self, cx: &Context<'_>) -> Poll<Option<(u64, S::Item)>> {
        let mut task = TaskContext::from_waker(cx.waker());
        self.stream.as_mut().poll_next(&mut task).map(|next| {
            next.map(|item| {
                let sequence = self.next_sequence;
                self.next_sequence += 1;
                (sequence, item)
            })
        })
    }
}

impl<S> Source for StreamSource<S>
where
    S: Stream + Send,
{
    type Item = S::Item;

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<S::Item>, SourceError> {
        Ok(match self.poll(cx) {
            Poll::Ready(Some((sequence, item))) => Pull::Item(Envelope::new(item).with_sequence(sequence)),
            Poll::Ready(None) => Pull::End,
            Poll::Pending => Pull::Pending,
        })
    }
}

impl<S> fmt::Debug for StreamSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSource").field("next_sequence", &self.next_sequence).finish_non_exhaustive()
    }
}

/// A source over a stream of `Result`s: each `Ok` is an item, each `Err`
/// a dead letter naming the source and the item's sequence (numbered with
/// the items, so a sequence is never reused), and the run goes on.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_stream::TryStreamSource;
/// use flux_test::VecSink;
/// # use flux_engine_sync::SyncEngine;
/// # use flux_plan::Planner;
///
/// let (tx, rx) = flume::unbounded();
/// for line in ["1", "2", "x", "4"] {
///     tx.send(line.parse::<u32>()).unwrap();
/// }
/// drop(tx);
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(TryStreamSource::new(rx.into_stream())).sink(out.clone());
/// # let plan = Planner::new().plan(pipeline.describe())?;
/// let report = SyncEngine::new().run(&plan, pipeline)?;
/// assert_eq!(out.payloads(), [1, 2, 4]);
/// assert_eq!(report.dead_letters[0].meta.sequence, 2);
/// assert_eq!(report.dead_letters[0].error.stage().as_str(), "source");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TryStreamSource<S> {
    inner: StreamSource<S>,
}

impl<S: Stream> TryStreamSource<S> {
    /// A source over `stream`.
    pub fn new(stream: S) -> Self {
        TryStreamSource { inner: StreamSource::new(stream) }
    }
}

impl<S, T, E> Source for TryStreamSource<S>
where
    S: Stream<Item = Result<T, E>> + Send,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    type Item = T;

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<T>, SourceError> {
        Ok(match self.inner.poll(cx) {
            Poll::Ready(Some((sequence, Ok(item)))) => Pull::Item(Envelope::new(item).with_sequence(sequence)),
            Poll::Ready(Some((sequence, Err(error)))) => Pull::Rejected(Rejected {
                meta: Meta { sequence, ..Meta::default() },
                position: Position::Sequence(sequence),
                cause: error.into(),
            }),
            Poll::Ready(None) => Pull::End,
            Poll::Pending => Pull::Pending,
        })
    }
}

impl<S> fmt::Debug for TryStreamSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryStreamSource").field("next_sequence", &self.inner.next_sequence).finish_non_exhaustive()
    }
}

//! Sources for tests and examples: an iterator, and timed items.

use flux_core::{Context, Envelope, Instant, Pull, Source, SourceError};

/// A source over any iterator of payloads, numbering them from zero.
///
/// # Examples
///
/// ```
/// use flux_core::Pipeline;
/// use flux_test::{IterSource, VecSink};
///
/// let sink = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(1..=3)).sink(sink.clone());
/// # let _ = pipeline;
/// ```
#[derive(Debug)]
pub struct IterSource<I> {
    iter: I,
    next_sequence: u64,
}

impl<I: Iterator> IterSource<I> {
    /// A source yielding each item of `iter` in a fresh envelope.
    pub fn new(iter: impl IntoIterator<IntoIter = I>) -> Self {
        IterSource { iter: iter.into_iter(), next_sequence: 0 }
    }
}

impl<I> Source for IterSource<I>
where
    I: Iterator + Send,
{
    type Item = I::Item;

    #[inline]
    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<I::Item>, SourceError> {
        Ok(match self.iter.next() {
            Some(item) => {
                let sequence = self.next_sequence;
                self.next_sequence += 1;
                Pull::Item(Envelope::new(item).with_sequence(sequence))
            }
            None => Pull::End,
        })
    }
}

/// A source of ready-made envelopes, each released at an engine time.
///
/// It returns [`Pull::Wait`] until an envelope's time has come, so timers
/// in between fire at exactly the right moments. Times must not decrease.
///
/// # Examples
///
/// ```
/// use flux_core::{Envelope, Instant};
/// use flux_test::TimedSource;
///
/// let source = TimedSource::new(vec![
///     (Instant::from_secs(0), Envelope::new("first")),
///     (Instant::from_secs(60), Envelope::new("a minute later")),
/// ]);
/// # let _ = source;
/// ```
#[derive(Debug)]
pub struct TimedSource<T> {
    items: std::vec::IntoIter<(Instant, Envelope<T>)>,
    held: Option<(Instant, Envelope<T>)>,
}

impl<T> TimedSource<T> {
    /// A source releasing each envelope at its instant.
    pub fn new(items: Vec<(Instant, Envelope<T>)>) -> Self {
        TimedSource { items: items.into_iter(), held: None }
    }
}

impl<T: Send> Source for TimedSource<T> {
    type Item = T;

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<T>, SourceError> {
        let Some((at, item)) = self.held.take().or_else(|| self.items.next()) else {
            return Ok(Pull::End);
        };
        if at > cx.now() {
            self.held = Some((at, item));
            return Ok(Pull::Wait(at));
        }
        Ok(Pull::Item(item))
    }
}

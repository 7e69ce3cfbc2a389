//! Sources for tests and examples: an iterator, timed items, and a
//! script of what each pull returns.

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

/// A source whose pulls return what its script says, in order, then
/// [`Pull::End`]: for tests of what an engine or a node does with each
/// answer a source can give (a flush mid-step, a wait, the end).
///
/// # Examples
///
/// ```
/// use flux_core::{Context, Envelope, Instant, Pull, Source};
/// use flux_test::{Diverted, ScriptedSource};
///
/// let mut source = ScriptedSource::new([Pull::Item(Envelope::new(7)), Pull::Flush]);
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// assert!(matches!(source.pull(&mut cx), Ok(Pull::Item(item)) if *item.payload() == 7));
/// assert!(matches!(source.pull(&mut cx), Ok(Pull::Flush)));
/// assert!(matches!(source.pull(&mut cx), Ok(Pull::End)));
/// ```
#[derive(Debug)]
pub struct ScriptedSource<T> {
    script: std::collections::VecDeque<Pull<T>>,
}

impl<T> ScriptedSource<T> {
    /// A source returning each of `script`'s answers in turn.
    pub fn new(script: impl IntoIterator<Item = Pull<T>>) -> Self {
        ScriptedSource { script: script.into_iter().collect() }
    }
}

impl<T: Send> Source for ScriptedSource<T> {
    type Item = T;

    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<T>, SourceError> {
        Ok(self.script.pop_front().unwrap_or(Pull::End))
    }
}

//! `Tap`: a look at the envelopes passing between two stages, sampled.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use flux_core::{Emit, Envelope, Meta, Stage};

/// A stage that passes every envelope on unchanged and keeps a copy of
/// every `n`th (the first, then each `n`th after it), the latest
/// `capacity` of them, for [`TapSamples`] to read while the run goes or
/// after it: what the records between two stages look like, without a
/// debugger and without a log line per record.
///
/// Put it where you want to look (`.stage(tap)`); the copies cost one
/// clone every `n`th envelope and a counter for the rest. It makes no
/// envelopes and drops none, so the ledger shows it received what it sent.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_engine_sync::SyncEngine;
/// use flux_observe::Tap;
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// let (tap, samples) = Tap::every(100).keep(3);
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(0..1_000u32)).map(|n| n * 2).stage(tap).named("look").sink(out.clone());
/// let plan = Planner::new().plan(pipeline.describe())?;
/// let _report = SyncEngine::new().run(&plan, pipeline)?;
///
/// assert_eq!(out.payloads().len(), 1_000, "everything passes");
/// let kept: Vec<(u64, u32)> = samples.latest().into_iter().map(|s| (s.meta.sequence, s.payload)).collect();
/// assert_eq!(kept, [(700, 1_400), (800, 1_600), (900, 1_800)], "every 100th, the latest three");
/// assert_eq!(samples.seen(), 1_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Tap<T> {
    every: u64,
    /// Envelopes until the next one kept.
    countdown: u64,
    /// Envelopes that passed.
    passed: u64,
    samples: TapSamples<T>,
}

/// One envelope a [`Tap`] kept: its metadata and a copy of its payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample<T> {
    /// The envelope's metadata (sequence, key, event time, trace, headers).
    pub meta: Meta,
    /// A copy of its payload.
    pub payload: T,
}

/// What a [`Tap`] has kept, shared with it.
#[derive(Debug)]
pub struct TapSamples<T> {
    shared: Arc<Mutex<Kept<T>>>,
}

impl<T> Clone for TapSamples<T> {
    fn clone(&self) -> Self {
        TapSamples { shared: self.shared.clone() }
    }
}

#[derive(Debug)]
struct Kept<T> {
    capacity: usize,
    latest: VecDeque<Sample<T>>,
    /// Envelopes that passed the tap, published with each sample and at
    /// the end.
    seen: u64,
}

impl<T: Clone + Send + 'static> Tap<T> {
    /// A tap keeping every `n`th envelope (at least every one), the latest
    /// 16 of them; [`Tap::keep`] sets how many and hands out the samples.
    pub fn every(n: u64) -> Self {
        let kept = Kept { capacity: 16, latest: VecDeque::new(), seen: 0 };
        let samples = TapSamples { shared: Arc::new(Mutex::new(kept)) };
        Tap { every: n.max(1), countdown: 0, passed: 0, samples }
    }

    /// Keeps the latest `capacity` samples (at least one), and returns the
    /// tap with the handle that reads them.
    pub fn keep(self, capacity: usize) -> (Self, TapSamples<T>) {
        self.samples.kept().capacity = capacity.max(1);
        let samples = self.samples.clone();
        (self, samples)
    }
}

impl<T> TapSamples<T> {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept<T>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Envelopes that had passed the tap when it last kept a sample, that
    /// one included (all of them, once the run has ended).
    pub fn seen(&self) -> u64 {
        self.kept().seen
    }
}

impl<T: Clone> TapSamples<T> {
    /// The samples kept, oldest first.
    pub fn latest(&self) -> Vec<Sample<T>> {
        self.kept().latest.iter().cloned().collect()
    }
}

impl<T: Clone + Send + 'static> Stage<T> for Tap<T> {
    type Out = T;

    #[inline]
    fn process(&mut self, input: Envelope<T>, out: &mut impl Emit<T>) {
        self.passed += 1;
        if self.countdown == 0 {
            self.countdown = self.every;
            let sample = Sample { meta: input.meta().clone(), payload: input.payload().clone() };
            let mut kept = self.samples.kept();
            if kept.latest.len() == kept.capacity {
                kept.latest.pop_front();
            }
            kept.latest.push_back(sample);
            kept.seen = self.passed;
        }
        self.countdown -= 1;
        out.emit(input);
    }

    /// Publishes the count of every envelope that passed.
    fn finish(&mut self, _out: &mut impl Emit<T>) {
        self.samples.kept().seen = self.passed;
    }
}

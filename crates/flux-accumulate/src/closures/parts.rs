//! `parts(classify)`: completeness from named parts, each required once
//! or at least once.

use core::fmt;
use core::time::Duration;
use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, EmitReason, Envelope};

/// An accumulator that sorts each fragment into a named part with
/// `classify`, and judges a group by which parts it holds. Declare the
/// parts with [`Parts::once`] (exactly one fragment: a second is a merge
/// error, a dead letter) and [`Parts::at_least_once`].
///
/// A group holding one fragment of every part is complete. If it only
/// needs `once` parts it is emitted at once, as complete; if it has an
/// `at_least_once` part, more of it can still come, so the group waits
/// until no more can come, and is not cut short the moment its last
/// missing part arrives. What ends the wait is a setting: the end of input
/// (always), its event-time window passing the watermark (a
/// [`Policy`](crate::Policy) with windows), a time limit on the whole group
/// (a TTL), or a [`linger`](Parts::linger) time counted from the moment the
/// group became whole. Either way the record says whether it was
/// complete ([`Assembled::complete`]).
///
/// A fragment `classify` puts in no declared part is a merge error.
///
/// # Examples
///
/// One order row and at least one payment row per order id:
///
/// ```
/// use flux_accumulate::{AccumulateExt, Policy, parts};
/// use flux_steps::Steps;
/// use flux_core::{Pipeline, Runnable};
/// use flux_test::{IterSource, VecSink};
/// # use flux_engine_sync::SyncEngine;
/// # use flux_plan::Planner;
///
/// let rows = [("o1", "order"), ("o1", "payment"), ("o2", "payment"), ("o1", "payment")];
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(rows))
///     .key_by(|(id, _)| *id)
///     .accumulate(parts(|(_, kind): &(&str, &'static str)| *kind).once("order").at_least_once("payment"), Policy::default())
///     .sink(out.clone());
/// # let plan = Planner::new().plan(pipeline.describe())?;
/// # let _report = SyncEngine::new().run(&plan, pipeline)?;
/// let records = out.payloads();
/// assert_eq!((records[0].key.as_ref(), records[0].complete, records[0].part("payment").count()), (&b"o1"[..], true, 2));
/// assert_eq!((records[1].key.as_ref(), records[1].complete), (&b"o2"[..], false));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parts<T, F>(classify: F) -> Parts<T, F>
where
    F: Fn(&T) -> &'static str,
{
    Parts { classify, parts: Vec::new(), linger: None, _fragment: core::marker::PhantomData }
}

/// How many fragments of a part a group takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Times {
    Once,
    AtLeastOnce,
}

/// The accumulator [`parts`] makes.
pub struct Parts<T, F> {
    classify: F,
    parts: Vec<(&'static str, Times)>,
    linger: Option<Duration>,
    _fragment: core::marker::PhantomData<fn(T)>,
}

impl<T, F> Parts<T, F> {
    /// Declares a part a group needs exactly one fragment of.
    ///
    /// # Panics
    ///
    /// Past 64 parts, or when `name` is declared twice: both are mistakes
    /// in the program, not in its input.
    #[must_use]
    pub fn once(self, name: &'static str) -> Self {
        self.declare(name, Times::Once)
    }

    /// Declares a part a group needs one fragment of, or more.
    ///
    /// # Panics
    ///
    /// As for [`Parts::once`].
    #[must_use]
    pub fn at_least_once(self, name: &'static str) -> Self {
        self.declare(name, Times::AtLeastOnce)
    }

    /// Emits a whole group (one fragment of every part) `wait` after the
    /// merge that made it whole, if nothing ended it before: more fragments
    /// of its `at_least_once` parts that arrive in that time join it, and
    /// do not move the deadline. Engine time, so the sync engine waits in
    /// no real time. Without it, a whole group waits for the end of input,
    /// its window or its TTL.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use flux_accumulate::{AccumulateExt, Policy, parts};
    /// use flux_core::{Envelope, Instant, Pipeline, Runnable};
    /// use flux_steps::Steps;
    /// use flux_test::{TimedSource, VecSink};
    /// # use flux_engine_sync::SyncEngine;
    /// # use flux_plan::Planner;
    ///
    /// // Order o1 is whole at 2 s; its payment at 4 s is inside the 5 s
    /// // linger, the one at 9 s is not and starts a new group.
    /// let rows = [(1, "order"), (2, "payment"), (4, "payment"), (9, "payment")];
    /// let timed = rows.iter().enumerate().map(|(i, &(secs, kind))| {
    ///     (Instant::from_secs(secs), Envelope::new(("o1", kind)).with_sequence(i as u64))
    /// });
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(TimedSource::new(timed.collect()))
    ///     .key_by(|(id, _)| *id)
    ///     .accumulate(
    ///         parts(|(_, kind): &(&str, &'static str)| *kind).once("order").at_least_once("payment").linger(Duration::from_secs(5)),
    ///         Policy::default(),
    ///     )
    ///     .sink(out.clone());
    /// # let plan = Planner::new().plan(pipeline.describe())?;
    /// # let _report = SyncEngine::new().run(&plan, pipeline)?;
    /// let records = out.payloads();
    /// assert_eq!(records.len(), 2);
    /// assert_eq!((records[0].complete, records[0].part("payment").count()), (true, 2));
    /// assert_eq!((records[1].complete, records[1].part("payment").count()), (false, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn linger(mut self, wait: Duration) -> Self {
        self.linger = Some(wait);
        self
    }

    fn declare(mut self, name: &'static str, times: Times) -> Self {
        assert!(self.parts.len() < 64, "a group can have at most 64 parts");
        assert!(self.parts.iter().all(|(known, _)| *known != name), "part `{name}` is declared twice");
        self.parts.push((name, times));
        self
    }

    /// Whether a whole group can still take more: it has a part that
    /// comes at least once.
    fn can_take_more(&self) -> bool {
        self.parts.iter().any(|(_, times)| *times == Times::AtLeastOnce)
    }

    fn all(&self) -> u64 {
        u64::MAX >> (64 - self.parts.len().max(1))
    }
}

/// A group's fragments, each with its part, and which parts it holds.
#[derive(Debug)]
pub struct PartsState<T> {
    items: Vec<(u8, T)>,
    seen: u64,
}

/// What a [`parts`] group becomes: its key, whether it held every part,
/// and its fragments in arrival order with their part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembled<T> {
    /// The group's key.
    pub key: Bytes,
    /// Whether the group held one fragment of every declared part.
    pub complete: bool,
    /// The fragments, in arrival order, with the part each belongs to.
    pub items: Vec<(&'static str, T)>,
}

impl<T> Assembled<T> {
    /// The fragments of part `name`, in arrival order.
    pub fn part<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a T> + 'a {
        self.items.iter().filter(move |(part, _)| *part == name).map(|(_, item)| item)
    }
}

impl<T, F> Accumulator for Parts<T, F>
where
    T: Send + 'static,
    F: Fn(&T) -> &'static str + Send + 'static,
{
    type Fragment = T;
    type State = PartsState<T>;
    type Output = Assembled<T>;

    fn open(&mut self, _key: &Bytes) -> PartsState<T> {
        PartsState { items: Vec::new(), seen: 0 }
    }

    fn merge(&mut self, state: &mut PartsState<T>, fragment: Envelope<T>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let payload = fragment.into_payload();
        let name = (self.classify)(&payload);
        let Some(index) = self.parts.iter().position(|(part, _)| *part == name) else {
            return Err(format!("`{name}` is not a declared part").into());
        };
        let bit = 1u64 << index;
        if self.parts[index].1 == Times::Once && state.seen & bit != 0 {
            return Err(format!("part `{name}` arrived twice").into());
        }
        state.seen |= bit;
        // Fewer than 64 parts: the index fits in a byte.
        state.items.push((index as u8, payload));
        Ok(())
    }

    fn completeness(&self, state: &PartsState<T>) -> Completeness {
        let all = self.all();
        if state.seen == all && self.can_take_more() {
            // Every part is there, but more can come: the score just short
            // of complete, so that the policy, not the last part's
            // arrival, ends the group.
            return Completeness::new(f32::from_bits(1.0_f32.to_bits() - 1));
        }
        Completeness::from_mask(state.seen, all)
    }

    fn linger_for(&self, state: &PartsState<T>) -> Option<Duration> {
        self.linger.filter(|_| state.seen == self.all() && self.can_take_more())
    }

    fn close(&mut self, key: Bytes, state: PartsState<T>, _reason: EmitReason) -> Assembled<T> {
        let complete = state.seen == self.all();
        let items = state.items.into_iter().map(|(index, item)| (self.parts[usize::from(index)].0, item)).collect();
        Assembled { key, complete, items }
    }

    fn state_bytes(&self, state: &PartsState<T>) -> usize {
        core::mem::size_of::<PartsState<T>>() + state.items.capacity() * core::mem::size_of::<(u8, T)>()
    }
}

impl<T, F> fmt::Debug for Parts<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parts").field("parts", &self.parts).field("linger", &self.linger).finish_non_exhaustive()
    }
}

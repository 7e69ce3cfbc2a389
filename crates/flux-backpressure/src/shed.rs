//! Shedding: a full boundary drops or rejects instead of waiting.

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

use crate::Limit;

/// What a shedding boundary does with a batch that finds it full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shed {
    Newest,
    Oldest,
    Reject,
}

/// A boundary that never makes its sender wait: a batch that finds it
/// full is dropped ([`Shedding::drop_newest`]), makes room by dropping the
/// oldest batch queued ([`Shedding::drop_oldest`]), or goes to the
/// dead-letter output ([`Shedding::reject`]). Every envelope shed is
/// counted in the ledger under the policy's name.
///
/// # Examples
///
/// ```
/// use flux_backpressure::{Limit, Shedding};
/// use flux_core::{Admission, BackpressurePolicy, Instant, Pressure};
///
/// let full = Pressure { queued_batches: 8, ..Pressure::default() };
/// let mut newest = Shedding::drop_newest(Limit::batches(8));
/// let mut oldest = Shedding::drop_oldest(Limit::batches(8));
/// let mut reject = Shedding::reject(Limit::batches(8));
/// assert_eq!(newest.admit(512, &Pressure::default(), Instant::ZERO), Admission::Now);
/// assert_eq!(newest.admit(512, &full, Instant::ZERO), Admission::DropNewest);
/// assert_eq!(oldest.admit(512, &full, Instant::ZERO), Admission::DropOldest);
/// assert_eq!(reject.admit(512, &full, Instant::ZERO), Admission::Reject);
/// assert_eq!((newest.name(), oldest.name(), reject.name()), ("drop-newest", "drop-oldest", "reject"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Shedding {
    limit: Limit,
    shed: Shed,
}

impl Shedding {
    /// Drops the batch that finds `limit` reached.
    pub fn drop_newest(limit: Limit) -> Self {
        Shedding { limit, shed: Shed::Newest }
    }

    /// Drops the oldest batch queued to make room for the one that finds
    /// `limit` reached: the freshest data wins.
    pub fn drop_oldest(limit: Limit) -> Self {
        Shedding { limit, shed: Shed::Oldest }
    }

    /// Sends the envelopes of the batch that finds `limit` reached to the
    /// dead-letter output, each naming the boundary and the policy.
    pub fn reject(limit: Limit) -> Self {
        Shedding { limit, shed: Shed::Reject }
    }
}

impl BackpressurePolicy for Shedding {
    fn name(&self) -> &'static str {
        match self.shed {
            Shed::Newest => "drop-newest",
            Shed::Oldest => "drop-oldest",
            Shed::Reject => "reject",
        }
    }

    fn edge(&self) -> EdgeSpec {
        self.limit.edge()
    }

    /// Never: the policy sheds instead.
    fn waits(&self) -> bool {
        false
    }

    fn admit(&mut self, _batch: usize, pressure: &Pressure, _now: Instant) -> Admission {
        match (self.limit.reached(pressure), self.shed) {
            (false, _) => Admission::Now,
            (true, Shed::Newest) => Admission::DropNewest,
            (true, Shed::Oldest) => Admission::DropOldest,
            (true, Shed::Reject) => Admission::Reject,
        }
    }
}

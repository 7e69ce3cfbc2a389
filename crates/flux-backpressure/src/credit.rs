//! Credit-based flow: the receiver grants room for so many envelopes.

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

/// The receiver grants credit for `envelopes` envelopes; a batch is sent
/// only when the credit left (the grant less what is queued) covers all of
/// it, and otherwise waits until the receiver takes a batch, which returns
/// that batch's credit. Unlike a batch count, the grant bounds envelopes
/// however the batches are sized.
///
/// # Examples
///
/// ```
/// use flux_backpressure::Credit;
/// use flux_core::{Admission, BackpressurePolicy, Instant, Pressure};
///
/// let mut credit = Credit::envelopes(1_000);
/// let queued = |n| Pressure { queued_batches: 1, queued_envelopes: n, ..Pressure::default() };
/// assert_eq!(credit.admit(500, &queued(500), Instant::ZERO), Admission::Now, "exactly covered");
/// assert_eq!(credit.admit(500, &queued(501), Instant::ZERO), Admission::WhenRoom);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Credit {
    grant: usize,
    edge: EdgeSpec,
}

impl Credit {
    /// A grant of `envelopes` (at least one), in batches of the default
    /// size, with room in the channel for the whole grant.
    pub fn envelopes(envelopes: usize) -> Self {
        let grant = envelopes.max(1);
        let batch_size = EdgeSpec::default().batch_size.min(grant);
        Credit { grant, edge: EdgeSpec { capacity: grant.div_ceil(batch_size), batch_size } }
    }
}

impl BackpressurePolicy for Credit {
    fn name(&self) -> &'static str {
        "credit"
    }

    fn edge(&self) -> EdgeSpec {
        self.edge
    }

    fn room(&self, pressure: &Pressure) -> Option<usize> {
        Some(self.grant.saturating_sub(pressure.queued_envelopes))
    }

    fn admit(&mut self, batch: usize, pressure: &Pressure, _now: Instant) -> Admission {
        match pressure.queued_envelopes + batch <= self.grant {
            true => Admission::Now,
            false => Admission::WhenRoom,
        }
    }
}

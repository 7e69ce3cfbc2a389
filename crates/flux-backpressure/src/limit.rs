//! When a boundary counts as full: the vocabulary the policies share.

use flux_core::{EdgeSpec, Pressure};

/// What a boundary may hold before a policy acts: batches queued (the
/// channel's capacity), and optionally envelopes and bytes queued, and the
/// keys and bytes held open by accumulators downstream (fed to the policy
/// by [`PolicyExt::watching`](crate::PolicyExt::watching)).
///
/// # Examples
///
/// ```
/// use flux_backpressure::Limit;
/// use flux_core::Pressure;
///
/// let limit = Limit::batches(4).pending_keys(10_000);
/// assert!(!limit.reached(&Pressure { queued_batches: 3, ..Pressure::default() }));
/// assert!(limit.reached(&Pressure { queued_batches: 4, ..Pressure::default() }));
/// assert!(limit.reached(&Pressure { pending_keys: 10_000, ..Pressure::default() }), "open groups count");
///
/// // Room for the next step: 64 KiB of 1 KiB envelopes, 40 KiB queued.
/// let bytes = Limit::batches(100).batch_size(16).bytes(64 << 10);
/// let queued = Pressure { queued_batches: 3, queued_envelopes: 40, queued_bytes: 40 << 10, envelope_bytes: 1024, ..Pressure::default() };
/// assert_eq!(bytes.room(&queued), 24);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    edge: EdgeSpec,
    envelopes: Option<usize>,
    bytes: Option<u64>,
    pending_keys: Option<u64>,
    pending_bytes: Option<u64>,
}

impl Limit {
    /// At most `capacity` batches queued (at least one), in batches of the
    /// default size.
    pub fn batches(capacity: usize) -> Self {
        let edge = EdgeSpec { capacity: capacity.max(1), ..EdgeSpec::default() };
        Limit { edge, envelopes: None, bytes: None, pending_keys: None, pending_bytes: None }
    }

    /// Batches of `size` envelopes (at least one).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.edge.batch_size = size.max(1);
        self
    }

    /// Full also at `count` envelopes queued.
    pub fn envelopes(mut self, count: usize) -> Self {
        self.envelopes = Some(count);
        self
    }

    /// Full also at `bytes` queued (from the envelopes' costs).
    pub fn bytes(mut self, bytes: u64) -> Self {
        self.bytes = Some(bytes);
        self
    }

    /// Full also at `keys` groups held open downstream.
    pub fn pending_keys(mut self, keys: u64) -> Self {
        self.pending_keys = Some(keys);
        self
    }

    /// Full also at `bytes` of state held open downstream.
    pub fn pending_bytes(mut self, bytes: u64) -> Self {
        self.pending_bytes = Some(bytes);
        self
    }

    /// The channel's shape.
    pub fn edge(&self) -> EdgeSpec {
        self.edge
    }

    /// How many more envelopes fit under every limit, given `pressure`
    /// (bytes at the last batch's weight per envelope, or one batch while
    /// that is unknown); 0 when a limit is reached.
    pub fn room(&self, pressure: &Pressure) -> usize {
        let batch_size = self.edge.batch_size;
        let mut room = self.edge.capacity.saturating_sub(pressure.queued_batches).saturating_mul(batch_size);
        if let Some(limit) = self.envelopes {
            room = room.min(limit.saturating_sub(pressure.queued_envelopes));
        }
        if let Some(limit) = self.bytes {
            let left = limit.saturating_sub(pressure.queued_bytes);
            room = match pressure.envelope_bytes {
                0 => room.min(batch_size),
                each => room.min(usize::try_from(left / each).unwrap_or(usize::MAX)),
            };
        }
        let held = |limit: Option<u64>, value: u64| limit.is_some_and(|limit| value >= limit);
        match held(self.pending_keys, pressure.pending_keys) || held(self.pending_bytes, pressure.pending_bytes) {
            true => 0,
            false => room,
        }
    }

    /// Whether `pressure` is at or past any of the limits.
    pub fn reached(&self, pressure: &Pressure) -> bool {
        let at = |limit: Option<u64>, value: u64| limit.is_some_and(|limit| value >= limit);
        pressure.queued_batches >= self.edge.capacity
            || self.envelopes.is_some_and(|limit| pressure.queued_envelopes >= limit)
            || at(self.bytes, pressure.queued_bytes)
            || at(self.pending_keys, pressure.pending_keys)
            || at(self.pending_bytes, pressure.pending_bytes)
    }
}

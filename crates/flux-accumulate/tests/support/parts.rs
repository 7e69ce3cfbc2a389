//! A test accumulator: each fragment is `(part, value)`; the group is
//! complete once every `required` part bit has arrived. A value of
//! `u32::MAX` fails to merge. States encode to bytes, so they can spill.

use core::time::Duration;
use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, CompleteAll, Completeness, EmitReason, Envelope};

#[derive(Clone, Debug, Default)]
pub struct Parts {
    pub required: u64,
    /// Per-group item limit read from the state: the value of part 63, if any.
    pub limit_from_part63: bool,
    /// Per-group TTL read from the state: part 62's value in seconds.
    pub ttl_from_part62: bool,
    /// Per-group byte limit read from the state: the value of part 61, if
    /// any (kept where part 63's item limit is: the state's size, which
    /// spilling tests depend on, stays the same).
    pub bytes_limit_from_part61: bool,
    /// A group lingers this many seconds once it holds a fragment.
    pub linger_secs: Option<u64>,
    pub ends_on_part: Option<u8>,
    pub starts_on_part: Option<u8>,
    /// A control signal: a fragment of this part completes every open group.
    pub signal_on_part: Option<(u8, CompleteAll)>,
    pub spillable: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    pub seen: u64,
    pub values: Vec<u32>,
    pub limit: Option<u64>,
    pub ttl: Option<u64>,
}

/// What a group became.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub key: Bytes,
    pub values: Vec<u32>,
    pub reason: EmitReason,
}

impl Accumulator for Parts {
    type Fragment = (u8, u32);
    type State = State;
    type Output = Record;

    fn open(&mut self, _key: &Bytes) -> State {
        State::default()
    }

    fn merge(&mut self, state: &mut State, fragment: Envelope<(u8, u32)>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let (part, value) = fragment.into_payload();
        if value == u32::MAX {
            return Err("value out of range".into());
        }
        state.seen |= 1 << (part % 64);
        state.values.push(value);
        match part {
            63 if self.limit_from_part63 => state.limit = Some(u64::from(value)),
            62 if self.ttl_from_part62 => state.ttl = Some(u64::from(value)),
            61 if self.bytes_limit_from_part61 => state.limit = Some(u64::from(value)),
            _ => {}
        }
        Ok(())
    }

    fn completeness(&self, state: &State) -> Completeness {
        if self.required == 0 { Completeness::EMPTY } else { Completeness::from_mask(state.seen, self.required) }
    }

    fn close(&mut self, key: Bytes, state: State, reason: EmitReason) -> Record {
        Record { key, values: state.values, reason }
    }

    fn state_bytes(&self, state: &State) -> usize {
        core::mem::size_of::<State>() + state.values.capacity() * 4
    }

    fn closes_group(&self, fragment: &Envelope<(u8, u32)>) -> bool {
        self.ends_on_part == Some(fragment.payload().0)
    }

    fn starts_group(&self, fragment: &Envelope<(u8, u32)>) -> bool {
        self.starts_on_part == Some(fragment.payload().0)
    }

    fn completes_all(&self, fragment: &Envelope<(u8, u32)>) -> Option<CompleteAll> {
        self.signal_on_part.filter(|(part, _)| *part == fragment.payload().0).map(|(_, how)| how)
    }

    fn max_items_for(&self, state: &State) -> Option<u64> {
        state.limit.filter(|_| !self.bytes_limit_from_part61)
    }

    fn max_bytes_for(&self, state: &State) -> Option<u64> {
        state.limit.filter(|_| self.bytes_limit_from_part61)
    }

    fn ttl_for(&self, state: &State) -> Option<Duration> {
        state.ttl.map(Duration::from_secs)
    }

    fn linger_for(&self, state: &State) -> Option<Duration> {
        self.linger_secs.filter(|_| !state.values.is_empty()).map(Duration::from_secs)
    }

    fn encode_state(&self, state: &State, out: &mut Vec<u8>) -> bool {
        if !self.spillable || state.limit.is_some() || state.ttl.is_some() {
            return false;
        }
        out.extend_from_slice(&state.seen.to_le_bytes());
        for v in &state.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        true
    }

    fn decode_state(&mut self, _key: &Bytes, encoded: &[u8]) -> Result<State, Box<dyn Error + Send + Sync>> {
        let (seen, rest) = encoded.split_at_checked(8).ok_or("spilled state too short")?;
        let seen = u64::from_le_bytes(seen.try_into()?);
        let values = rest.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Ok(State { seen, values, limit: None, ttl: None })
    }
}

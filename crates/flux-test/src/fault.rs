//! What a scripted reader or writer does when it reaches a chosen byte.

use std::collections::BTreeMap;
use std::io;

/// A fault injected at a byte offset of a [`FaultyReader`](crate::FaultyReader)'s
/// input or a [`FaultyWriter`](crate::FaultyWriter)'s output.
///
/// A read or write never crosses the offset of a pending fault: it stops
/// short of it (a short read or write), and the next call, starting at the
/// offset, meets the fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// One call fails with this kind; the call after it goes on.
    Error(io::ErrorKind),
    /// Every call from this offset on fails with this kind (a full disk, a
    /// closed pipe, a device gone).
    Persistent(io::ErrorKind),
    /// This many calls return `WouldBlock`, then data flows again.
    WouldBlock(u32),
    /// This many calls return `Interrupted`, then data flows again.
    Interrupted(u32),
}

/// The faults still ahead, by offset.
#[derive(Clone, Debug, Default)]
pub(crate) struct Script {
    faults: BTreeMap<u64, Fault>,
}

impl Script {
    pub(crate) fn add(&mut self, offset: u64, fault: Fault) {
        self.faults.insert(offset, fault);
    }

    /// At `offset`: the error this call returns, if a fault is due here.
    pub(crate) fn meet(&mut self, offset: u64) -> Option<io::Error> {
        let fault = self.faults.get_mut(&offset)?;
        let (kind, spent) = match fault {
            Fault::Error(kind) => (*kind, true),
            Fault::Persistent(kind) => (*kind, false),
            Fault::WouldBlock(left) | Fault::Interrupted(left) if *left == 0 => {
                self.faults.remove(&offset);
                return None;
            }
            Fault::WouldBlock(left) => {
                *left -= 1;
                (io::ErrorKind::WouldBlock, false)
            }
            Fault::Interrupted(left) => {
                *left -= 1;
                (io::ErrorKind::Interrupted, false)
            }
        };
        if spent {
            self.faults.remove(&offset);
        }
        Some(io::Error::new(kind, format!("injected {kind} at byte {offset}")))
    }

    /// How many bytes a call at `offset` may move before it meets the next fault.
    pub(crate) fn room(&self, offset: u64) -> u64 {
        self.faults.range(offset + 1..).next().map_or(u64::MAX, |(&at, _)| at - offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_met_at_their_offset_and_counted_down() {
        let mut script = Script::default();
        script.add(5, Fault::WouldBlock(2));
        script.add(9, Fault::Persistent(io::ErrorKind::StorageFull));
        assert_eq!(script.room(0), 5);
        assert!(script.meet(0).is_none());
        assert_eq!(script.meet(5).unwrap().kind(), io::ErrorKind::WouldBlock);
        assert_eq!(script.meet(5).unwrap().kind(), io::ErrorKind::WouldBlock);
        assert!(script.meet(5).is_none(), "two would-blocks, then data");
        assert_eq!(script.room(5), 4);
        for _ in 0..3 {
            assert_eq!(script.meet(9).unwrap().kind(), io::ErrorKind::StorageFull);
        }
        assert_eq!(script.room(9), u64::MAX);
    }
}

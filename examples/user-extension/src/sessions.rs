//! An [`Accumulator`]: user sessions, complete once a user has logged in,
//! viewed something and logged out.

use core::fmt;
use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, EmitReason, Envelope};

const LOGIN: u64 = 1 << 0;
const VIEW: u64 = 1 << 1;
const LOGOUT: u64 = 1 << 2;
/// The steps a session needs to be complete.
const REQUIRED: u64 = LOGIN | VIEW | LOGOUT;

/// Merges a user's actions (`login`, `view`, `logout`) into a session.
///
/// Each action sets one bit of a mask; the session's completeness is the
/// share of the three required bits that are set
/// ([`Completeness::from_mask`]), so the accumulating stage emits it as
/// soon as the third kind of action arrives, and a session still open at a
/// timeout or at the end of input is emitted with its partial score. An
/// action of another kind cannot be merged: the stage sends it to the
/// dead-letter output and keeps the session as it was.
///
/// The stage that runs it (keys, timers, policies) is `flux-accumulate`'s;
/// this type only knows one session at a time.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::{Accumulator, Envelope};
/// use flux_user_extension::Sessions;
///
/// let mut sessions = Sessions;
/// let mut state = sessions.open(&Bytes::from_static(b"ada"));
/// sessions.merge(&mut state, Envelope::new(Bytes::from_static(b"login"))).unwrap();
/// assert!((sessions.completeness(&state).score() - 1.0 / 3.0).abs() < 1e-6);
/// assert!(sessions.merge(&mut state, Envelope::new(Bytes::from_static(b"dance"))).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Sessions;

/// One open session: which steps were seen, and how many actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionState {
    seen: u64,
    actions: u32,
}

/// A finished session.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The user (the group's key).
    pub user: Bytes,
    /// Actions merged into the session.
    pub actions: u32,
    /// Share of the required steps seen.
    pub completeness: Completeness,
    /// Why the stage emitted it.
    pub reason: EmitReason,
}

impl Accumulator for Sessions {
    type Fragment = Bytes;
    type State = SessionState;
    type Output = Session;

    fn open(&mut self, _user: &Bytes) -> SessionState {
        SessionState::default()
    }

    fn merge(&mut self, state: &mut SessionState, action: Envelope<Bytes>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let step = match &action.payload()[..] {
            b"login" => LOGIN,
            b"view" => VIEW,
            b"logout" => LOGOUT,
            _ => return Err(Box::new(UnknownAction { action: action.into_payload() })),
        };
        state.seen |= step;
        state.actions += 1;
        Ok(())
    }

    fn completeness(&self, state: &SessionState) -> Completeness {
        Completeness::from_mask(state.seen, REQUIRED)
    }

    fn close(&mut self, user: Bytes, state: SessionState, reason: EmitReason) -> Session {
        Session { user, actions: state.actions, completeness: self.completeness(&state), reason }
    }
}

/// An action [`Sessions`] does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownAction {
    /// The action as it arrived.
    pub action: Bytes,
}

impl fmt::Display for UnknownAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown action `{}`", String::from_utf8_lossy(&self.action))
    }
}

impl Error for UnknownAction {}

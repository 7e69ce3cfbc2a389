//! What a failed batch's error means: try again (after connecting again,
//! or not) or give up; and the one line a dead letter carries.

use tokio_postgres::error::SqlState;

/// Why a try failed, and whether another may succeed.
#[derive(Debug)]
pub(crate) struct Failure {
    /// One line: the dead letters' `BatchFailed::error`, or the open error.
    pub(crate) message: String,
    pub(crate) next: Next,
}

impl Failure {
    pub(crate) fn give_up(message: String) -> Self {
        Failure { message, next: Next::GiveUp }
    }
}

/// What to do after a batch failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Connect again, then try again: the connection was lost.
    Reconnect,
    /// Try again on the same connection: the server gave up on the
    /// transaction to let another go first (a serialization failure or a
    /// deadlock), and it may succeed now.
    TryAgain,
    /// Trying again would fail the same way (a constraint, a bad value).
    GiveUp,
}

/// What to do after `error`, the connection being `closed` or not.
pub(crate) fn next(error: &tokio_postgres::Error, closed: bool) -> Next {
    match error.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            Next::TryAgain
        }
        // Class 08 is a connection exception; 57P01..57P03 an administrator
        // or a crash ending the session, or a server not yet accepting.
        Some(code) if code.code().starts_with("08") || code.code().starts_with("57P") => Next::Reconnect,
        Some(_) => Next::GiveUp,
        // No answer from the server: the socket, not the batch, failed.
        None if closed || error.is_closed() || io_error(error) => Next::Reconnect,
        None => Next::GiveUp,
    }
}

fn io_error(error: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// One line for `error`: the server's message with its SQLSTATE and
/// detail, or the client's error and its causes.
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let detail = db.detail().map(|detail| format!(": {detail}")).unwrap_or_default();
        return format!("{} (SQLSTATE {}){detail}", db.message(), db.code().code());
    }
    chain(error)
}

/// `error` and its causes, joined by `: `.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

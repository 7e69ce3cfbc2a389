//! Helpers shared by the integration tests.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::fmt::Write as _;

use flux_core::{Runnable, StageError};
use flux_engine_sync::{RunReport, SyncEngine};
use flux_plan::Planner;

/// Plans `pipeline` with the default planner and runs it on the sync engine.
pub(crate) fn run(pipeline: impl Runnable) -> RunReport {
    let plan = Planner::new().plan(pipeline.describe()).expect("the pipeline plans");
    SyncEngine::new().run(&plan, pipeline).expect("the run succeeds")
}

/// A log of `users` users, each doing a few actions, interleaved: user `u`
/// logs in, views `u % 3` pages and, for even `u`, logs out.
pub(crate) fn log(users: usize) -> String {
    let mut text = String::new();
    for round in 0..5 {
        for u in 0..users {
            let action = match round {
                0 => "login",
                1..=3 if round <= u % 3 => "view",
                4 if u % 2 == 0 => "logout",
                _ => continue,
            };
            writeln!(text, "user-{u} {action}").expect("writing to a String cannot fail");
        }
    }
    text
}

/// The cause of a stage error, as text.
pub(crate) fn cause(error: &StageError) -> String {
    error.cause().to_string()
}

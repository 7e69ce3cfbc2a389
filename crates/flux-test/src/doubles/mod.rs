//! Test doubles: stand-ins for a real source, sink or engine, for tests,
//! examples and trying a pipeline out.

mod diverted;
mod sources;
mod vec_sink;
mod wait_when_queued;

pub use diverted::Diverted;
pub use sources::{IterSource, ScriptedSource, TimedSource};
pub use vec_sink::VecSink;
pub use wait_when_queued::WaitWhenQueued;

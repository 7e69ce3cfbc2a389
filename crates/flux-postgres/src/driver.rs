//! The small runtime a sink keeps for its client.
//!
//! The sink's methods are plain blocking calls, made from the sync
//! engine's thread (no runtime there), or from the tokio engine's thread
//! for blocking stages (inside that runtime's `block_on`), where it is
//! closed too. A runtime's `block_on` refuses to run
//! inside another's, so the client's futures run as tasks on the sink's
//! own one-worker runtime, and the caller waits for their result on a
//! channel: the same code, whatever thread the engine calls from.

use core::future::Future;
use std::sync::mpsc::sync_channel;

use tokio::runtime::Runtime;

/// The sink's runtime: one worker thread, shut down without waiting when
/// the sink is dropped (from any thread, inside tokio or not).
#[derive(Debug)]
pub(crate) struct Driver {
    runtime: Option<Runtime>,
}

/// The runtime's task ended without an answer (it panicked).
#[derive(Debug)]
pub(crate) struct TaskLost;

impl Driver {
    pub(crate) fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flux-postgres")
            .enable_all()
            .build()?;
        Ok(Driver { runtime: Some(runtime) })
    }

    /// Runs `work` on the runtime and waits for its result.
    pub(crate) fn run<F>(&self, work: F) -> Result<F::Output, TaskLost>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (done, answer) = sync_channel(1);
        let runtime = self.runtime.as_ref().ok_or(TaskLost)?;
        runtime.spawn(async move {
            let _ = done.send(work.await);
        });
        answer.recv().map_err(|_| TaskLost)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

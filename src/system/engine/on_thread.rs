//! One step on the session's batch thread instead of the caller's.
//!
//! A step costs time linear in its chunk, and a chunk may be a megabyte: run on the JS thread,
//! such a step would stall everything else the process serves (a server's health check, other
//! sessions' requests) for as long as it runs. `processChunk` therefore hands large chunks to
//! the thread that runs the session's batches (`batch_workers`), so a session's steps stay in
//! order with its batches and free memory on the thread that allocated it.

use std::sync::Arc;

use super::Engine;
use crate::error::{err, Error, ErrorCode, Result};
use crate::system::step::Begun;

impl Engine {
    /// Runs `job` on the batch thread of `session_id` (each session always on the same
    /// thread: see `batch_workers`) and hands its outcome to `done` on that thread. A panic
    /// becomes an `ERR_INTERNAL` error naming `what`; the engine is released before `done`
    /// (it may be dropped on that thread). Fails at once (and never calls `done`) when the
    /// engine is closed or the thread cannot be started.
    pub(super) fn on_session_thread<R: Send + 'static>(
        self: &Arc<Self>,
        session_id: String,
        what: &'static str,
        job: impl FnOnce(&Engine, &str) -> Result<R> + Send + 'static,
        done: impl FnOnce(Result<R>) + Send + 'static,
    ) -> Result<()> {
        self.ensure_open()?;
        let engine = self.clone();
        let key = session_id.clone();
        self.workers
            .run(
                &key,
                Box::new(move || {
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        job(&engine, &session_id)
                    }))
                    .unwrap_or_else(|_| {
                        err(
                            ErrorCode::Internal,
                            format!("the engine panicked while processing the {what}"),
                        )
                    });
                    drop(engine);
                    done(outcome);
                }),
            )
            .map_err(|e| {
                Error::new(
                    ErrorCode::Internal,
                    format!("cannot start a batch thread: {e}"),
                )
            })
    }

    /// [`Engine::begin`] on the batch thread of `session_id`; hands the outcome to `done` on
    /// that thread (see `on_session_thread`).
    pub fn spawn_begin(
        self: &Arc<Self>,
        session_id: String,
        chunk: String,
        done: impl FnOnce(Result<Begun>) + Send + 'static,
    ) -> Result<()> {
        self.on_session_thread(
            session_id,
            "chunk",
            move |engine, session| engine.begin(session, &chunk),
            done,
        )
    }
}

//! Batches: steps in session order until one waits for a JS handler, written one result at a
//! time into one buffer; large batches on the session's batch thread, pipelined when alone
//! (`pipeline.rs`), sliced when handed over from JS (`slice_chain`).

use super::*;

/// A serialisation failure of a step result (an internal error: results are plain data).
pub(super) fn json_error(e: serde_json::Error) -> Error {
    Error::new(
        ErrorCode::Internal,
        format!("cannot serialise a step result: {e}"),
    )
}

impl Engine {
    /// Processes chunks in order until one needs a JS handler.
    pub fn process_batch<S: AsRef<str> + Sync>(
        &self,
        session_id: &str,
        chunks: &[S],
    ) -> Result<BatchProgress> {
        let mut results = Vec::with_capacity(chunks.len());
        let pending = self.process_batch_each(session_id, chunks, ResultDetail::Full, |r| {
            results.push(r);
            Ok(())
        })?;
        Ok(BatchProgress { results, pending })
    }

    /// [`Self::process_batch`] handing each finished step to `sink` as soon as it is done
    /// (so a caller can serialise and drop it at once); returns the step waiting for a
    /// handler, if any. Every chunk is checked before the first step runs. With
    /// [`ResultDetail::Summary`] a finished step carries only what its
    /// [`StepSummary`](crate::system::StepSummary) reads.
    ///
    /// A batch of at least [`PIPELINE_MIN_CHUNKS`] chunks that is the only batch running is
    /// pipelined (see `engine/pipeline.rs`): a helper thread perceives chunks ahead of the
    /// steps and adds them to the knowledge graph behind them, while this thread runs the
    /// steps in order. The steps and their results are the same either way.
    pub fn process_batch_each<S: AsRef<str> + Sync>(
        &self,
        session_id: &str,
        chunks: &[S],
        detail: ResultDetail,
        mut sink: impl FnMut(StepResult) -> Result<()>,
    ) -> Result<Option<PendingStep>> {
        self.session(session_id)?;
        self.check_chunks(chunks)?;
        let batches = ActiveBatch::enter(&self.active_batches);
        // Not on WebAssembly, where the engine starts no threads (see `Journal::hand_over`).
        if batches.alone() && chunks.len() >= PIPELINE_MIN_CHUNKS && !cfg!(target_family = "wasm") {
            return self.process_pipelined(session_id, chunks, detail, sink);
        }
        for c in chunks {
            match self.begin_with(session_id, c.as_ref(), detail)? {
                Begun::Done(r) => sink(*r)?,
                Begun::Pending(p) => return Ok(Some(*p)),
            }
        }
        Ok(None)
    }

    /// Runs [`Self::process_batch_json`] on the batch thread of `session_id` (each session
    /// always on the same thread: see `batch_workers`) and hands the outcome to `done` on that
    /// thread. A panic becomes an `ERR_INTERNAL` error. With a `ticket` the chunks are one
    /// slice of a larger batch and run only right after the batch's previous slice finished
    /// every chunk; otherwise nothing runs and the outcome is [`SliceState::Skipped`] (see
    /// `slice_chain`).
    pub fn spawn_batch_json(
        self: &Arc<Self>,
        session_id: String,
        chunks: Vec<String>,
        detail: ResultDetail,
        ticket: Option<SliceTicket>,
        done: impl FnOnce(Result<(SliceState, String)>) + Send + 'static,
    ) -> Result<()> {
        let job = move |engine: &Engine, session: &str| {
            if let Some(t) = ticket {
                if !engine.slice_chains.may_run(session, t) {
                    return Ok((SliceState::Skipped, String::new()));
                }
            }
            let outcome = engine.batch_json(session, &chunks, detail);
            if let Some(t) = ticket {
                let finished = matches!(outcome, Ok((_, true)));
                engine.slice_chains.ended(session, t, finished);
            }
            outcome.map(|(json, finished)| {
                let state = if finished {
                    SliceState::Finished
                } else {
                    SliceState::Stopped
                };
                (state, json)
            })
        };
        self.on_session_thread(session_id, "batch", job, done)
    }

    /// [`Self::process_batch`] as the JSON text of a [`BatchProgress`], written one step at a
    /// time into one pre-sized buffer (`{"results":[...],"pending":...}`: `pending` last, so a
    /// caller can tell a finished batch by the text's end without parsing it). With
    /// [`ResultDetail::Summary`] each finished step is a [`StepSummary`](crate::system::StepSummary).
    pub fn process_batch_json<S: AsRef<str> + Sync>(
        &self,
        session_id: &str,
        chunks: &[S],
        detail: ResultDetail,
    ) -> Result<String> {
        self.batch_json(session_id, chunks, detail)
            .map(|(json, _)| json)
    }

    /// [`Self::process_batch_json`] and whether every chunk finished (no step waits for a
    /// handler).
    pub(super) fn batch_json<S: AsRef<str> + Sync>(
        &self,
        session_id: &str,
        chunks: &[S],
        detail: ResultDetail,
    ) -> Result<(String, bool)> {
        let mut out: Vec<u8> = Vec::with_capacity(64);
        out.extend_from_slice(b"{\"results\":[");
        let mut count = 0usize;
        let pending = self.process_batch_each(session_id, chunks, detail, |r| {
            if count > 0 {
                out.push(b',');
            }
            let before = out.len();
            serde_json::to_writer(&mut out, &detail.view(&r)).map_err(json_error)?;
            if count == 0 {
                // Results of one batch are of similar size: reserve for all of them once
                // (at most 64 MiB up front; beyond that the buffer grows as usual).
                let per = out.len() - before + 1;
                let want = per
                    .saturating_mul(chunks.len())
                    .saturating_add(per / 8 * chunks.len());
                out.reserve(want.min(64 << 20));
            }
            count += 1;
            Ok(())
        })?;
        out.extend_from_slice(b"],\"pending\":");
        serde_json::to_writer(&mut out, &pending).map_err(json_error)?;
        out.push(b'}');
        let json =
            String::from_utf8(out).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
        Ok((json, pending.is_none()))
    }
}

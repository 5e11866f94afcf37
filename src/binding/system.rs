//! `NativeSystem`: the engine as a JS class. The public `LeanAgenticSystem` wraps it.
//!
//! `close()` lets go of the engine, not only of its store: a closed system's JS object may live
//! on for a long time (V8 collects it only under JS heap pressure, and it weighs a few hundred
//! bytes there against megabytes of native state: learner weights, the gazetteer's automaton,
//! the knowledge graph, batch and journal threads). Holding the engine until then leaked ~4.6 MB
//! per `open` + `close` in a loop. After `close` only the configuration and action names are
//! kept, for `config` and `actionNames`; everything else answers `ERR_CLOSED`. Work already
//! handed to a batch thread holds the engine until it ends, and then frees it there.

use std::sync::Arc;

use napi::bindgen_prelude::AsyncTask;
use napi::bindgen_prelude::Object;
use napi::{Env, Task};
use napi_derive::napi;
use serde_json::{json, Value};

use super::error::{parse_json, parse_json_as, to_js, to_json};
use crate::agent::{ActionSpec, HandlerOutcome, SessionContext};
use crate::error::ErrorCode;
use crate::reasoning::{Property, Workflow};
use crate::system::{
    ActionCheck, Begun, CheckContext, Engine, RecordedStep, ResultDetail, SliceTicket, SystemConfig,
};

/// How a batch handed to a batch thread ended, and its results.
#[napi(object)]
pub struct BatchSlice {
    /// `finished`, `stopped` (a step waits for its handler) or `skipped` (nothing ran).
    pub state: String,
    /// The `{results, pending}` JSON (empty when skipped).
    pub json: String,
}

/// The engine handle seen from JS.
#[napi]
pub struct NativeSystem {
    /// `None` once closed (see the module documentation).
    engine: Option<Arc<Engine>>,
    /// What a closed system still answers: its configuration (JSON) and action names.
    after_close: Option<(String, Vec<String>)>,
}

/// The error of every call on a closed system.
fn closed_error() -> napi::Error {
    to_js(crate::error::Error::new(
        ErrorCode::Closed,
        "the system is closed; open a new one with LeanAgenticSystem.open()",
    ))
}

impl NativeSystem {
    /// The engine; `ERR_CLOSED` once the system is closed.
    pub(super) fn engine(&self) -> napi::Result<&Arc<Engine>> {
        self.engine.as_ref().ok_or_else(closed_error)
    }
}

fn begun_json(b: Begun) -> napi::Result<String> {
    match b {
        Begun::Done(r) => to_json(&json!({ "done": true, "result": r })),
        Begun::Pending(p) => to_json(&json!({ "done": false, "pending": p })),
    }
}

/// `verifyAction` on JSON arguments, for the sync and async exports alike.
fn verify_json(engine: &Engine, action_json: &str, context_json: &str) -> napi::Result<String> {
    let action: ActionCheck = parse_json("action", action_json)?;
    let ctx: CheckContext = parse_json("verification context", context_json)?;
    to_json(&engine.verify_action(&action, &ctx).map_err(to_js)?)
}

/// A batch's `detail` argument (`"full"` when absent).
fn result_detail(detail: Option<&str>) -> napi::Result<ResultDetail> {
    detail.map_or(Ok(ResultDetail::Full), |d| {
        ResultDetail::parse(d).map_err(to_js)
    })
}

#[napi]
impl NativeSystem {
    /// Opens an engine from a JSON config (`null` for defaults).
    #[napi(factory, catch_unwind)]
    pub fn open(config_json: Option<String>) -> napi::Result<Self> {
        let value: Value = match config_json {
            Some(text) => parse_json_as(ErrorCode::InvalidConfig, "config", &text)?,
            None => Value::Null,
        };
        let config = SystemConfig::from_json(&value).map_err(to_js)?;
        let engine = Engine::open(config).map_err(to_js)?;
        Ok(NativeSystem {
            engine: Some(Arc::new(engine)),
            after_close: None,
        })
    }

    /// The effective configuration, as JSON.
    #[napi(catch_unwind)]
    pub fn config(&self) -> napi::Result<String> {
        match (&self.engine, &self.after_close) {
            (Some(engine), _) => to_json(engine.config()),
            (None, Some((config, _))) => Ok(config.clone()),
            (None, None) => Err(closed_error()),
        }
    }

    /// Registers an action from its JSON spec.
    #[napi(catch_unwind)]
    pub fn register_action(&self, spec_json: String) -> napi::Result<()> {
        let spec: ActionSpec = parse_json("action definition", &spec_json)?;
        self.engine()?.register_action(spec).map_err(to_js)
    }

    /// Names of the registered actions.
    #[napi(catch_unwind)]
    pub fn action_names(&self) -> Vec<String> {
        match (&self.engine, &self.after_close) {
            (Some(engine), _) => engine.action_names(),
            (None, Some((_, names))) => names.clone(),
            (None, None) => Vec::new(),
        }
    }

    /// Creates (or updates) a session.
    #[napi(catch_unwind)]
    pub fn create_session(
        &self,
        session_id: String,
        context_json: Option<String>,
    ) -> napi::Result<()> {
        let ctx: SessionContext = match context_json {
            Some(t) => parse_json("session context", &t)?,
            None => SessionContext::default(),
        };
        self.engine()?
            .create_session(&session_id, ctx)
            .map_err(to_js)
    }

    /// Ends a session.
    #[napi(catch_unwind)]
    pub fn end_session(&self, session_id: String) -> napi::Result<()> {
        self.engine()?.end_session(&session_id).map_err(to_js)
    }

    /// A session's history window, as JSON.
    #[napi(catch_unwind)]
    pub fn history(&self, session_id: String) -> napi::Result<String> {
        to_json(&self.engine()?.history(&session_id).map_err(to_js)?)
    }

    /// Ranks the runnable plans for a chunk without running a step (a `Ranking` as JSON).
    #[napi(catch_unwind)]
    pub fn rank(&self, session_id: String, chunk: String) -> napi::Result<String> {
        to_json(&self.engine()?.rank(&session_id, &chunk).map_err(to_js)?)
    }

    /// Starts a step: `{done: true, result}` or `{done: false, pending}` as JSON.
    #[napi(catch_unwind)]
    pub fn begin(&self, session_id: String, chunk: String) -> napi::Result<String> {
        begun_json(self.engine()?.begin(&session_id, &chunk).map_err(to_js)?)
    }

    /// Completes a pending step with the handler's outcome (JSON); returns the result JSON in
    /// `detail` (`"full"`, the default, or `"summary"`).
    #[napi(catch_unwind)]
    pub fn complete(
        &self,
        action_id: String,
        outcome_json: String,
        detail: Option<String>,
    ) -> napi::Result<String> {
        let detail = result_detail(detail.as_deref())?;
        let outcome: HandlerOutcome = parse_json("handler outcome", &outcome_json)?;
        let result = self
            .engine()?
            .complete(&action_id, outcome)
            .map_err(to_js)?;
        to_json(&detail.view(&result))
    }

    /// [`Self::begin`] on the session's batch thread (for large chunks: the JS thread stays
    /// free while the step runs; the session's steps stay in order with its batches).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn begin_async<'env>(
        &self,
        env: &'env Env,
        session_id: String,
        chunk: String,
    ) -> napi::Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred::<String, _>()?;
        self.engine()?
            .spawn_begin(session_id, chunk, move |outcome| {
                match outcome.map_err(to_js).and_then(begun_json) {
                    Ok(json) => deferred.resolve(move |_| Ok(json)),
                    Err(e) => deferred.reject(e),
                }
            })
            .map_err(to_js)?;
        Ok(promise)
    }

    /// Processes chunks until one needs a handler: `{results, pending}` as JSON; `detail` is
    /// `"full"` (default) or `"summary"`.
    #[napi(catch_unwind)]
    pub fn process_batch(
        &self,
        session_id: String,
        chunks: Vec<String>,
        detail: Option<String>,
    ) -> napi::Result<String> {
        let detail = result_detail(detail.as_deref())?;
        self.engine()?
            .process_batch_json(&session_id, &chunks, detail)
            .map_err(to_js)
    }

    /// Checks every chunk of a batch (size, emptiness) before any step runs.
    #[napi(catch_unwind)]
    pub fn check_chunks(&self, chunks: Vec<String>) -> napi::Result<()> {
        self.engine()?.check_chunks(&chunks).map_err(to_js)
    }

    /// The same as `processBatch`, on the session's batch thread (for large batches and many
    /// sessions; a session's batches always run on the same thread). With `sliceBatch` and
    /// `sliceSeq` the chunks are slice `sliceSeq` (from 0) of batch `sliceBatch` and run only
    /// right after that batch's previous slice finished every chunk; otherwise the promise
    /// resolves with state `skipped` and nothing runs. The promise resolves to `{ state, json }`:
    /// `state` is `finished` (every chunk ran), `stopped` (a step waits for its handler: the
    /// batch's `pending`) or `skipped`; `json` is the `{results, pending}` text (empty when
    /// skipped).
    #[napi(ts_return_type = "Promise<BatchSlice>")]
    pub fn process_batch_async<'env>(
        &self,
        env: &'env Env,
        session_id: String,
        chunks: Vec<String>,
        detail: Option<String>,
        slice_batch: Option<f64>,
        slice_seq: Option<u32>,
    ) -> napi::Result<Object<'env>> {
        let detail = result_detail(detail.as_deref())?;
        let ticket = slice_ticket(slice_batch, slice_seq)?;
        let (deferred, promise) = env.create_deferred::<BatchSlice, _>()?;
        self.engine()?
            .spawn_batch_json(
                session_id,
                chunks,
                detail,
                ticket,
                move |outcome| match outcome {
                    Ok((state, json)) => deferred.resolve(move |_| {
                        Ok(BatchSlice {
                            state: state.as_str().to_string(),
                            json,
                        })
                    }),
                    Err(e) => deferred.reject(to_js(e)),
                },
            )
            .map_err(to_js)?;
        Ok(promise)
    }

    /// Loads (replacing) the Cedar policies; returns the policy set info as JSON.
    #[napi(catch_unwind)]
    pub fn load_policies(&self, policies: String, schema: Option<String>) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .load_policies(&policies, schema.as_deref())
                .map_err(to_js)?,
        )
    }

    /// The loaded policy set's info (ids, hashes, how each policy is evaluated) as JSON.
    #[napi(catch_unwind)]
    pub fn policy_info(&self) -> napi::Result<String> {
        to_json(&self.engine()?.policy_info().map_err(to_js)?)
    }

    /// Replaces the Cedar entities (JSON text); returns how many were loaded.
    #[napi(catch_unwind)]
    pub fn set_entities(&self, entities_json: String) -> napi::Result<u32> {
        self.engine()?
            .set_entities(&entities_json)
            .map(|n| n as u32)
            .map_err(to_js)
    }

    /// Verifies an action (JSON) in a context (JSON); returns the decision as JSON.
    #[napi(catch_unwind)]
    pub fn verify_action(&self, action_json: String, context_json: String) -> napi::Result<String> {
        verify_json(self.engine()?, &action_json, &context_json)
    }

    /// `verifyAction` on a worker thread.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn verify_action_async(
        &self,
        action_json: String,
        context_json: String,
    ) -> AsyncTask<EngineTask> {
        EngineTask::new(&self.engine, "verifying", move |engine| {
            verify_json(engine, &action_json, &context_json)
        })
    }

    /// Verifies a workflow (JSON) against properties (JSON array); returns the report as JSON.
    #[napi(catch_unwind)]
    pub fn verify_workflow(
        &self,
        workflow_json: String,
        properties_json: String,
    ) -> napi::Result<String> {
        let wf: Workflow = parse_json("workflow", &workflow_json).map_err(|e| {
            napi::Error::from_reason(e.reason.replacen(
                "ERR_INVALID_INPUT",
                "ERR_INVALID_WORKFLOW",
                1,
            ))
        })?;
        let props: Vec<Property> =
            parse_json("workflow properties", &properties_json).map_err(|e| {
                napi::Error::from_reason(e.reason.replacen(
                    "ERR_INVALID_INPUT",
                    "ERR_INVALID_WORKFLOW",
                    1,
                ))
            })?;
        to_json(&self.engine()?.verify_workflow(&wf, &props).map_err(to_js)?)
    }

    /// Records an externally executed action's outcome (JSON); returns the step result JSON.
    #[napi(catch_unwind)]
    pub fn record_outcome(
        &self,
        session_id: String,
        action: String,
        text: String,
        outcome_json: String,
        latency_ms: f64,
    ) -> napi::Result<String> {
        let step: RecordedStep = parse_json("outcome", &outcome_json)?;
        to_json(
            &self
                .engine()?
                .record_outcome(&session_id, &action, &text, step, latency_ms)
                .map_err(to_js)?,
        )
    }

    /// Applies a delayed reward; returns the prediction change as JSON.
    #[napi(catch_unwind)]
    pub fn feedback(&self, action_id: String, reward: f64) -> napi::Result<String> {
        to_json(&self.engine()?.feedback(&action_id, reward).map_err(to_js)?)
    }

    /// Off-policy evaluation of learner `settings` on the journal (see
    /// `Engine::evaluate_policy`), on a worker thread; resolves to the estimate as JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn evaluate_policy_async(
        &self,
        settings_json: String,
        options_json: String,
    ) -> AsyncTask<EngineTask> {
        EngineTask::new(&self.engine, "evaluating a policy", move |engine| {
            let settings: serde_json::Value = parse_json("settings", &settings_json)?;
            let options: serde_json::Value = parse_json("options", &options_json)?;
            to_json(&engine.evaluate_policy(&settings, &options).map_err(to_js)?)
        })
    }

    /// Aggregate statistics as JSON.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> napi::Result<String> {
        to_json(&self.engine()?.stats().map_err(to_js)?)
    }

    /// Writes buffered state to the store.
    #[napi(catch_unwind)]
    pub fn flush(&self) -> napi::Result<()> {
        self.engine()?.flush().map_err(to_js)
    }

    /// Steps recorded in the store's journal.
    #[napi(catch_unwind)]
    pub fn journal_count(&self) -> napi::Result<f64> {
        self.engine()?
            .journal_count()
            .map(|n| n as f64)
            .map_err(to_js)
    }

    /// Flushes and closes, then lets go of the engine (see the module documentation).
    /// Idempotent.
    #[napi(catch_unwind)]
    pub fn close(&mut self) -> napi::Result<()> {
        let Some(engine) = self.engine.take() else {
            return Ok(());
        };
        self.after_close = Some((to_json(engine.config())?, engine.action_names()));
        let closed = engine.close();
        // The last owner frees every native allocation here (threads joined), unless a batch
        // thread still runs a job, which then frees it when that job ends.
        drop(engine);
        closed.map_err(to_js)
    }

    /// Whether `close` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.engine.as_ref().is_none_or(|e| e.is_closed())
    }
}

/// Work on the engine off the JS thread (the libuv pool): `verifyActionAsync`,
/// `evaluatePolicy`. A panic inside is caught and becomes `ERR_INTERNAL`.
pub struct EngineTask {
    /// `None` when the system was closed before the call.
    engine: Option<Arc<Engine>>,
    /// What the work is, for the panic message.
    doing: &'static str,
    work: Option<EngineWork>,
}

type EngineWork = Box<dyn FnOnce(&Engine) -> napi::Result<String> + Send>;

impl EngineTask {
    fn new(
        engine: &Option<Arc<Engine>>,
        doing: &'static str,
        work: impl FnOnce(&Engine) -> napi::Result<String> + Send + 'static,
    ) -> AsyncTask<EngineTask> {
        AsyncTask::new(EngineTask {
            engine: engine.clone(),
            doing,
            work: Some(Box::new(work)),
        })
    }
}

impl Task for EngineTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        let (Some(engine), Some(work)) = (self.engine.take(), self.work.take()) else {
            return Err(closed_error());
        };
        let doing = self.doing;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || work(&engine)))
            .unwrap_or_else(|_| {
                Err(to_js(crate::error::Error::new(
                    crate::error::ErrorCode::Internal,
                    format!("the engine panicked while {doing}"),
                )))
            })
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// Replays a decision certificate against policies, schema and entities; returns the check as JSON.
#[cfg_attr(test, allow(dead_code))]
#[napi(catch_unwind)]
pub fn check_certificate(
    certificate_json: String,
    policies: String,
    schema: Option<String>,
    entities_json: Option<String>,
) -> napi::Result<String> {
    let cert: crate::reasoning::Certificate = parse_json("certificate", &certificate_json)?;
    to_json(
        &crate::reasoning::check_certificate(
            &cert,
            &policies,
            schema.as_deref(),
            entities_json.as_deref(),
        )
        .map_err(to_js)?,
    )
}

/// The slice ticket of `processBatchAsync`: both parts or neither; the batch a safe integer.
fn slice_ticket(batch: Option<f64>, seq: Option<u32>) -> napi::Result<Option<SliceTicket>> {
    match (batch, seq) {
        (None, None) => Ok(None),
        (Some(b), Some(seq))
            if b.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&b) =>
        {
            Ok(Some(SliceTicket {
                batch: b as u64,
                seq,
            }))
        }
        _ => Err(to_js(crate::error::Error::new(
            ErrorCode::InvalidInput,
            "sliceBatch (a non-negative integer) and sliceSeq must be given together",
        ))),
    }
}

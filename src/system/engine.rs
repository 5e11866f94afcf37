//! The engine: the loop's stages wired together, safe to share across threads.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde_json::{json, Value};

use super::batch_workers::BatchWorkers;
use super::config::SystemConfig;
use super::finished::{Finished, FinishedSteps};
use super::formal::{
    attach_proofs, authorize_parts, default_resource, premises_of, prove_preconditions,
    session_approvals, session_json, ActionCheck, CheckContext, FormalVerifier, Preconditions,
};
use super::journal::{Journal, JournalRow};
use super::slice_chain::{SliceChains, SliceTicket, SKIPPED_SLICE_JSON};
use super::step::{
    ActionView, BatchProgress, Begun, Observation, PendingStep, ResultDetail, StepResult,
    MAX_STEP_ENTITIES,
};
use super::verify::{Decision, Verification, Verifier, VerifyRequest};
use crate::agent::planner::tokenize;
use crate::agent::{
    reward_for, ActionRegistry, ActionSpec, Outcome, Planner, Session, SessionContext,
};
use crate::error::{err, Error, ErrorCode, Result};
use crate::knowledge::{Entity, EntityExtractor, KnowledgeGraph};
use crate::learning::{Candidate, ContextFeatures, Learner};
use crate::memory::{ReasoningBank, Store};
use crate::reasoning::rules::{Atom, ProveOptions, ProveOutcome, RuleEngine, Theorem};
use crate::reasoning::{
    verify_workflow, PolicyEngine, PolicySetInfo, Property, Workflow, WorkflowReport,
};

/// The hasher of the engine's maps (short string keys; foldhash, seeded per process).
type FastHash = foldhash::fast::RandomState;
type FastSet<T> = HashSet<T, FastHash>;

/// Most knowledge-graph facts copied into the rule base.
const GRAPH_FACTS_LIMIT: usize = 1_000_000;

/// Aggregate statistics.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemStats {
    /// Distinct entities in the knowledge graph.
    pub total_entities: u64,
    /// Relations in the knowledge graph.
    pub total_relations: u64,
    /// Theorems proved and stored.
    pub total_theorems: u64,
    /// Learner updates applied (including delayed feedback).
    pub learning_iterations: u64,
    /// Steps finished.
    pub total_actions: u64,
    /// Mean reward over finished steps.
    pub average_reward: f64,
    /// Live sessions.
    pub sessions: u64,
    /// Steps that succeeded.
    pub successful_actions: u64,
    /// Steps denied by verification.
    pub denied_actions: u64,
}

/// The answer to a delayed `feedback` call.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackResult {
    /// The step the reward was for.
    pub action_id: String,
    /// The action that step ran.
    pub action: String,
    /// The learner's prediction before the update.
    pub predicted_before: f64,
    /// The prediction after the update.
    pub predicted_after: f64,
}

/// What a step needs between `begin` and `complete`.
struct InFlight {
    session: Arc<Session>,
    input: String,
    features: Arc<ContextFeatures>,
    action: Arc<ActionSpec>,
    view: ActionView,
    plan: Vec<String>,
    verification: Verification,
    entities: Vec<Entity>,
    /// The chunk had more than [`MAX_STEP_ENTITIES`] entities.
    entities_truncated: bool,
    propensity: f64,
    explored: bool,
    started: Instant,
    timeout_ms: u64,
}

/// What [`Engine::perceive`] makes of a chunk.
struct Perception {
    entities: Vec<Entity>,
    words: FastSet<String>,
    types: FastSet<String>,
    features: Arc<ContextFeatures>,
    params: Value,
    /// The chunk as kept in the session history (truncated).
    input: String,
    /// How long perceiving took (counted in the step's latency).
    took: std::time::Duration,
}

mod on_thread;
mod pipeline;

/// Batches of at least this many chunks are pipelined when no other batch runs.
pub const PIPELINE_MIN_CHUNKS: usize = 64;

/// Counts a running batch for as long as it lives.
struct ActiveBatch<'a> {
    count: &'a AtomicUsize,
    before: usize,
}

impl<'a> ActiveBatch<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        let before = count.fetch_add(1, Ordering::SeqCst);
        ActiveBatch { count, before }
    }

    /// True when no other batch was running when this one began.
    fn alone(&self) -> bool {
        self.before == 0
    }
}

impl Drop for ActiveBatch<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Running totals, updated without locks.
#[derive(Default)]
struct Counters {
    actions: AtomicU64,
    successes: AtomicU64,
    denied: AtomicU64,
    /// Sum of rewards in micro-units, so it can be atomic.
    reward_micros: std::sync::atomic::AtomicI64,
}

/// The Plan–Act–Observe–Learn engine.
pub struct Engine {
    config: SystemConfig,
    closed: AtomicBool,
    actions: ActionRegistry,
    sessions: DashMap<String, Arc<Session>, FastHash>,
    planner: Planner,
    extractor: EntityExtractor,
    graph: KnowledgeGraph,
    learner: Learner,
    verifier: RwLock<Arc<dyn Verifier>>,
    policies: Arc<PolicyEngine>,
    rules: Arc<RuleEngine>,
    /// Whether the rule base has any rule or fact (else preconditions are plain facts).
    rules_active: AtomicBool,
    /// Graph size when graph facts were last copied into the rule base.
    graph_synced: Mutex<(usize, usize)>,
    in_flight: DashMap<String, InFlight, FastHash>,
    finished: FinishedSteps,
    journal: Journal,
    bank: ReasoningBank,
    store: Arc<Store>,
    seq: AtomicU64,
    /// Threads running batches handed over from JS, one session per thread.
    workers: BatchWorkers,
    /// Which slice of a sliced batch may run next, per session.
    slice_chains: SliceChains,
    /// Batches running now (a batch running alone is pipelined).
    active_batches: AtomicUsize,
    counters: Counters,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Engine {
    /// Opens an engine with its store.
    pub fn open(config: SystemConfig) -> Result<Engine> {
        config.validate()?;
        let store = Arc::new(Store::open(&config.path)?);
        let journal = Journal::open(store.clone())?;
        let bank = ReasoningBank::open(store.clone(), config.bank_config()?)?;
        let learner_config = config.learner_config()?;
        let extractor = EntityExtractor::new()?;
        let graph = store.with_conn(|conn| {
            crate::knowledge::ensure_schema(conn)?;
            crate::knowledge::load_dictionaries(conn, &extractor)?;
            KnowledgeGraph::load(conn)
        })?;
        let learner = store.with_conn(|conn| {
            crate::learning::ensure_schema(conn)?;
            match Learner::load(conn, learner_config.clone())? {
                Some(l) => Ok(l),
                None => Learner::new(learner_config),
            }
        })?;
        let policies = Arc::new(PolicyEngine::new());
        if let Some(text) = &config.policies {
            policies.load(text, config.schema.as_deref())?;
        } else if config.schema.is_some() {
            return err(
                ErrorCode::InvalidConfig,
                "`schema` was given without `policies`; pass both",
            );
        }
        if let Some(entities) = &config.entities {
            policies.set_entities(&entities_text(entities))?;
        }
        let rules = Arc::new(RuleEngine::new());
        Ok(Engine {
            verifier: RwLock::new(Arc::new(FormalVerifier::new(
                policies.clone(),
                rules.clone(),
            ))),
            policies,
            rules,
            rules_active: AtomicBool::new(false),
            graph_synced: Mutex::new((0, 0)),
            planner: Planner::new(config.action_threshold, config.max_planning_depth),
            learner,
            config,
            closed: AtomicBool::new(false),
            actions: ActionRegistry::new(),
            sessions: DashMap::default(),
            extractor,
            graph,
            in_flight: DashMap::default(),
            finished: FinishedSteps::new(),
            journal,
            bank,
            store,
            seq: AtomicU64::new(0),
            workers: BatchWorkers::new(),
            slice_chains: SliceChains::default(),
            active_batches: AtomicUsize::new(0),
            counters: Counters::default(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &SystemConfig {
        &self.config
    }

    fn ensure_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            err(
                ErrorCode::Closed,
                "the system is closed; open a new one with LeanAgenticSystem.open()",
            )
        } else {
            Ok(())
        }
    }

    /// Replaces the verifier.
    pub fn set_verifier(&self, verifier: Arc<dyn Verifier>) {
        *self.verifier.write() = verifier;
    }

    /// Loads (replacing) the Cedar policy set, validated against `schema` when given.
    pub fn load_policies(&self, policies: &str, schema: Option<&str>) -> Result<PolicySetInfo> {
        self.ensure_open()?;
        self.policies.load(policies, schema)
    }

    /// Replaces the Cedar entities (agents, roles, resources) used by every decision.
    pub fn set_entities(&self, json: &str) -> Result<usize> {
        self.ensure_open()?;
        self.policies.set_entities(json)
    }

    /// The Cedar policy engine.
    pub fn policy_engine(&self) -> &Arc<PolicyEngine> {
        &self.policies
    }

    /// Verifies an action outside of a processed chunk.
    pub fn verify_action(&self, action: &ActionCheck, ctx: &CheckContext) -> Result<Verification> {
        self.ensure_open()?;
        if action.name.trim().is_empty() {
            return err(ErrorCode::InvalidInput, "verifyAction needs an action name");
        }
        let session = match &ctx.session_id {
            Some(id) => Some(self.session(id)?),
            None => None,
        };
        // Preconditions are proved first, with or without policies, exactly as the verify
        // stage of a step does.
        let mut proofs = Vec::new();
        if let Ok(spec) = self.actions.get(&action.name) {
            if !spec.preconditions.is_empty() {
                let facts = session.as_ref().map(|s| s.facts()).unwrap_or_default();
                match prove_preconditions(&self.rules, &spec.preconditions, &premises_of(facts)) {
                    Preconditions::Proved(p) => proofs = p,
                    Preconditions::Denied(v) => return Ok(v),
                }
            }
        }
        if !self.policies.has_policies() {
            let mut v = Verification::skipped(
                "no policies are loaded: call loadPolicies() or pass `policies` to open()",
            );
            attach_proofs(&mut v, proofs);
            return Ok(v);
        }
        let agent = ctx
            .agent_id
            .clone()
            .or_else(|| session.as_ref().map(|s| s.agent_id().to_string()))
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidInput,
                    "verifyAction needs a context with a sessionId (a session handle) or an agentId",
                )
            })?;
        let (history, steps) = session
            .as_ref()
            .map(|s| s.prior_steps())
            .unwrap_or_else(|| (Vec::new(), 0));
        let mut context = ctx.extra.clone();
        context.insert(
            "params".into(),
            if action.params.is_null() {
                json!({})
            } else {
                action.params.clone()
            },
        );
        context.insert(
            "priorSteps".into(),
            json!(ctx.prior_steps.clone().unwrap_or(history)),
        );
        context.insert(
            "approvals".into(),
            ctx.approvals.clone().unwrap_or_else(|| {
                session
                    .as_ref()
                    .map(|s| session_approvals(s))
                    .unwrap_or_else(|| json!([]))
            }),
        );
        if let Some(s) = &session {
            context.insert("session".into(), session_json(s));
        }
        context.insert("stepIndex".into(), json!(ctx.step_index.unwrap_or(steps)));
        let resource = action.resource.clone().unwrap_or_else(|| {
            let id = session
                .as_ref()
                .map(|s| s.id.clone())
                .unwrap_or_else(|| agent.clone());
            default_resource(&self.policies, &id)
        });
        let mut v = authorize_parts(
            &self.policies,
            &agent,
            &action.name,
            &resource,
            Value::Object(context),
        )?;
        attach_proofs(&mut v, proofs);
        Ok(v)
    }

    /// Adds rules (text syntax; facts in the text are asserted); returns the new rule ids.
    pub fn add_rules(&self, text: &str) -> Result<Vec<String>> {
        self.ensure_open()?;
        let ids = self.rules.add_rules(text)?;
        self.rules_active.store(true, Ordering::Relaxed);
        Ok(ids)
    }

    /// Asserts a ground fact, e.g. `approved(tx1)`.
    pub fn assert_fact(&self, text: &str) -> Result<()> {
        self.ensure_open()?;
        self.rules.assert_fact(text)?;
        self.rules_active.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Retracts an asserted fact; true when it was there.
    pub fn retract_fact(&self, text: &str) -> Result<bool> {
        self.ensure_open()?;
        self.rules.retract_fact(text)
    }

    /// Copies the knowledge graph's facts (`entity(Id)`, `place(Id)`, `works_at(A, B)`, ...)
    /// into the rule base, when the graph grew since the last copy.
    fn sync_graph_facts(&self) -> Result<()> {
        let stats = self.graph.stats();
        let mut synced = self.graph_synced.lock();
        if *synced == (stats.entities, stats.relations) {
            return Ok(());
        }
        let atoms = self
            .graph
            .logical_facts(GRAPH_FACTS_LIMIT)
            .into_iter()
            .map(|(pred, args)| {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                Atom::fact(pred, &refs)
            })
            .filter(|a| a.validate_fact().is_ok());
        if self.rules.assert_facts(atoms)? > 0 {
            self.rules_active.store(true, Ordering::Relaxed);
        }
        *synced = (stats.entities, stats.relations);
        Ok(())
    }

    /// Proves a goal from the rule base, the knowledge graph's facts and the given premises
    /// and extra rules. A proof is re-verified by the independent checker and stored as a
    /// theorem; a failure names the subgoals that could not be established.
    pub fn prove_theorem(
        &self,
        goal: &str,
        opts: &ProveOptions,
    ) -> Result<std::result::Result<Theorem, ProveOutcome>> {
        self.ensure_open()?;
        self.sync_graph_facts()?;
        match self.rules.prove(goal, opts)? {
            ProveOutcome::Proved(proof) => Ok(Ok(Theorem::from_proof(proof))),
            failed => Ok(Err(failed)),
        }
    }

    /// The stored theorems, oldest first.
    pub fn theorems(&self) -> Result<Vec<Theorem>> {
        self.ensure_open()?;
        Ok(self.rules.theorems())
    }

    /// The rule engine.
    pub fn rule_engine(&self) -> &Arc<RuleEngine> {
        &self.rules
    }

    /// Checks a whole workflow before it runs: temporal properties over every path, and a
    /// Cedar check of every step (when policies are loaded).
    pub fn verify_workflow(
        &self,
        workflow: &Workflow,
        properties: &[Property],
    ) -> Result<WorkflowReport> {
        self.ensure_open()?;
        verify_workflow(workflow, properties, Some(&self.policies))
    }

    /// Registers (or replaces) an action.
    pub fn register_action(&self, spec: ActionSpec) -> Result<()> {
        self.ensure_open()?;
        self.actions.register(spec).map(|_| ())
    }

    /// Names of registered actions.
    pub fn action_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.actions.names().into_iter().collect();
        v.sort();
        v
    }

    /// Creates a session, or updates an existing session's context (keeping its history).
    pub fn create_session(&self, id: &str, context: SessionContext) -> Result<()> {
        self.ensure_open()?;
        if id.trim().is_empty() || id.len() > 256 {
            return err(
                ErrorCode::InvalidInput,
                "session id must be a non-empty string of at most 256 characters",
            );
        }
        let fresh = Arc::new(Session::new(
            id.to_string(),
            context,
            self.config.history_window,
        ));
        if let Some(old) = self.sessions.get(id) {
            let history = old.history();
            let facts = old.facts();
            fresh.with_state(|st| {
                st.history = history.into();
                st.facts.extend(facts);
            });
        }
        self.sessions.insert(id.to_string(), fresh);
        Ok(())
    }

    /// Ends a session.
    pub fn end_session(&self, id: &str) -> Result<()> {
        self.ensure_open()?;
        self.slice_chains.forget(id);
        self.sessions
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| unknown_session(id))
    }

    fn session(&self, id: &str) -> Result<Arc<Session>> {
        self.sessions
            .get(id)
            .map(|s| s.clone())
            .ok_or_else(|| unknown_session(id))
    }

    /// A session's history window.
    pub fn history(&self, session_id: &str) -> Result<Vec<crate::agent::HistoryEntry>> {
        self.ensure_open()?;
        Ok(self.session(session_id)?.history())
    }

    fn check_chunk(&self, chunk: &str) -> Result<()> {
        if chunk.len() > self.config.max_chunk_bytes {
            return err(
                ErrorCode::ChunkTooLarge,
                format!(
                    "chunk is {} bytes, over the limit of {} (raise maxChunkBytes or split the text)",
                    chunk.len(),
                    self.config.max_chunk_bytes
                ),
            );
        }
        if chunk.trim().is_empty() {
            return err(
                ErrorCode::EmptyChunk,
                "chunk is empty; pass some text to process",
            );
        }
        Ok(())
    }

    /// Checks every chunk of a batch (size and emptiness) before any step runs; the error
    /// names the first bad chunk's index.
    pub fn check_chunks<S: AsRef<str>>(&self, chunks: &[S]) -> Result<()> {
        self.ensure_open()?;
        for (i, c) in chunks.iter().enumerate() {
            self.check_chunk(c.as_ref())
                .map_err(|e| Error::new(e.code, format!("chunk {i}: {}", e.message)))?;
        }
        Ok(())
    }

    /// Runs a step up to execution: finishes it natively, or hands it to a JS handler.
    pub fn begin(&self, session_id: &str, chunk: &str) -> Result<Begun> {
        self.begin_with(session_id, chunk, ResultDetail::Full)
    }

    /// [`Self::begin`] for a caller that wants `detail` of the result: with
    /// [`ResultDetail::Summary`] a finished step carries only what its [`StepSummary`]
    /// reads (no action description, tool calls, expected reward or built-in result), so
    /// nothing is built that would be thrown away. A step waiting for a handler is whole.
    fn begin_with(&self, session_id: &str, chunk: &str, detail: ResultDetail) -> Result<Begun> {
        self.ensure_open()?;
        let started = Instant::now();
        self.check_chunk(chunk)?;
        let session = self.session(session_id)?;
        self.registered_actions()?;
        let perception = self.perceive(&session, chunk)?;
        self.act(session, chunk, perception, started, detail, false)
    }

    /// The registered actions; fails when there are none.
    fn registered_actions(&self) -> Result<Arc<Vec<Arc<ActionSpec>>>> {
        let actions = self.actions.snapshot();
        if actions.is_empty() {
            return err(
                ErrorCode::UnknownAction,
                "no actions are registered; call registerAction first",
            );
        }
        Ok(actions)
    }

    /// The part of a step that reads no state that steps change: entities, words, entity
    /// types, learner features, action parameters.
    fn perceive(&self, session: &Session, chunk: &str) -> Result<Perception> {
        let began = Instant::now();
        let entities = self.extractor.extract(chunk);
        let words: FastSet<String> = tokenize(chunk).into_iter().collect();
        let types: FastSet<String> = entities.iter().map(|e| e.entity_type.key()).collect();
        // The step sees the first MAX_STEP_ENTITIES entities; the graph gets them all (`act`).
        let shown = &entities[..entities.len().min(MAX_STEP_ENTITIES)];
        let features = Arc::new(context_features(chunk, shown, session)?);
        let params = parameters(chunk, shown);
        Ok(Perception {
            entities,
            words,
            types,
            features,
            params,
            input: truncate(chunk, 200),
            took: began.elapsed(),
        })
    }

    /// The rest of a step, in session order: knowledge graph, plan, choice, verification,
    /// execution (or hand-off to a handler). In a `pipelined` batch the helper thread adds the
    /// chunk to the graph instead (see `engine/pipeline.rs`).
    fn act(
        &self,
        session: Arc<Session>,
        chunk: &str,
        perception: Perception,
        started: Instant,
        detail: ResultDetail,
        pipelined: bool,
    ) -> Result<Begun> {
        let Perception {
            mut entities,
            words: word_set,
            types: type_set,
            features,
            params,
            input,
            took: _,
        } = perception;
        let actions = self.registered_actions()?;
        let action_id = format!("act-{}", self.seq.fetch_add(1, Ordering::Relaxed) + 1);
        // A pipelined batch's helper thread adds the chunk to the graph (no step reads it).
        if !pipelined {
            self.graph.ingest(chunk, &entities, now_ms())?;
        }
        let entities_truncated = entities.len() > MAX_STEP_ENTITIES;
        entities.truncate(MAX_STEP_ENTITIES);

        // Plan.
        let facts = session.facts();
        let premises = std::cell::OnceCell::new();
        let holds = |atom: &str| {
            facts.contains(atom)
                || (self.rules_active.load(Ordering::Relaxed)
                    && self
                        .rules
                        .prove(
                            atom,
                            &ProveOptions {
                                premises: premises
                                    .get_or_init(|| premises_of(facts.iter().cloned()))
                                    .clone(),
                                ..ProveOptions::default()
                            },
                        )
                        .map(|o| o.is_proved())
                        .unwrap_or(false))
        };
        let plan = self.planner.plan(&actions, &word_set, &type_set, &holds);
        if plan.candidates.is_empty() {
            let reasons: Vec<String> = plan
                .blocked
                .iter()
                .map(|(a, missing)| format!("{a} needs {}", missing.join(", ")))
                .collect();
            return Ok(Begun::Done(Box::new(self.nothing_runnable(
                action_id,
                &session,
                params,
                (entities, entities_truncated),
                reasons,
                started,
            ))));
        }

        // Score and select.
        let candidates: Vec<Candidate> = plan
            .candidates
            .iter()
            .map(|c| Candidate::new(c.action.name.clone(), prior(c.relevance, &c.action)))
            .collect();
        let choice = self.learner.choose(&session.id, &features, &candidates)?;
        let chosen = &plan.candidates[choice.index];
        let first = self.actions.get(&chosen.plan[0])?;
        // A summary reads none of the view but its action name (parameters go to verification).
        let whole = detail == ResultDetail::Full || first.has_handler;
        let mut view = ActionView {
            action_type: first.name.clone(),
            description: String::new(),
            parameters: params,
            tool_calls: Vec::new(),
            expected_reward: 0.0,
        };
        if whole {
            view.description = first.description.clone();
            view.tool_calls = first.tool_calls.clone();
            view.expected_reward = self.learner.predict(&session.id, &features, &first.name);
        }

        // Verify.
        let verification = if self.config.enable_formal_verification {
            let (prior_steps, step_index) = session.prior_steps();
            // A summary does not return the parameters: verification keeps them uncopied.
            let params = if whole {
                Cow::Borrowed(&view.parameters)
            } else {
                Cow::Owned(std::mem::take(&mut view.parameters))
            };
            self.verifier.read().verify(VerifyRequest {
                session: &session,
                action: &first,
                params,
                prior_steps,
                step_index,
            })
        } else {
            Verification::skipped(
                "formal verification is disabled (enableFormalVerification: false)",
            )
        };
        let timeout_ms = first.timeout_ms.unwrap_or(self.config.handler_timeout_ms);
        let flight = InFlight {
            session,
            input,
            features,
            action: first.clone(),
            view,
            plan: chosen.plan.clone(),
            verification,
            entities,
            entities_truncated,
            propensity: choice.propensity,
            explored: choice.explored,
            started,
            timeout_ms,
        };

        if flight.verification.decision == Decision::Deny {
            let outcome = Outcome {
                success: false,
                result: Value::Null,
                denied: true,
                error: Some(format!(
                    "denied by verification: {}",
                    flight.verification.reasons.join("; ")
                )),
                error_code: Some("ERR_DENIED".into()),
                ..Outcome::default()
            };
            return self
                .finish(action_id, flight, outcome)
                .map(|r| Begun::Done(Box::new(r)));
        }
        if first.has_handler {
            let pending = PendingStep {
                action_id: action_id.clone(),
                session_id: flight.session.id.clone(),
                action: flight.view.clone(),
                plan: flight.plan.clone(),
                verification: flight.verification.clone(),
                entities: flight.entities.clone(),
                entities_truncated: flight.entities_truncated,
                timeout_ms,
            };
            self.in_flight.insert(action_id, flight);
            return Ok(Begun::Pending(Box::new(pending)));
        }
        let outcome = builtin_execute(&first, &flight.entities, chosen.relevance, whole);
        self.finish(action_id, flight, outcome)
            .map(|r| Begun::Done(Box::new(r)))
    }

    /// Completes a step that waited for its handler.
    pub fn complete(&self, action_id: &str, outcome: Outcome) -> Result<StepResult> {
        self.ensure_open()?;
        let (_, flight) = self.in_flight.remove(action_id).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("no step {action_id:?} is waiting for a handler result (already completed, or never started)"),
            )
        })?;
        self.finish(action_id.to_string(), flight, outcome)
    }

    /// Records the outcome of an action executed outside `processChunk` (a workflow step, a
    /// tool call seen by an agent hook): the learner learns from it in the context of `text`,
    /// and it is journaled and counted like any step. Unregistered action names are allowed.
    pub fn record_outcome(
        &self,
        session_id: &str,
        action: &str,
        text: &str,
        outcome: Outcome,
        latency_ms: f64,
    ) -> Result<StepResult> {
        self.ensure_open()?;
        if action.trim().is_empty() {
            return err(
                ErrorCode::InvalidInput,
                "recordOutcome needs the action name",
            );
        }
        if !latency_ms.is_finite() || latency_ms < 0.0 {
            return err(
                ErrorCode::InvalidInput,
                format!("latencyMs must be a non-negative number, got {latency_ms}"),
            );
        }
        self.check_chunk(text)?;
        let session = self.session(session_id)?;
        let spec = self.actions.get(action).unwrap_or_else(|_| {
            Arc::new(ActionSpec {
                name: action.to_string(),
                description: format!("{action} (executed outside the engine)"),
                keywords: vec![],
                tool_calls: vec![],
                preconditions: vec![],
                effects: vec![],
                expected_reward: None,
                has_handler: false,
                timeout_ms: None,
            })
        });
        let mut entities = self.extractor.extract(text);
        self.graph.ingest(text, &entities, now_ms())?;
        let entities_truncated = entities.len() > MAX_STEP_ENTITIES;
        entities.truncate(MAX_STEP_ENTITIES);
        let features = Arc::new(context_features(text, &entities, &session)?);
        let started = Instant::now()
            .checked_sub(std::time::Duration::from_secs_f64(latency_ms / 1e3))
            .unwrap_or_else(Instant::now);
        let action_id = format!("act-{}", self.seq.fetch_add(1, Ordering::Relaxed) + 1);
        let view = ActionView {
            action_type: spec.name.clone(),
            description: spec.description.clone(),
            parameters: parameters(text, &entities),
            tool_calls: spec.tool_calls.clone(),
            expected_reward: self.learner.predict(&session.id, &features, &spec.name),
        };
        let flight = InFlight {
            input: truncate(text, 200),
            features,
            view,
            plan: vec![spec.name.clone()],
            verification: Verification::skipped("an outcome recorded after an external execution"),
            entities,
            entities_truncated,
            propensity: 1.0,
            explored: false,
            started,
            timeout_ms: spec.timeout_ms.unwrap_or(self.config.handler_timeout_ms),
            action: spec,
            session,
        };
        self.finish(action_id, flight, outcome)
    }

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
    /// [`StepSummary`](super::StepSummary) reads.
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
        if batches.alone() && chunks.len() >= PIPELINE_MIN_CHUNKS {
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
    /// every chunk; otherwise nothing runs and the outcome is [`SKIPPED_SLICE_JSON`] (see
    /// `slice_chain`).
    pub fn spawn_batch_json(
        self: &Arc<Self>,
        session_id: String,
        chunks: Vec<String>,
        detail: ResultDetail,
        ticket: Option<SliceTicket>,
        done: impl FnOnce(Result<String>) + Send + 'static,
    ) -> Result<()> {
        self.ensure_open()?;
        let engine = self.clone();
        let key = session_id.clone();
        self.workers
            .run(
                &key,
                Box::new(move || {
                    if let Some(t) = ticket {
                        if !engine.slice_chains.may_run(&session_id, t) {
                            drop(engine);
                            done(Ok(SKIPPED_SLICE_JSON.to_string()));
                            return;
                        }
                    }
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        engine.batch_json(&session_id, &chunks, detail)
                    }))
                    .unwrap_or_else(|_| {
                        err(
                            ErrorCode::Internal,
                            "the engine panicked while processing the batch",
                        )
                    });
                    if let Some(t) = ticket {
                        let finished = matches!(outcome, Ok((_, true)));
                        engine.slice_chains.ended(&session_id, t, finished);
                    }
                    let outcome = outcome.map(|(json, _)| json);
                    // The engine may be dropped on this thread: release it before `done`.
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

    /// [`Self::process_batch`] as the JSON text of a [`BatchProgress`], written one step at a
    /// time into one pre-sized buffer (`{"results":[...],"pending":...}`: `pending` last, so a
    /// caller can tell a finished batch by the text's end without parsing it). With
    /// [`ResultDetail::Summary`] each finished step is a [`StepSummary`](super::StepSummary).
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
    fn batch_json<S: AsRef<str> + Sync>(
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

    fn finish(&self, action_id: String, flight: InFlight, outcome: Outcome) -> Result<StepResult> {
        let latency = flight.started.elapsed();
        let reward = reward_for(
            &outcome,
            latency.as_secs_f64() * 1e3,
            flight.timeout_ms as f64,
        );
        let (reward, learn_error) = match reward {
            Ok(r) => (r, None),
            Err(e) => (-1.0, Some(e)),
        };
        let learned = learn_error.is_none();
        if learned {
            self.learner.update(
                &flight.session.id,
                &flight.features,
                &flight.action.name,
                reward,
                flight.propensity,
            )?;
        }
        let success = outcome.success && learn_error.is_none();
        let now = now_ms();
        flight.session.record(
            crate::agent::HistoryEntry {
                step_id: action_id.clone(),
                input: flight.input.clone(),
                action: flight.action.name.clone(),
                success,
                reward,
                timestamp: now,
            },
            &flight.action.effects,
        );
        self.counters.actions.fetch_add(1, Ordering::Relaxed);
        if success {
            self.counters.successes.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.denied {
            self.counters.denied.fetch_add(1, Ordering::Relaxed);
        }
        self.counters
            .reward_micros
            .fetch_add((reward * 1e6) as i64, Ordering::Relaxed);
        self.journal.append(JournalRow {
            id: action_id.clone(),
            session: flight.session.id.clone(),
            action: flight.action.name.clone(),
            success,
            reward,
            propensity: flight.propensity,
            decision: flight.verification.decision.as_str().to_string(),
            latency_us: latency.as_micros() as u64,
            at_ms: now,
        })?;
        self.remember(&action_id, &flight);
        if let Some(e) = learn_error {
            return Err(e);
        }
        let changes = if success && outcome.changes.is_null() && !flight.action.effects.is_empty() {
            json!({ "effects": flight.action.effects })
        } else {
            outcome.changes
        };
        Ok(StepResult {
            action_id,
            session_id: flight.session.id.clone(),
            verified: flight.verification.decision == Decision::Allow,
            action: flight.view,
            plan: flight.plan,
            observation: Observation {
                success,
                result: outcome.result,
                changes,
                timestamp: now,
                error: outcome.error,
                error_code: outcome.error_code,
            },
            reward,
            verification: flight.verification,
            entities: flight.entities,
            entities_truncated: flight.entities_truncated,
            propensity: flight.propensity,
            explored: flight.explored,
            learned,
            latency_us: flight.started.elapsed().as_micros() as u64,
        })
    }

    fn remember(&self, action_id: &str, flight: &InFlight) {
        self.finished.remember(
            action_id,
            Finished {
                session: flight.session.id.clone(),
                features: flight.features.clone(),
                action: flight.action.name.clone(),
                propensity: flight.propensity,
            },
        );
    }

    fn nothing_runnable(
        &self,
        action_id: String,
        session: &Arc<Session>,
        params: Value,
        (entities, entities_truncated): (Vec<Entity>, bool),
        reasons: Vec<String>,
        started: Instant,
    ) -> StepResult {
        let message = format!("no action can run: {}", reasons.join("; "));
        StepResult {
            action_id,
            session_id: session.id.clone(),
            action: ActionView {
                action_type: "none".into(),
                description: "no registered action can run now".into(),
                parameters: params,
                tool_calls: vec![],
                expected_reward: 0.0,
            },
            plan: vec![],
            observation: Observation {
                success: false,
                result: Value::Null,
                changes: Value::Null,
                timestamp: now_ms(),
                error: Some(message.clone()),
                error_code: None,
            },
            reward: 0.0,
            verified: false,
            verification: Verification::skipped(message),
            entities,
            entities_truncated,
            propensity: 1.0,
            explored: false,
            learned: false,
            latency_us: started.elapsed().as_micros() as u64,
        }
    }

    /// Applies a delayed reward to a finished step.
    pub fn feedback(&self, action_id: &str, reward: f64) -> Result<FeedbackResult> {
        self.ensure_open()?;
        if !reward.is_finite() {
            return err(
                ErrorCode::InvalidReward,
                format!("reward must be a finite number, got {reward}"),
            );
        }
        let Finished {
            session,
            features,
            action: action_name,
            propensity,
        } = self.finished.get(action_id).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!(
                    "unknown action id {action_id:?}: feedback applies to the last {} steps",
                    FinishedSteps::WINDOW
                ),
            )
        })?;
        let before = self.learner.predict(&session, &features, &action_name);
        self.learner
            .update(&session, &features, &action_name, reward, propensity)?;
        let after = self.learner.predict(&session, &features, &action_name);
        Ok(FeedbackResult {
            action_id: action_id.to_string(),
            action: action_name,
            predicted_before: before,
            predicted_after: after,
        })
    }

    /// Aggregate statistics.
    pub fn stats(&self) -> Result<SystemStats> {
        self.ensure_open()?;
        let actions = self.counters.actions.load(Ordering::Relaxed);
        let graph = self.graph.stats();
        let reward_sum = self.counters.reward_micros.load(Ordering::Relaxed) as f64 / 1e6;
        Ok(SystemStats {
            total_entities: graph.entities as u64,
            total_relations: graph.relations as u64,
            total_theorems: self.rules.theorem_count() as u64,
            learning_iterations: self.learner.stats().iterations,
            total_actions: actions,
            average_reward: if actions == 0 {
                0.0
            } else {
                reward_sum / actions as f64
            },
            sessions: self.sessions.len() as u64,
            successful_actions: self.counters.successes.load(Ordering::Relaxed),
            denied_actions: self.counters.denied.load(Ordering::Relaxed),
        })
    }

    /// Writes buffered state (journal, learner) to the store.
    pub fn flush(&self) -> Result<()> {
        self.ensure_open()?;
        self.persist()
    }

    fn persist(&self) -> Result<()> {
        self.journal.flush()?;
        self.store.with_conn(|conn| {
            self.graph.flush(conn)?;
            self.learner.save(conn)
        })
    }

    /// The reasoning bank (agentic-flow-compatible memories and learnings).
    pub fn bank(&self) -> Result<&ReasoningBank> {
        self.ensure_open()?;
        Ok(&self.bank)
    }

    /// The knowledge graph.
    pub fn graph(&self) -> Result<&KnowledgeGraph> {
        self.ensure_open()?;
        Ok(&self.graph)
    }

    /// The entity extractor.
    pub fn extractor(&self) -> Result<&EntityExtractor> {
        self.ensure_open()?;
        Ok(&self.extractor)
    }

    /// Adds names of an entity type to the extractor's gazetteer and persists them, so they
    /// are back after a reopen. Returns how many names were new.
    pub fn add_dictionary(&self, entity_type: &str, names: &[String]) -> Result<usize> {
        self.ensure_open()?;
        let added = self.extractor.add_dictionary(entity_type, names)?;
        self.store
            .with_conn(|conn| crate::knowledge::save_dictionary(conn, entity_type, names))?;
        Ok(added)
    }

    /// Steps persisted in the store's journal.
    pub fn journal_count(&self) -> Result<u64> {
        self.ensure_open()?;
        self.journal.count()
    }

    /// Flushes everything and closes; later calls fail with `ERR_CLOSED`. Idempotent.
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.in_flight.clear();
        let persisted = self.persist();
        // The index side file is a cache: failing to write it must not keep the store open.
        let _ = self.bank.flush_index();
        let closed = self.store.close();
        persisted.and(closed)
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// A serialisation failure of a step result (an internal error: results are plain data).
fn json_error(e: serde_json::Error) -> Error {
    Error::new(
        ErrorCode::Internal,
        format!("cannot serialise a step result: {e}"),
    )
}

/// Cedar entities given as JSON text or as a JSON value.
fn entities_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The learner's view of a chunk: its words, entity types and the session's preferences.
fn context_features(
    chunk: &str,
    entities: &[Entity],
    session: &Session,
) -> Result<ContextFeatures> {
    let mut b = ContextFeatures::builder().text(chunk);
    for e in entities {
        b = b.entity_type(e.entity_type.as_str());
    }
    for (k, v) in &session.context.preferences {
        match v {
            Value::String(s) => b = b.preference(k, s),
            other => b = b.preference(k, &other.to_string()),
        }
    }
    b.build()
}

/// The planner's prior for a candidate, in [-1, 1]: its relevance and the caller's expected reward.
fn prior(relevance: f64, action: &ActionSpec) -> f64 {
    (0.5 * relevance + 0.5 * action.expected_reward.unwrap_or(0.0)).clamp(-1.0, 1.0)
}

fn unknown_session(id: &str) -> Error {
    Error::new(
        ErrorCode::UnknownSession,
        format!("unknown session {id:?}; create it with createContext({id:?}) first"),
    )
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The action's parameters: the text and its entities grouped by type.
fn parameters(chunk: &str, entities: &[Entity]) -> Value {
    let mut by_type: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in entities {
        by_type
            .entry(e.entity_type.as_str())
            .or_default()
            .push(&e.name);
    }
    // Keys in order: the parameters go into Cedar contexts, whose canonical text sorts keys.
    json!({ "entities": by_type, "text": chunk })
}

/// Executes an action that has no JS handler. Its result records what it acted on; it
/// succeeds when it was relevant to the chunk, with a reward equal to that relevance (in
/// (0, 1]), and fails with −1 when it was not relevant at all. Without `with_result` (a
/// summary is wanted) the result is left `null`: nothing else depends on it.
fn builtin_execute(
    action: &ActionSpec,
    entities: &[Entity],
    relevance: f64,
    with_result: bool,
) -> Outcome {
    let result = if with_result {
        let names: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
        json!({
            "handledBy": "builtin",
            "action": action.name,
            "summary": format!("{}: {}", action.name, action.description),
            "entities": names,
            "relevance": relevance,
        })
    } else {
        Value::Null
    };
    Outcome {
        success: relevance > 0.0,
        result,
        reward: Some(if relevance > 0.0 { relevance } else { -1.0 }),
        changes: Value::Null,
        error: if relevance > 0.0 {
            None
        } else {
            Some("the action was not relevant to the chunk".into())
        },
        ..Outcome::default()
    }
}

//! The engine: the loop's stages wired together, safe to share across threads.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use parking_lot::RwLock;
use serde::Serialize;
use serde_json::{json, Value};

use super::batch_workers::BatchWorkers;
use super::cedar_context::StepContext;
use super::config::SystemConfig;
use super::finished::{Finished, FinishedSteps};
use super::formal::{
    attach_proofs, authorize_parts, default_resource, premises_of, prove_preconditions,
    ActionCheck, CheckContext, FormalVerifier, Preconditions,
};
use super::graph_facts::GraphFacts;
use super::journal::{Journal, JournalRow};
use super::slice_chain::{SliceChains, SliceTicket, SKIPPED_SLICE_JSON};
use super::step::{
    ActionView, BatchProgress, Begun, Observation, PendingStep, RecordedStep, ResultDetail,
    StepResult,
};
use super::step_ids::StepIds;
use super::verify::{Decision, Verification, Verifier, VerifyRequest};
use crate::agent::planner::tokenize;
use crate::agent::{
    reward_for, ActionRegistry, ActionSpec, Enforcement, Ledger, Outcome, Planner, RunsConfig,
    Session, SessionContext, StepKind,
};
use crate::error::{err, Error, ErrorCode, Result};
use crate::knowledge::{Entity, EntityExtractor, KnowledgeGraph};
use crate::learning::{Candidate, ContextFeatures, Learner};
use crate::memory::{ReasoningBank, Store};
use crate::reasoning::rules::{ProveOptions, ProveOutcome, RuleEngine, Theorem};
use crate::reasoning::{
    verify_workflow_with, PolicyEngine, PolicySetInfo, Property, Workflow, WorkflowReport,
};

/// The hasher of the engine's maps (short string keys; foldhash, seeded per process).
type FastHash = foldhash::fast::RandomState;
type FastSet<T> = HashSet<T, FastHash>;

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
    /// Steps denied by verification (and so not run).
    pub denied_actions: u64,
    /// Steps verification denied that ran anyway under `enforcement: 'observe'`.
    pub would_deny_actions: u64,
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
    propensity: f64,
    explored: bool,
    started: Instant,
    timeout_ms: u64,
    /// The step counter of `action_id`.
    seq: u64,
    /// Verification denied the step and it runs anyway (observe mode).
    would_deny: bool,
    /// Parameters the session ledger sums (`null` for a chunk's own parameters).
    params: Value,
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
    would_deny: AtomicU64,
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
    /// Keeps the rule base's layer of knowledge-graph facts in step with the graph.
    graph_facts: GraphFacts,
    /// Windows and sums of `context.runs`.
    runs: Arc<RunsConfig>,
    in_flight: DashMap<String, InFlight, FastHash>,
    finished: FinishedSteps,
    journal: Journal,
    bank: ReasoningBank,
    store: Arc<Store>,
    ids: StepIds,
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
            graph_facts: GraphFacts::default(),
            runs: Arc::new(config.runs_config()?),
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
            ids: StepIds::new(),
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
                self.sync_graph_facts()?;
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
        let mut context = match &session {
            Some(s) => StepContext::of_session(s, action.params.clone()),
            None => StepContext {
                params: action.params.clone(),
                approvals: json!([]),
                ..StepContext::default()
            },
        };
        context.extra = ctx.extra.clone();
        if let Some(prior) = &ctx.prior_steps {
            context.prior.succeeded = prior.clone();
        }
        if let Some(approvals) = &ctx.approvals {
            context.approvals = approvals.clone();
        }
        if let Some(index) = ctx.step_index {
            context.prior.step_index = index;
        }
        if self.policies.reads(&action.name, "runs") {
            let actions = self.actions.snapshot();
            let names = actions
                .iter()
                .map(|a| a.name.as_str())
                .chain(std::iter::once(action.name.as_str()));
            context.runs = Some(match &session {
                Some(s) => s.runs_json(names, now_ms()),
                None => crate::agent::Ledger::new(self.runs.clone()).runs_json(names, now_ms()),
            });
        }
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
            context.build(),
        )?;
        attach_proofs(&mut v, proofs);
        Ok(v)
    }

    /// Adds rules (text syntax; facts in the text are asserted); returns the new rule ids.
    pub fn add_rules(&self, text: &str) -> Result<Vec<String>> {
        self.ensure_open()?;
        self.rules.add_rules(text)
    }

    /// Asserts a ground fact, e.g. `approved(tx1)`.
    pub fn assert_fact(&self, text: &str) -> Result<()> {
        self.ensure_open()?;
        self.rules.assert_fact(text)
    }

    /// Retracts an asserted fact; true when it was there.
    pub fn retract_fact(&self, text: &str) -> Result<bool> {
        self.ensure_open()?;
        self.rules.retract_fact(text)
    }

    /// Brings the rule base's layer of knowledge-graph facts (`entity(Id)`, `place(Id)`,
    /// `works_at(A, B)`, …) up to date: see `graph_facts`.
    fn sync_graph_facts(&self) -> Result<()> {
        self.graph_facts
            .sync(&self.graph, &self.rules, &self.actions.snapshot(), now_ms())
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
        let known = self.action_names();
        let runs_config = self.runs.clone();
        let reads_runs = |action: &str| self.policies.reads(action, "runs");
        // A step is checked on the context it will meet at run time (see `cedar_context`):
        // the actions guaranteed to have run before it as prior steps and runs.
        let context = |step: &crate::reasoning::WorkflowStep, prior: &[String], position: usize| {
            // `prior` holds each action as often as it is guaranteed to have run.
            let now = now_ms();
            let mut ledger = Ledger::new(runs_config.clone());
            for a in prior {
                ledger.record(a, StepKind::Succeeded, now, &Value::Null);
            }
            let mut ctx = StepContext {
                params: step.inputs.clone(),
                approvals: json!([]),
                ..StepContext::default()
            };
            ctx.prior.succeeded = ledger.succeeded().to_vec();
            ctx.prior.step_index = position as u64;
            ctx.extra.insert("workflowId".into(), json!(workflow.id));
            if reads_runs(&step.action) {
                let names = known
                    .iter()
                    .map(String::as_str)
                    .chain(std::iter::once(step.action.as_str()));
                ctx.runs = Some(ledger.runs_json(names, now));
            }
            ctx.build()
        };
        verify_workflow_with(workflow, properties, Some(&self.policies), &known, &context)
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
        let window = self.config.history_window;
        let fresh = match self.sessions.get(id).map(|s| s.clone()) {
            // A live session keeps everything it did; only its context changes.
            Some(old) => {
                let (ledger, history, facts, steps, total) = old.with_state(|st| {
                    (
                        st.ledger.clone(),
                        st.history.clone(),
                        st.facts.clone(),
                        st.steps,
                        st.total_reward,
                    )
                });
                let fresh = Session::with_ledger(id.to_string(), context, window, ledger);
                fresh.with_state(|st| {
                    st.history = history;
                    st.facts.extend(facts);
                    st.steps = steps;
                    st.total_reward = total;
                });
                fresh
            }
            None => self.restore_session(id, context)?,
        };
        self.sessions.insert(id.to_string(), Arc::new(fresh));
        Ok(())
    }

    /// A session not live in this engine: its ledger rebuilt from the journal (empty for a
    /// new id), the effects of its successful steps as facts.
    fn restore_session(&self, id: &str, context: SessionContext) -> Result<Session> {
        let rows = self.journal.session_rows(id)?;
        let mut ledger = Ledger::new(self.runs.clone());
        let mut effects = Vec::new();
        for row in &rows {
            let kind = step_kind(&row.decision, row.would_deny, row.success);
            ledger.record(&row.action, kind, row.at_ms, &row.nums);
            if kind == StepKind::Succeeded {
                if let Ok(spec) = self.actions.get(&row.action) {
                    effects.extend(spec.effects.iter().cloned());
                }
            }
        }
        let session =
            Session::with_ledger(id.to_string(), context, self.config.history_window, ledger);
        session.with_state(|st| {
            for e in effects {
                st.facts.insert(crate::agent::action::normalize_atom(&e));
            }
        });
        Ok(session)
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
        let features = Arc::new(context_features(chunk, &entities, session)?);
        let params = parameters(chunk, &entities);
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
            entities,
            words: word_set,
            types: type_set,
            features,
            params,
            input,
            took: _,
        } = perception;
        let actions = self.registered_actions()?;
        let (action_id, seq) = self.ids.next();
        // A pipelined batch's helper thread adds the chunk to the graph (no step reads it).
        if !pipelined {
            self.graph.ingest(chunk, &entities, now_ms())?;
        }

        // Plan.
        let facts = session.facts();
        let provable = actions.iter().any(|a| !a.preconditions.is_empty());
        if provable {
            self.sync_graph_facts()?;
        }
        let rules_active = provable && self.rules.is_active();
        let premises = std::cell::OnceCell::new();
        let holds = |atom: &str| {
            facts.contains(atom)
                || (rules_active
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
                action_id, &session, params, entities, reasons, started,
            ))));
        }

        // Score and select. The step runs the chosen plan's first action: it is credited
        // with the probability that the policy ran it (every candidate whose plan starts with
        // it) and, when built in, scored by its own relevance to the chunk.
        let candidates: Vec<Candidate> = plan
            .candidates
            .iter()
            .map(|c| Candidate::new(c.action.name.clone(), prior(c.relevance, &c.action)))
            .collect();
        let choice = self.learner.choose(&session.id, &features, &candidates)?;
        let chosen = &plan.candidates[choice.index];
        let first = self.actions.get(&chosen.plan[0])?;
        let propensity = ran_propensity(&plan.candidates, &choice.probabilities, &first.name);
        let relevance = if chosen.action.name == first.name {
            chosen.relevance
        } else {
            self.planner.relevance(&first, &word_set, &type_set)
        };
        let prerequisite = chosen.plan.len() > 1;
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
                known_actions: &actions,
                now_ms: now_ms(),
            })
        } else {
            Verification::skipped(
                "formal verification is disabled (enableFormalVerification: false)",
            )
        };
        let timeout_ms = first.timeout_ms.unwrap_or(self.config.handler_timeout_ms);
        let denied = verification.decision == Decision::Deny;
        let observe = session.enforcement(self.config.enforcement) == Enforcement::Observe;
        let flight = InFlight {
            session,
            input,
            features,
            action: first.clone(),
            view,
            plan: chosen.plan.clone(),
            verification,
            entities,
            propensity,
            explored: choice.explored,
            started,
            timeout_ms,
            seq,
            would_deny: denied && observe,
            params: Value::Null,
        };

        if denied && !observe {
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
                timeout_ms,
                would_deny: flight.would_deny,
            };
            self.in_flight.insert(action_id, flight);
            return Ok(Begun::Pending(Box::new(pending)));
        }
        let outcome = builtin_execute(&first, &flight.entities, relevance, prerequisite, whole);
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
    /// and it is journaled, counted and entered in the session's ledger like any step, with
    /// the caller's verification decision (`skipped` when none is given) and propensity (1 by
    /// default: the caller chose it). A recorded `deny` that did not succeed is a denied
    /// attempt (`deniedSteps`); one that succeeded ran anyway (`wouldDeny`). Unregistered
    /// action names are allowed.
    pub fn record_outcome(
        &self,
        session_id: &str,
        action: &str,
        text: &str,
        step: RecordedStep,
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
        let propensity = step.propensity.unwrap_or(1.0);
        if !(propensity.is_finite() && propensity > 0.0 && propensity <= 1.0) {
            return err(
                ErrorCode::InvalidInput,
                format!("propensity must be a number in (0, 1], got {propensity}"),
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
        let entities = self.extractor.extract(text);
        self.graph.ingest(text, &entities, now_ms())?;
        let features = Arc::new(context_features(text, &entities, &session)?);
        let started = Instant::now()
            .checked_sub(std::time::Duration::from_secs_f64(latency_ms / 1e3))
            .unwrap_or_else(Instant::now);
        let (action_id, seq) = self.ids.next();
        let view = ActionView {
            action_type: spec.name.clone(),
            description: spec.description.clone(),
            parameters: parameters(text, &entities),
            tool_calls: spec.tool_calls.clone(),
            expected_reward: self.learner.predict(&session.id, &features, &spec.name),
        };
        let decision = step.decision.unwrap_or(Decision::Skipped);
        let verification = Verification {
            decision,
            reasons: vec![match decision {
                Decision::Skipped => {
                    "an outcome recorded after an external execution (no decision given)".into()
                }
                d => format!(
                    "decided `{}` by the caller's verification before the external execution",
                    d.as_str()
                ),
            }],
            policy: None,
            details: serde_json::Map::new(),
        };
        let denied = decision == Decision::Deny && !step.outcome.success;
        let mut outcome = step.outcome;
        outcome.denied = denied;
        let flight = InFlight {
            input: truncate(text, 200),
            features,
            view,
            plan: vec![spec.name.clone()],
            verification,
            entities,
            propensity,
            explored: false,
            started,
            timeout_ms: spec.timeout_ms.unwrap_or(self.config.handler_timeout_ms),
            seq,
            would_deny: decision == Decision::Deny && !denied,
            params: step.params,
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
        let kind = if outcome.denied {
            StepKind::Denied
        } else if success {
            StepKind::Succeeded
        } else {
            StepKind::Failed
        };
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
            kind,
            &flight.params,
            &flight.action.effects,
        );
        self.counters.actions.fetch_add(1, Ordering::Relaxed);
        if success {
            self.counters.successes.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.denied {
            self.counters.denied.fetch_add(1, Ordering::Relaxed);
        }
        if flight.would_deny {
            self.counters.would_deny.fetch_add(1, Ordering::Relaxed);
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
            would_deny: flight.would_deny,
            policies: determining_ids_json(&flight.verification),
            nums: numeric_params_json(&flight.params),
        })?;
        self.remember(&flight, learned.then_some(reward));
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
            propensity: flight.propensity,
            explored: flight.explored,
            learned,
            would_deny: flight.would_deny,
            latency_us: flight.started.elapsed().as_micros() as u64,
        })
    }

    fn remember(&self, flight: &InFlight, learned: Option<f64>) {
        self.finished.remember(
            flight.seq,
            Finished {
                session: flight.session.id.clone(),
                features: flight.features.clone(),
                action: flight.action.name.clone(),
                propensity: flight.propensity,
                learned,
            },
        );
    }

    fn nothing_runnable(
        &self,
        action_id: String,
        session: &Arc<Session>,
        params: Value,
        entities: Vec<Entity>,
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
            propensity: 1.0,
            explored: false,
            learned: false,
            would_deny: false,
            latency_us: started.elapsed().as_micros() as u64,
        }
    }

    /// Applies a delayed reward to a finished step. A step the learner already learned from
    /// has its reward *replaced* (the learner moves as if the step had earned `reward`, see
    /// [`Learner::replace_reward`]); a step it did not learn from is learned now.
    pub fn feedback(&self, action_id: &str, reward: f64) -> Result<FeedbackResult> {
        self.ensure_open()?;
        if !reward.is_finite() {
            return err(
                ErrorCode::InvalidReward,
                format!("reward must be a finite number, got {reward}"),
            );
        }
        let not_found = || {
            let why = if StepIds::is_step_id(action_id) && self.ids.seq_of(action_id).is_none() {
                "it was issued by another system (another process, or before a reopen)".to_string()
            } else {
                format!(
                    "feedback applies to the last {} steps of this system",
                    FinishedSteps::WINDOW
                )
            };
            Error::new(
                ErrorCode::NotFound,
                format!("unknown action id {action_id:?}: {why}"),
            )
        };
        let seq = self.ids.seq_of(action_id).ok_or_else(not_found)?;
        let Finished {
            session,
            features,
            action: action_name,
            propensity,
            learned,
        } = self.finished.get(seq).ok_or_else(not_found)?;
        let before = self.learner.predict(&session, &features, &action_name);
        match learned {
            Some(old) => self.learner.replace_reward(
                &session,
                &features,
                &action_name,
                old,
                reward,
                propensity,
            )?,
            None => {
                self.learner
                    .update(&session, &features, &action_name, reward, propensity)?;
            }
        }
        self.finished.set_learned(seq, reward);
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
            would_deny_actions: self.counters.would_deny.load(Ordering::Relaxed),
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

/// What became of a step, from its decision, whether a denial ran anyway (observe mode) and
/// whether it succeeded: a denial that was enforced did not run.
fn step_kind(decision: &str, would_deny: bool, success: bool) -> StepKind {
    if decision == "deny" && !would_deny {
        StepKind::Denied
    } else if success {
        StepKind::Succeeded
    } else {
        StepKind::Failed
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
/// succeeds when it was relevant to the chunk — or ran as the prerequisite of a relevant plan
/// — with a reward equal to its own relevance (in [0, 1]), and fails with −1 when it was
/// neither. Without `with_result` (a summary is wanted) the result is left `null`: nothing
/// else depends on it.
fn builtin_execute(
    action: &ActionSpec,
    entities: &[Entity],
    relevance: f64,
    prerequisite: bool,
    with_result: bool,
) -> Outcome {
    let useful = relevance > 0.0 || prerequisite;
    let result = if with_result {
        let names: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
        json!({
            "handledBy": "builtin",
            "action": action.name,
            "summary": format!("{}: {}", action.name, action.description),
            "entities": names,
            "relevance": relevance,
            "prerequisite": prerequisite,
        })
    } else {
        Value::Null
    };
    Outcome {
        success: useful,
        result,
        reward: Some(if useful { relevance } else { -1.0 }),
        changes: Value::Null,
        error: if useful {
            None
        } else {
            Some("the action was not relevant to the chunk".into())
        },
        ..Outcome::default()
    }
}

/// The probability that the selection policy ran `action`: the sum of the probabilities of
/// the candidates whose plan starts with it (clamped to (0, 1] against rounding).
fn ran_propensity(
    candidates: &[crate::agent::Candidate],
    probabilities: &[f64],
    action: &str,
) -> f64 {
    let p: f64 = candidates
        .iter()
        .zip(probabilities)
        .filter(|(c, _)| c.plan.first().is_some_and(|f| f == action))
        .map(|(_, p)| p)
        .sum();
    p.clamp(f64::MIN_POSITIVE, 1.0)
}

/// The determining policy ids of a verification, as a JSON array.
fn determining_ids_json(v: &Verification) -> String {
    let ids: Vec<&str> = v
        .policy
        .as_deref()
        .map(|p| {
            p.determining_policies
                .iter()
                .map(|d| d.id.as_str())
                .collect()
        })
        .unwrap_or_default();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}

/// The numeric top-level parameters of a step as a JSON object (at most 32 of them).
fn numeric_params_json(params: &Value) -> String {
    let Some(obj) = params.as_object() else {
        return "{}".into();
    };
    let nums: serde_json::Map<String, Value> = obj
        .iter()
        .filter(|(_, v)| v.is_number())
        .take(32)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(nums).to_string()
}

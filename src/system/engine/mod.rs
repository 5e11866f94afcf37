//! The engine: the Plan–Act–Observe–Learn loop for many concurrent sessions.
//!
//! A chunk walks through one file per stage, in this order (the diagram in `lib.rs`):
//!
//! | stage | file | what it does |
//! |---|---|---|
//! | perceive | `perceive.rs` | entities, words, learner features, action parameters — read from the chunk alone |
//! | act | `act.rs` | knowledge graph → plan → select → verify → hand-off, one call each |
//! | execute | `execute.rs` | the built-in executor; the answer when nothing can run (a JS handler runs in between, outside the engine) |
//! | finish | `finish.rs` | reward → learner → session ledger and history → journal; `complete`, `record_outcome`, `feedback` |
//!
//! and around them: `sessions.rs` (sessions, re-created from the journal), `batch.rs` (many
//! chunks in session order; `pipeline.rs` runs perception ahead on a helper thread,
//! `on_thread.rs` one large step on the session's batch thread), `reasoning.rs` (policies,
//! `verifyAction`, rules and theorems, workflows — the formal side outside a step),
//! `evaluation.rs` (off-policy evaluation of a learner configuration on the journal). This file
//! holds the [`Engine`] itself: what it owns, opening and closing, statistics.
//!
//! **Why a step is split in two.** `begin` runs everything up to execution; when the chosen
//! action has a JS handler it returns a [`PendingStep`] and keeps the step's state
//! ([`InFlight`]) until `complete` brings the handler's outcome. The engine holds no lock
//! while JS runs, so other sessions (and other steps of this process) go on.
//!
//! **Why sessions never wait on each other.** Sessions live in a concurrent map and lock only
//! themselves; the learner's global model is lock-free, the graph is sharded, the policy
//! engine's snapshot is swapped atomically, and the journal is written by a thread of its own.
//! A session's own steps are sequential: each reads what the one before changed (learner,
//! ledger, facts).
//!
//! **One way to build a step.** Every step begins as a [`StepStart`] (id, session, chunk,
//! what perception found) and runs what was [`Decided`] about its action (by the verify stage,
//! or by a caller recording an execution elsewhere); [`InFlight::new`] joins the two, and a
//! step in which nothing can run is answered from its `StepStart` alone.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

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
use super::journal::{Journal, JournalRow, Sink as JournalSink};
use super::slice_chain::{SliceChains, SliceState, SliceTicket};
use super::step::{
    ActionView, BatchProgress, Begun, Observation, PendingStep, RecordedStep, ResultDetail,
    StepResult, MAX_STEP_ENTITIES,
};
use super::step_ids::StepIds;
use super::verify::{Verdict, Verification, Verifier, VerifyRequest};
use crate::agent::planner::tokenize;
use crate::agent::Plan;
use crate::agent::{
    reward_for, ActionRegistry, ActionSpec, Enforcement, HandlerOutcome, Ledger, Planner,
    RunsConfig, Session, SessionContext, StepKind,
};
use crate::error::{err, Error, ErrorCode, Result};
use crate::knowledge::{Entity, EntityExtractor, KnowledgeGraph};
use crate::learning::{ArmCandidate, ContextFeatures, Learner};
use crate::memory::{Bank, Store};
use crate::reasoning::rules::{ProveOptions, ProveOutcome, RuleEngine, Theorem};
use crate::reasoning::{
    verify_workflow_with, PolicyEngine, PolicySetInfo, Property, Workflow, WorkflowReport,
};
use crate::time::now_ms;

use crate::fast_hash::{FastHash, FastSet};

/// Aggregate statistics.
#[cfg_attr(test, derive(ts_rs::TS))]
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
    /// How uncached policy decisions were made: compiled, mixed, interpreted (and fallbacks).
    pub policy_evaluation: crate::reasoning::EvaluationStats,
    /// The decision cache: entries, capacity, hits, misses, evictions.
    pub policy_cache: crate::reasoning::CacheStats,
    /// The learner: rewards received, their mean and recent mean, drift alarms, the share of
    /// choices that explored.
    pub learner: crate::learning::LearnerStats,
}

/// The answer to a delayed `feedback` call.
#[cfg_attr(test, derive(ts_rs::TS))]
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

/// What a step needs between `begin` and `complete`: where it began ([`StepStart`]) and what
/// was decided about the action it runs ([`Decided`]). Built only by [`InFlight::new`].
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
    /// The step counter of the step's id.
    seq: u64,
    /// Verification denied the step and it runs anyway (observe mode).
    would_deny: bool,
    /// Parameters the session ledger sums (`null` for a chunk's own parameters).
    params: Value,
    /// The learner's choice as the journal keeps it (none for a recorded outcome).
    choice: Option<Box<crate::learning::ChoiceLog>>,
}

/// Where every step begins, however it ends (run, denied, nothing runnable, recorded): its
/// id, its session, the chunk and what perception made of it.
struct StepStart {
    action_id: String,
    seq: u64,
    session: Arc<Session>,
    /// The chunk as kept in the session history (truncated).
    input: String,
    features: Arc<ContextFeatures>,
    entities: Vec<Entity>,
    entities_truncated: bool,
    started: Instant,
}

impl StepStart {
    /// A step of `session` with the next step id.
    fn new(
        ids: &StepIds,
        session: Arc<Session>,
        input: String,
        features: Arc<ContextFeatures>,
        (entities, entities_truncated): (Vec<Entity>, bool),
        started: Instant,
    ) -> StepStart {
        let (action_id, seq) = ids.next();
        StepStart {
            action_id,
            seq,
            session,
            input,
            features,
            entities,
            entities_truncated,
            started,
        }
    }
}

/// What was decided about the action a step runs: the verify stage's answer, or what a caller
/// recorded of an execution elsewhere.
struct Decided {
    action: Arc<ActionSpec>,
    view: ActionView,
    plan: Vec<String>,
    verification: Verification,
    propensity: f64,
    explored: bool,
    timeout_ms: u64,
    /// Verification denied the step and the denial is enforced: it does not run.
    enforced_deny: bool,
    /// Verification denied the step and it runs anyway (observe mode).
    would_deny: bool,
    /// Parameters the session ledger sums.
    params: Value,
    /// For a built-in: its relevance to the chunk and whether it runs as a prerequisite.
    builtin: Option<(f64, bool)>,
    /// Whether the caller wants the whole result (not a summary).
    whole: bool,
    /// The learner's choice as the journal keeps it (none for a recorded outcome).
    choice: Option<Box<crate::learning::ChoiceLog>>,
}

impl InFlight {
    /// The step that began as `start` and runs what `decided` says; returns its id too.
    fn new(start: StepStart, decided: Decided) -> (String, InFlight) {
        let flight = InFlight {
            session: start.session,
            input: start.input,
            features: start.features,
            action: decided.action,
            view: decided.view,
            plan: decided.plan,
            verification: decided.verification,
            entities: start.entities,
            entities_truncated: start.entities_truncated,
            propensity: decided.propensity,
            explored: decided.explored,
            started: start.started,
            timeout_ms: decided.timeout_ms,
            seq: start.seq,
            would_deny: decided.would_deny,
            params: decided.params,
            choice: decided.choice,
        };
        (start.action_id, flight)
    }

    /// What a JS handler is given of this step.
    fn pending(&self, action_id: &str) -> PendingStep {
        PendingStep {
            action_id: action_id.to_string(),
            session_id: self.session.id.clone(),
            action: self.view.clone(),
            plan: self.plan.clone(),
            verification: self.verification.clone(),
            entities: self.entities.clone(),
            entities_truncated: self.entities_truncated,
            timeout_ms: self.timeout_ms,
            would_deny: self.would_deny,
        }
    }
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

mod act;
mod batch;
mod evaluation;
mod execute;
mod finish;
mod on_thread;
mod perceive;
mod pipeline;
mod rank;
pub use rank::{BlockedAction, RankedAction, Ranking};
mod reasoning;
mod sessions;

use perceive::{context_features, parameters, truncate};
use reasoning::entities_text;

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
    bank: Bank,
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

impl Engine {
    /// Opens an engine with its store.
    pub fn open(config: SystemConfig) -> Result<Engine> {
        config.validate()?;
        let store = Arc::new(Store::open(&config.path)?);
        let bank = Bank::open(store.clone(), config.bank_config()?)?;
        // The step journal goes where the bank goes: the local store, or the shared PostgreSQL.
        #[cfg(not(target_family = "wasm"))]
        let sink = match bank.postgres() {
            Some(pg) => JournalSink::Postgres(pg),
            None => JournalSink::Sqlite(store.clone()),
        };
        #[cfg(target_family = "wasm")]
        let sink = JournalSink::Sqlite(store.clone());
        let journal = Journal::open(sink)?;
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
        policies
            .set_compiled(config.policy_evaluation == crate::reasoning::EvaluationMode::Compiled);
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
            planner: Planner::new(config.action_threshold, config.max_planning_depth)
                .with_no_relevant(config.no_relevant_action),
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

    pub(super) fn ensure_open(&self) -> Result<()> {
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
            policy_evaluation: self.policies.evaluation_stats(),
            policy_cache: self.policies.cache_stats(),
            learner: self.learner.stats(),
        })
    }

    /// Writes buffered state (journal, learner) to the store.
    pub fn flush(&self) -> Result<()> {
        self.ensure_open()?;
        self.persist()
    }

    pub(super) fn persist(&self) -> Result<()> {
        self.journal.flush()?;
        self.store.with_conn(|conn| {
            self.graph.flush(conn)?;
            self.learner.save(conn)
        })
    }

    /// The reasoning bank (agentic-flow-compatible memories and learnings).
    pub fn bank(&self) -> Result<&Bank> {
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

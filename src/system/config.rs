//! System configuration: defaults, validation and helpful errors.
//!
//! Config arrives from JS as a JSON object. Unknown keys are rejected with the closest known
//! key as a hint (`learningrate` → "did you mean `learningRate`?"), and every number is
//! range-checked with a message that names the field and its allowed range.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::agent::{Enforcement, NoRelevantAction};
use crate::error::{err, Error, ErrorCode, Result};
pub use crate::text::closest;

/// The default store location, relative to the working directory.
pub const DEFAULT_STORE_PATH: &str = "./.lean-agentic/store.db";

/// Configuration of a [`super::Engine`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SystemConfig {
    /// Store file; `:memory:` keeps everything in memory.
    pub path: String,
    /// Verify every action before it runs.
    pub enable_formal_verification: bool,
    /// Learner step size, in (0, 10].
    pub learning_rate: f64,
    /// Longest precondition chain the planner builds, 1..=32.
    pub max_planning_depth: usize,
    /// Minimum relevance for an action to be considered, in [0, 1].
    pub action_threshold: f64,
    /// What a step does when no action reaches `action_threshold`: `choose` (the learner picks
    /// among all) or `skip` (no action runs).
    pub no_relevant_action: NoRelevantAction,
    /// Share of choices spent exploring, in [0, 1].
    pub exploration_rate: f64,
    /// Safe exploration: verify each candidate before the learner draws, so exploration is
    /// never spent on an action the verifier would deny.
    pub safe_exploration: bool,
    /// Steps of history each session keeps, 1..=100000.
    pub history_window: usize,
    /// Largest accepted chunk in bytes, 1..=64 MiB.
    pub max_chunk_bytes: usize,
    /// Default handler timeout in milliseconds.
    pub handler_timeout_ms: u64,
    /// Seed for exploration randomness (reproducible runs); random when absent.
    pub seed: Option<u64>,
    /// Advanced learner options (exploration strategy, drift detection, adaptation, hashing):
    /// a [`crate::learning::LearnerConfig`] object. `learningRate`, `explorationRate` and `seed`
    /// above apply unless this object sets them itself.
    pub learner: Option<Value>,
    /// Cedar policies to load at open (see `loadPolicies`).
    pub policies: Option<String>,
    /// Optional Cedar schema (human or JSON syntax) validating `policies` in strict mode.
    pub schema: Option<String>,
    /// Cedar entities (JSON array or its text): agents, roles, resources and their hierarchy.
    pub entities: Option<Value>,
    /// Reasoning-bank options ([`crate::memory::BankConfig`]: caps, eviction, consolidation).
    pub bank: Option<Value>,
    /// What a denied step does: `enforce` (it does not run) or `observe` (it runs and is
    /// recorded as `wouldDeny`); sessions may override it.
    pub enforcement: Enforcement,
    /// Windows and parameter sums of `context.runs` ([`crate::agent::RunsConfig`]).
    pub runs: Option<Value>,
    /// How policies are evaluated: `compiled` (the default: policies in the supported Cedar
    /// subset run on the compiled evaluator) or `interpreted` (Cedar's interpreter for all).
    /// Decisions are the same either way.
    pub policy_evaluation: crate::reasoning::EvaluationMode,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            path: DEFAULT_STORE_PATH.to_string(),
            enable_formal_verification: true,
            learning_rate: 0.1,
            max_planning_depth: 3,
            action_threshold: 0.1,
            no_relevant_action: NoRelevantAction::Choose,
            exploration_rate: 0.02,
            safe_exploration: true,
            history_window: 20,
            max_chunk_bytes: 1 << 20,
            handler_timeout_ms: 30_000,
            seed: None,
            learner: None,
            policies: None,
            schema: None,
            entities: None,
            bank: None,
            enforcement: Enforcement::Enforce,
            runs: None,
            policy_evaluation: crate::reasoning::EvaluationMode::Compiled,
        }
    }
}

/// The keys `SystemConfig` accepts, as spelled in JS.
pub const CONFIG_KEYS: &[&str] = &[
    "path",
    "enableFormalVerification",
    "learningRate",
    "maxPlanningDepth",
    "actionThreshold",
    "noRelevantAction",
    "explorationRate",
    "safeExploration",
    "historyWindow",
    "maxChunkBytes",
    "handlerTimeoutMs",
    "seed",
    "learner",
    "policies",
    "schema",
    "entities",
    "bank",
    "enforcement",
    "runs",
    "policyEvaluation",
];

impl SystemConfig {
    /// Parses and validates a config object (`null`/absent means all defaults).
    pub fn from_json(value: &Value) -> Result<Self> {
        let obj = match value {
            Value::Null => return Ok(SystemConfig::default()),
            Value::Object(o) => o,
            other => {
                return err(
                    ErrorCode::InvalidConfig,
                    format!("config must be an object, got {}", json_type(other)),
                )
            }
        };
        if let Some(e) = obj.get("enforcement") {
            Enforcement::parse(e)?;
        }
        if let Some(v) = obj.get("noRelevantAction") {
            NoRelevantAction::parse(v)?;
        }
        if let Some(v) = obj.get("policyEvaluation") {
            if !matches!(v.as_str(), Some("compiled" | "interpreted")) {
                return err(
                    ErrorCode::InvalidConfig,
                    format!("policyEvaluation must be \"compiled\" or \"interpreted\", got {v}"),
                );
            }
        }
        if let Some(message) = crate::text::unknown_key(obj.keys(), CONFIG_KEYS, "config key") {
            return err(ErrorCode::InvalidConfig, message);
        }
        let cfg: SystemConfig = serde_json::from_value(value.clone())
            .map_err(|e| Error::new(ErrorCode::InvalidConfig, format!("invalid config: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The learner's configuration: the `learner` object with the top-level shorthands filled in.
    pub fn learner_config(&self) -> Result<crate::learning::LearnerConfig> {
        let mut obj = match &self.learner {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(o)) => o.clone(),
            Some(other) => {
                return err(
                    ErrorCode::InvalidConfig,
                    format!("learner must be an object, got {}", json_type(other)),
                )
            }
        };
        obj.entry("learningRate")
            .or_insert(serde_json::json!(self.learning_rate));
        obj.entry("seed").or_insert(serde_json::json!(self.seed));
        obj.entry("exploration").or_insert(
            serde_json::json!({ "strategy": "epsilonGreedy", "epsilon": self.exploration_rate }),
        );
        crate::learning::LearnerConfig::from_value(&Value::Object(obj))
    }

    /// The reasoning bank's configuration (defaults when absent).
    pub fn bank_config(&self) -> Result<crate::memory::BankConfig> {
        match &self.bank {
            None | Some(Value::Null) => Ok(crate::memory::BankConfig::default()),
            Some(v) => crate::memory::BankConfig::from_json(v),
        }
    }

    /// The `context.runs` configuration (defaults when absent).
    pub fn runs_config(&self) -> Result<crate::agent::RunsConfig> {
        match &self.runs {
            None | Some(Value::Null) => Ok(crate::agent::RunsConfig::default()),
            Some(v) => crate::agent::RunsConfig::from_json(v),
        }
    }

    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        range_f64("learningRate", self.learning_rate, 0.0, 10.0, false)?;
        range_f64("actionThreshold", self.action_threshold, 0.0, 1.0, true)?;
        range_f64("explorationRate", self.exploration_rate, 0.0, 1.0, true)?;
        range_usize("maxPlanningDepth", self.max_planning_depth, 1, 32)?;
        range_usize("historyWindow", self.history_window, 1, 100_000)?;
        range_usize("maxChunkBytes", self.max_chunk_bytes, 1, 64 << 20)?;
        if self.handler_timeout_ms == 0 || self.handler_timeout_ms > 3_600_000 {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "handlerTimeoutMs must be between 1 and 3600000 milliseconds, got {}",
                    self.handler_timeout_ms
                ),
            );
        }
        self.learner_config()?;
        self.bank_config()?;
        self.runs_config()?;
        if self.path.trim().is_empty() {
            return err(
                ErrorCode::InvalidConfig,
                "path must be a file path or ':memory:', got an empty string",
            );
        }
        Ok(())
    }
}

fn range_f64(name: &str, v: f64, lo: f64, hi: f64, lo_inclusive: bool) -> Result<()> {
    let ok = v.is_finite() && (if lo_inclusive { v >= lo } else { v > lo }) && v <= hi;
    if ok {
        Ok(())
    } else {
        let open = if lo_inclusive { '[' } else { '(' };
        err(
            ErrorCode::InvalidConfig,
            format!("{name} must be a finite number in {open}{lo}, {hi}], got {v}"),
        )
    }
}

fn range_usize(name: &str, v: usize, lo: usize, hi: usize) -> Result<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        err(
            ErrorCode::InvalidConfig,
            format!("{name} must be an integer from {lo} to {hi}, got {v}"),
        )
    }
}

/// The JSON type name of a value, for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

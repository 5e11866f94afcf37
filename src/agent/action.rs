//! Registered actions and their registry.
//!
//! An action is what an agent can do: a name, a description, keywords that make it relevant,
//! the tool calls it stands for, and — for planning and verification — `preconditions` that
//! must hold before it runs and `effects` it establishes when it succeeds. Both are atoms
//! written like `authenticated(user)`.
//!
//! The registry is read on every chunk and written rarely, so it is a copy-on-write
//! snapshot: readers clone an `Arc` and never block each other.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::error::{err, ErrorCode, Result};
use crate::reasoning::rules::parse_atom;

/// A registered action, as given by the caller.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionSpec {
    /// Unique name, also the Cedar action id.
    pub name: String,
    /// What the action does, in words; its words count towards relevance.
    #[serde(default)]
    pub description: String,
    /// Words (or entity types such as `Place`) that make the action relevant to a chunk.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Tool calls the action stands for (informational, passed to handlers).
    #[serde(default)]
    pub tool_calls: Vec<String>,
    /// Atoms that must hold before the action runs.
    #[serde(default)]
    pub preconditions: Vec<String>,
    /// Atoms the action establishes when it succeeds.
    #[serde(default)]
    pub effects: Vec<String>,
    /// The caller's prior estimate of the reward, in [-1, 1]; used before anything is learned.
    #[serde(default)]
    pub expected_reward: Option<f64>,
    /// Whether a JS handler executes this action (set by the binding, not by users).
    #[serde(default)]
    pub has_handler: bool,
    /// Per-action handler timeout in milliseconds (defaults to the system's `handlerTimeoutMs`).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl ActionSpec {
    /// An action known only by name and description: no keywords, preconditions, effects or
    /// handler (an action executed outside the engine, a test's or benchmark's action).
    pub fn named(name: &str, description: impl Into<String>) -> ActionSpec {
        ActionSpec {
            name: name.to_string(),
            description: description.into(),
            keywords: vec![],
            tool_calls: vec![],
            preconditions: vec![],
            effects: vec![],
            expected_reward: None,
            has_handler: false,
            timeout_ms: None,
        }
    }

    /// Checks names, atoms and numbers; returns the normalised spec.
    pub fn validated(mut self) -> Result<Self> {
        let name = self.name.trim();
        if name.is_empty() {
            return err(
                ErrorCode::InvalidInput,
                "action name must be a non-empty string",
            );
        }
        if name.len() > 200 || name.chars().any(|c| c.is_control() || c == '"') {
            return err(
                ErrorCode::InvalidInput,
                format!("action name {name:?} must be at most 200 characters without quotes or control characters"),
            );
        }
        self.name = name.to_string();
        if let Some(r) = self.expected_reward {
            if !r.is_finite() {
                return err(
                    ErrorCode::InvalidReward,
                    format!(
                        "expectedReward of action {:?} must be a finite number",
                        self.name
                    ),
                );
            }
        }
        if self.timeout_ms == Some(0) {
            return err(
                ErrorCode::InvalidInput,
                "timeoutMs must be a positive number of milliseconds",
            );
        }
        for atom in self.preconditions.iter().chain(self.effects.iter()) {
            validate_atom(atom)?;
        }
        self.keywords = self
            .keywords
            .iter()
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
        Ok(self)
    }
}

/// Checks that `atom` is an atom of the rule language: `pred` or `pred(arg, ...)`, where
/// arguments are lowercase constants, numbers, quoted strings or (in preconditions)
/// variables.
pub fn validate_atom(atom: &str) -> Result<()> {
    parse_atom(atom).map(|_| ()).map_err(|e| {
        crate::error::Error::new(
            ErrorCode::InvalidInput,
            format!(
                "{atom:?} is not an atom: write preconditions and effects like `name` or `name(arg1, arg2)` ({})",
                e.message
            ),
        )
    })
}

/// The canonical spelling of an atom (as the rule engine prints it), so `p( a,b )` and
/// `p(a, b)` compare equal; text that does not parse is only trimmed.
pub fn normalize_atom(atom: &str) -> String {
    match parse_atom(atom) {
        Ok(a) => a.to_string(),
        Err(_) => atom.trim().to_string(),
    }
}

/// The set of registered actions: a copy-on-write snapshot, cheap to read from many threads.
#[derive(Default)]
pub struct ActionRegistry {
    snapshot: RwLock<Arc<Vec<Arc<ActionSpec>>>>,
}

impl ActionRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces, by name) an action. Returns true when it replaced one.
    pub fn register(&self, spec: ActionSpec) -> Result<bool> {
        let spec = Arc::new(spec.validated()?);
        let mut guard = self.snapshot.write();
        let mut next: Vec<Arc<ActionSpec>> = guard.as_ref().clone();
        let replaced = match next.iter().position(|a| a.name == spec.name) {
            Some(i) => {
                next[i] = spec;
                true
            }
            None => {
                next.push(spec);
                false
            }
        };
        *guard = Arc::new(next);
        Ok(replaced)
    }

    /// Removes an action by name.
    pub fn unregister(&self, name: &str) -> Result<()> {
        let mut guard = self.snapshot.write();
        let before = guard.len();
        let next: Vec<Arc<ActionSpec>> = guard.iter().filter(|a| a.name != name).cloned().collect();
        if next.len() == before {
            return err(
                ErrorCode::UnknownAction,
                format!("no action named {name:?} is registered"),
            );
        }
        *guard = Arc::new(next);
        Ok(())
    }

    /// The current snapshot of all actions.
    pub fn snapshot(&self) -> Arc<Vec<Arc<ActionSpec>>> {
        self.snapshot.read().clone()
    }

    /// Looks an action up by name.
    pub fn get(&self, name: &str) -> Result<Arc<ActionSpec>> {
        self.snapshot
            .read()
            .iter()
            .find(|a| a.name == name)
            .cloned()
            .ok_or_else(|| {
                crate::error::Error::new(
                    ErrorCode::UnknownAction,
                    format!("no action named {name:?} is registered; call registerAction first"),
                )
            })
    }

    /// Names of all registered actions.
    pub fn names(&self) -> HashSet<String> {
        self.snapshot
            .read()
            .iter()
            .map(|a| a.name.clone())
            .collect()
    }
}

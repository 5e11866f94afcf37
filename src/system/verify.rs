//! The verification stage's interface.
//!
//! The engine asks a [`Verifier`] about every selected action before it runs. A verifier
//! answers allow, deny (the action is not executed) or skipped (nothing to verify against);
//! `verified` is true only for a real allow, never for skipped.

use serde::Serialize;
use serde_json::Value;

use crate::agent::{ActionSpec, Session};

/// The verdict of a verifier.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The action may run.
    Allow,
    /// The action must not run.
    Deny,
    /// Nothing was verified (verification off, or no verifier configured).
    Skipped,
}

/// A verifier's full answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// Allow, deny or skipped.
    pub decision: Decision,
    /// Human-readable reasons.
    pub reasons: Vec<String>,
    /// Verifier-specific details (determining policies, certificate, proofs), as JSON.
    #[serde(flatten)]
    pub details: serde_json::Map<String, Value>,
}

impl Verification {
    /// A skipped verification with one reason.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Verification {
            decision: Decision::Skipped,
            reasons: vec![reason.into()],
            details: Default::default(),
        }
    }
}

/// What a verifier is asked about.
pub struct VerifyRequest<'a> {
    /// The session the step belongs to.
    pub session: &'a Session,
    /// The action about to run.
    pub action: &'a ActionSpec,
    /// The action's parameters.
    pub params: &'a Value,
    /// Names of actions this session ran before, oldest first (within the history window).
    pub prior_steps: &'a [String],
    /// The step's index in its session.
    pub step_index: u64,
}

/// Decides whether an action may run. Implementations must be cheap and thread-safe.
pub trait Verifier: Send + Sync {
    /// Verifies one step.
    fn verify(&self, request: &VerifyRequest<'_>) -> Verification;
}

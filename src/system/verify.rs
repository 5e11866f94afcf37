//! The verification stage's interface.
//!
//! The engine asks a [`Verifier`] about every selected action before it runs. A verifier
//! answers allow, deny (the action is not executed) or skipped (nothing to verify against);
//! `verified` is true only for a real allow, never for skipped.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::{ActionSpec, Session};
use crate::reasoning::policy::{Certificate, NearMiss, PolicyRef};

/// The verdict of a verifier.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
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
    pub decision: Verdict,
    /// Human-readable reasons.
    pub reasons: Vec<String>,
    /// What the Cedar policies said, when they were consulted (flattened into this object).
    #[serde(flatten)]
    pub policy: Option<Box<PolicyDetails>>,
    /// Other verifier-specific details (precondition proofs, the failed goal), as JSON.
    #[serde(flatten)]
    pub details: serde_json::Map<String, Value>,
}

impl Verdict {
    /// `"allow"`, `"deny"` or `"skipped"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::Skipped => "skipped",
        }
    }
}

impl Verification {
    /// A skipped verification with one reason.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Verification {
            decision: Verdict::Skipped,
            reasons: vec![reason.into()],
            policy: None,
            details: Default::default(),
        }
    }
}

/// Cedar's part of a [`Verification`]: typed, so a step's answer is serialised once, straight
/// into the result, instead of going through a JSON tree first.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDetails {
    /// The policies that caused the decision.
    pub determining_policies: Vec<PolicyRef>,
    /// Policy evaluation errors (an erroring policy denies: fail closed).
    pub errors: Vec<String>,
    /// On a default deny: the permit policies closest to matching.
    pub near_miss: Vec<NearMiss>,
    /// The replayable decision certificate.
    pub certificate: Certificate,
}

/// What a verifier is asked about. Given by value, so a verifier can keep its parts (the
/// formal verifier moves them into the Cedar request and its certificate, uncopied).
pub struct VerifyRequest<'a> {
    /// The session the step belongs to.
    pub session: &'a Session,
    /// The action about to run.
    pub action: &'a ActionSpec,
    /// The action's parameters (owned when the step has no further use for them).
    pub params: Cow<'a, Value>,
    /// The registered actions (each gets a `runs` entry when policies read `runs`).
    pub known_actions: &'a [std::sync::Arc<ActionSpec>],
    /// The time of the step (ms since the epoch), for `runs`' windows and recency.
    pub now_ms: i64,
}

/// Decides whether an action may run. Implementations must be cheap and thread-safe.
pub trait Verifier: Send + Sync {
    /// Verifies one step.
    fn verify(&self, request: VerifyRequest<'_>) -> Verification;
}

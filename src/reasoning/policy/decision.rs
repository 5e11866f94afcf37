//! The decision returned for one authorization request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::certificate::Certificate;

/// Allow or deny.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DecisionKind {
    /// Some permit policy matched and no forbid policy did.
    Allow,
    /// A forbid policy matched, or no permit policy did (default deny).
    Deny,
}

impl DecisionKind {
    /// `"allow"` or `"deny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Allow => "allow",
            DecisionKind::Deny => "deny",
        }
    }
}

impl From<cedar_policy::Decision> for DecisionKind {
    fn from(d: cedar_policy::Decision) -> Self {
        match d {
            cedar_policy::Decision::Allow => DecisionKind::Allow,
            cedar_policy::Decision::Deny => DecisionKind::Deny,
        }
    }
}

/// A policy that determined a decision, with its annotations (`@id`, `@description`, ...).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRef {
    /// The policy id (`@id` annotation or `policyN`).
    pub id: String,
    /// All annotations of the policy.
    pub annotations: BTreeMap<String, String>,
}

/// A permit policy that almost matched a default-denied request.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NearMiss {
    /// The permit policy's id.
    pub policy_id: String,
    /// Scope constraints and conditions that held, e.g. `principal in Role::"finance"`.
    pub satisfied: Vec<String>,
    /// Scope constraints and conditions that did not hold (or errored, with the error).
    pub failed: Vec<String>,
}

/// The outcome of one authorization request.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Allow or deny.
    pub decision: DecisionKind,
    /// The policies that caused the decision (the matching permits on allow, the matching
    /// forbids on an explicit deny, none on a default deny).
    pub determining_policies: Vec<PolicyRef>,
    /// Evaluation errors as `policy "<id>": <message>`; an erroring policy is skipped.
    pub errors: Vec<String>,
    /// Human sentences explaining the decision.
    pub reasons: Vec<String>,
    /// On a default deny: the permit policies closest to matching, best first.
    pub near_miss: Vec<NearMiss>,
    /// A replayable record of the decision.
    pub certificate: Certificate,
}

impl Decision {
    /// True when the decision is allow.
    pub fn is_allowed(&self) -> bool {
        self.decision == DecisionKind::Allow
    }
}

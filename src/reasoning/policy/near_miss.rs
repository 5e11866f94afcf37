//! Near-miss analysis for default-denied requests.
//!
//! At load time every permit policy is split into *parts*: each non-trivial scope constraint
//! (principal, action, resource) and each condition (a `when` body is further split into its
//! top-level `&&` conjuncts; an `unless` stays whole). Each part becomes a standalone
//! single-part permit policy ("probe") in one probe policy set, built through Cedar's JSON
//! policy format (EST). On a default deny one authorizer call over the probe set tells which
//! parts hold, which fail and which error; permits are ranked by the number of satisfied parts.

use std::collections::{HashMap, HashSet};

use cedar_policy::{
    ActionConstraint, Authorizer, Effect, Entities, Policy, PolicyId, PolicySet,
    PrincipalConstraint, Request, ResourceConstraint,
};
use serde_json::{json, Value};

use super::condition_text::source_conditions;
use super::engine::{authorization_error_text, policy_id_text};
use super::model::NearMiss;
use crate::error::{Error, ErrorCode, Result};

/// One part of a permit policy.
struct Part {
    probe_id: String,
    description: String,
}

/// The probes of one permit policy.
struct PermitParts {
    policy_id: String,
    parts: Vec<Part>,
}

/// Probe policies for all permit policies of a set.
#[derive(Default)]
pub(crate) struct NearMissProbes {
    set: PolicySet,
    permits: Vec<PermitParts>,
}

impl NearMissProbes {
    /// Splits every permit policy, given with its JSON form (EST), into probe policies.
    pub(crate) fn build(permits: &[(&Policy, &Value)]) -> Result<Self> {
        let mut probes = NearMissProbes::default();
        let mut permits: Vec<(String, &Policy, &Value)> = permits
            .iter()
            .filter(|(p, _)| p.effect() == Effect::Permit)
            .map(|&(p, est)| (policy_id_text(p.id()), p, est))
            .collect();
        permits.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, policy, est) in permits {
            let mut parts = Vec::new();
            let mut add = |probe_est: Value, description: String| -> Result<()> {
                let probe_id = format!("{id}\u{1f}{}", parts.len());
                let probe =
                    Policy::from_json(Some(PolicyId::new(&probe_id)), probe_est).map_err(|e| {
                        Error::new(
                            ErrorCode::Internal,
                            format!("near-miss probe for policy \"{id}\" is invalid: {e}"),
                        )
                    })?;
                let description = if description.is_empty() {
                    condition_text(&probe)
                } else {
                    description
                };
                probes.set.add(probe).map_err(|e| {
                    Error::new(ErrorCode::Internal, format!("near-miss probe: {e}"))
                })?;
                parts.push(Part {
                    probe_id,
                    description,
                });
                Ok(())
            };
            if let Some(text) = principal_text(&policy.principal_constraint()) {
                add(scope_probe(est, "principal"), text)?;
            }
            if let Some(text) = action_text(&policy.action_constraint()) {
                add(scope_probe(est, "action"), text)?;
            }
            if let Some(text) = resource_text(&policy.resource_constraint()) {
                add(scope_probe(est, "resource"), text)?;
            }
            let conditions: Vec<&Value> =
                est["conditions"].as_array().into_iter().flatten().collect();
            // The author's text when it lines up with Cedar's parse, else Cedar's printout.
            let source = policy
                .to_cedar()
                .and_then(|text| source_conditions(&text))
                .filter(|src| src.len() == conditions.len());
            for (index, condition) in conditions.into_iter().enumerate() {
                let kind = condition["kind"].as_str().unwrap_or("when");
                let body = &condition["body"];
                let mut conjuncts = Vec::new();
                if kind == "when" {
                    split_conjunction(body, &mut conjuncts);
                } else {
                    conjuncts.push(body);
                }
                let texts: Option<&Vec<String>> = source
                    .as_ref()
                    .map(|src| &src[index])
                    .filter(|c| c.kind == kind && c.parts.len() == conjuncts.len())
                    .map(|c| &c.parts);
                for (n, conjunct) in conjuncts.into_iter().enumerate() {
                    let description = texts
                        .map(|t| format!("{kind} {{ {} }}", t[n]))
                        .unwrap_or_default();
                    add(condition_probe(kind, conjunct), description)?;
                }
            }
            probes.permits.push(PermitParts {
                policy_id: id.clone(),
                parts,
            });
        }
        Ok(probes)
    }

    /// The permit policies closest to matching `request`, best first, at most `limit`.
    pub(crate) fn near_misses(
        &self,
        authorizer: &Authorizer,
        request: &Request,
        entities: &Entities,
        limit: usize,
    ) -> Vec<NearMiss> {
        if self.permits.is_empty() {
            return Vec::new();
        }
        let response = authorizer.is_authorized(request, &self.set, entities);
        let satisfied: HashSet<String> = response
            .diagnostics()
            .reason()
            .map(policy_id_text)
            .collect();
        let errors: HashMap<String, String> = response
            .diagnostics()
            .errors()
            .map(|e| {
                let cedar_policy::AuthorizationError::PolicyEvaluationError(inner) = e;
                (
                    policy_id_text(inner.policy_id()),
                    authorization_error_text(e),
                )
            })
            .collect();
        let mut misses: Vec<NearMiss> = self
            .permits
            .iter()
            .map(|permit| {
                let mut miss = NearMiss {
                    policy_id: permit.policy_id.clone(),
                    satisfied: Vec::new(),
                    failed: Vec::new(),
                };
                for part in &permit.parts {
                    if satisfied.contains(&part.probe_id) {
                        miss.satisfied.push(part.description.clone());
                    } else if let Some(error) = errors.get(&part.probe_id) {
                        let message = error.split_once(": ").map(|(_, m)| m).unwrap_or(error);
                        miss.failed
                            .push(format!("{} (error: {message})", part.description));
                    } else {
                        miss.failed.push(part.description.clone());
                    }
                }
                miss
            })
            .filter(|miss| !miss.satisfied.is_empty() && !miss.failed.is_empty())
            .collect();
        misses.sort_by(|a, b| {
            b.satisfied
                .len()
                .cmp(&a.satisfied.len())
                .then(a.failed.len().cmp(&b.failed.len()))
                .then(a.policy_id.cmp(&b.policy_id))
        });
        misses.truncate(limit);
        misses
    }
}

/// A probe keeping only one scope constraint of the policy (no conditions).
fn scope_probe(est: &Value, keep: &str) -> Value {
    let all = json!({"op": "All"});
    let pick = |slot: &str| {
        if slot == keep {
            est[slot].clone()
        } else {
            all.clone()
        }
    };
    json!({
        "effect": "permit",
        "principal": pick("principal"),
        "action": pick("action"),
        "resource": pick("resource"),
        "conditions": [],
        "annotations": {}
    })
}

/// A probe with an unconstrained scope and one condition.
fn condition_probe(kind: &str, body: &Value) -> Value {
    json!({
        "effect": "permit",
        "principal": {"op": "All"},
        "action": {"op": "All"},
        "resource": {"op": "All"},
        "conditions": [{"kind": kind, "body": body}],
        "annotations": {}
    })
}

/// Collects the top-level conjuncts of an EST expression (`{"&&": {left, right}}`).
fn split_conjunction<'a>(body: &'a Value, out: &mut Vec<&'a Value>) {
    match body.get("&&") {
        Some(and) if and.get("left").is_some() && and.get("right").is_some() => {
            split_conjunction(&and["left"], out);
            split_conjunction(&and["right"], out);
        }
        _ => out.push(body),
    }
}

/// `when { ... }` / `unless { ... }` text of a single-condition probe, on one line.
fn condition_text(probe: &Policy) -> String {
    let text = probe.to_cedar().unwrap_or_default();
    let start = ["when", "unless"]
        .iter()
        .filter_map(|kw| text.find(&format!(") {kw}")).map(|i| i + 2))
        .min()
        .or_else(|| text.find("when"))
        .unwrap_or(0);
    let body = text[start..].trim().trim_end_matches(';');
    body.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn principal_text(c: &PrincipalConstraint) -> Option<String> {
    match c {
        PrincipalConstraint::Any => None,
        PrincipalConstraint::In(uid) => Some(format!("principal in {uid}")),
        PrincipalConstraint::Eq(uid) => Some(format!("principal == {uid}")),
        PrincipalConstraint::Is(t) => Some(format!("principal is {t}")),
        PrincipalConstraint::IsIn(t, uid) => Some(format!("principal is {t} in {uid}")),
    }
}

fn resource_text(c: &ResourceConstraint) -> Option<String> {
    match c {
        ResourceConstraint::Any => None,
        ResourceConstraint::In(uid) => Some(format!("resource in {uid}")),
        ResourceConstraint::Eq(uid) => Some(format!("resource == {uid}")),
        ResourceConstraint::Is(t) => Some(format!("resource is {t}")),
        ResourceConstraint::IsIn(t, uid) => Some(format!("resource is {t} in {uid}")),
    }
}

fn action_text(c: &ActionConstraint) -> Option<String> {
    match c {
        ActionConstraint::Any => None,
        ActionConstraint::Eq(uid) => Some(format!("action == {uid}")),
        ActionConstraint::In(uids) if uids.len() == 1 => Some(format!("action in {}", uids[0])),
        ActionConstraint::In(uids) => {
            let list: Vec<String> = uids.iter().map(|u| u.to_string()).collect();
            Some(format!("action in [{}]", list.join(", ")))
        }
    }
}

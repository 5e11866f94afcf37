//! Near-miss analysis for default-denied requests.
//!
//! At load time every permit policy is split into *parts*: each non-trivial scope constraint
//! (principal, action, resource) and each condition (a `when` body is further split into its
//! top-level `&&` conjuncts; an `unless` stays whole). Each part becomes a standalone
//! single-part permit policy ("probe") in one probe policy set, built through Cedar's JSON
//! policy format (EST). On a default deny one authorizer call over the probe set tells which
//! parts hold, which fail and which error; permits are ranked by the number of satisfied parts.
//! A part that is the same expression in several permits (a shared scope constraint or
//! condition) is one probe, built and evaluated once.

use std::collections::{HashMap, HashSet};

use cedar_policy::{
    ActionConstraint, Authorizer, Entities, Policy, PolicyId, PolicySet, PrincipalConstraint,
    Request, ResourceConstraint,
};
use serde_json::{json, Value};

use super::compiled::{self, compile_policy, CompiledPolicy, Fault, Input};
use super::condition_text::source_conditions;
use super::decision::NearMiss;
use super::diagnostics::{authorization_error_text, policy_id_text};
use super::parser_thread::map_on_parser_threads_owned;
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
    /// Every probe compiled, when all of them compile (else the interpreter runs them).
    compiled: Option<Vec<std::sync::Arc<CompiledPolicy>>>,
}

impl NearMissProbes {
    /// The probes of every permit policy, from each one's id and parts (see
    /// [`draft_parts`]). Parts that are the same expression (the same scope constraint or
    /// condition in several permits) share one probe; large sets build their probes on several
    /// parser threads.
    pub(crate) fn from_drafts(mut permits: Vec<(String, Vec<ProbeDraft>)>) -> Result<Self> {
        permits.sort_by(|a, b| a.0.cmp(&b.0));
        // One probe per distinct probe expression (by hash, then by value).
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut unique: Vec<(usize, ProbeExpr, bool)> = Vec::new();
        let mut permit_parts: Vec<(String, Vec<(usize, String)>)> = Vec::new();
        for (id, draft) in permits {
            let mut parts = Vec::with_capacity(draft.len());
            for (expr, description) in draft {
                let same = index.entry(expr.hash()).or_default();
                let n = match same.iter().copied().find(|&i| unique[i].1 == expr) {
                    Some(n) => n,
                    None => {
                        same.push(unique.len());
                        unique.push((unique.len(), expr, false));
                        unique.len() - 1
                    }
                };
                // Without the author's text the part is described by Cedar's printout.
                unique[n].2 |= description.is_empty();
                parts.push((n, description));
            }
            permit_parts.push((id, parts));
        }
        drop(index);
        let built = map_on_parser_threads_owned(unique, |(n, expr, describe)| {
            let est = expr.into_est();
            let shown = est.to_string();
            let probe = Policy::from_json(Some(PolicyId::new(probe_id(n))), est).map_err(|e| {
                Error::new(
                    ErrorCode::Internal,
                    format!("near-miss probe {shown} is invalid: {e}"),
                )
            })?;
            let text = if describe {
                condition_text(&probe)
            } else {
                String::new()
            };
            Ok((probe, text))
        })?;
        let mut probes = NearMissProbes::default();
        let mut printed = Vec::with_capacity(built.len());
        for (probe, text) in built {
            probes
                .set
                .add(probe)
                .map_err(|e| Error::new(ErrorCode::Internal, format!("near-miss probe: {e}")))?;
            printed.push(text);
        }
        probes.compiled = {
            let core: &cedar_policy_core::ast::PolicySet = probes.set.as_ref();
            core.policies()
                .map(|p| {
                    compile_policy(p.id().as_ref(), p)
                        .ok()
                        .map(std::sync::Arc::new)
                })
                .collect()
        };
        for (policy_id, parts) in permit_parts {
            let parts = parts
                .into_iter()
                .map(|(n, description)| Part {
                    probe_id: probe_id(n),
                    description: if description.is_empty() {
                        printed[n].clone()
                    } else {
                        description
                    },
                })
                .collect();
            probes.permits.push(PermitParts { policy_id, parts });
        }
        Ok(probes)
    }

    /// True when there is no permit policy to probe.
    pub(crate) fn is_empty(&self) -> bool {
        self.permits.is_empty()
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
        self.rank(
            |id| satisfied.contains(id),
            |id| errors.get(id).map(|e| Some(e.as_str())),
            limit,
        )
        .unwrap_or_default()
    }

    /// [`Self::near_misses`] with the compiled probes, straight from the request's data:
    /// `None` when a probe is not compiled or meets a value it does not model, or when a
    /// reported near miss has a part that errors (the interpreter words the error).
    pub(crate) fn near_misses_compiled(
        &self,
        input: &Input<'_>,
        limit: usize,
    ) -> Option<Vec<NearMiss>> {
        if self.permits.is_empty() {
            return Some(Vec::new());
        }
        let probes = self.compiled.as_ref()?;
        let mut satisfied: HashSet<&str> = HashSet::new();
        let mut erroring: HashSet<&str> = HashSet::new();
        for probe in probes {
            match compiled::satisfied(probe, input) {
                Ok(true) => {
                    satisfied.insert(&probe.id);
                }
                Ok(false) => {}
                // Cedar words the error if a reported part needs it (see `rank`).
                Err(Fault::Error) => {
                    erroring.insert(&probe.id);
                }
                Err(Fault::Unsupported) => return None,
            }
        }
        self.rank(
            |id| satisfied.contains(id),
            |id| erroring.contains(id).then_some(None),
            limit,
        )
    }

    /// The near misses, given which probes hold and which errored: `error(probe)` is `None`
    /// for no error, `Some(Some(message))` for an error with Cedar's message, `Some(None)` for
    /// an error whose message is unknown — if such a part is reported, the answer is `None`.
    /// Permits are ranked on counts first; only the reported ones build their texts.
    fn rank<'e>(
        &self,
        satisfied: impl Fn(&str) -> bool,
        error: impl Fn(&str) -> Option<Option<&'e str>>,
        limit: usize,
    ) -> Option<Vec<NearMiss>> {
        let mut ranked: Vec<(usize, usize, usize)> = self
            .permits
            .iter()
            .enumerate()
            .filter_map(|(i, permit)| {
                let held = permit
                    .parts
                    .iter()
                    .filter(|part| satisfied(&part.probe_id))
                    .count();
                let failed = permit.parts.len() - held;
                (held > 0 && failed > 0).then_some((i, held, failed))
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(
                self.permits[a.0]
                    .policy_id
                    .cmp(&self.permits[b.0].policy_id),
            )
        });
        ranked.truncate(limit);
        let mut misses = Vec::with_capacity(ranked.len());
        for (i, _, _) in ranked {
            let permit = &self.permits[i];
            let mut miss = NearMiss {
                policy_id: permit.policy_id.clone(),
                satisfied: Vec::new(),
                failed: Vec::new(),
            };
            for part in &permit.parts {
                if satisfied(&part.probe_id) {
                    miss.satisfied.push(part.description.clone());
                } else {
                    match error(&part.probe_id) {
                        None => miss.failed.push(part.description.clone()),
                        Some(Some(error)) => {
                            let message = error.split_once(": ").map(|(_, m)| m).unwrap_or(error);
                            miss.failed
                                .push(format!("{} (error: {message})", part.description));
                        }
                        Some(None) => return None,
                    }
                }
            }
            misses.push(miss);
        }
        Some(misses)
    }
}

/// The id of probe number `n`.
fn probe_id(n: usize) -> String {
    format!("probe\u{1f}{n}")
}

/// What a probe tests: one scope constraint (`"principal"`, `"action"` or `"resource"`, with
/// its JSON form), or one condition (`"when"` or `"unless"`, with its body).
#[derive(Debug, PartialEq)]
pub(crate) enum ProbeExpr {
    Scope(&'static str, Value),
    Condition(&'static str, Value),
}

impl ProbeExpr {
    /// A hash of the expression (equal expressions hash equal).
    fn hash(&self) -> u64 {
        use std::hash::Hasher;
        struct HashWriter(std::hash::DefaultHasher);
        impl std::io::Write for HashWriter {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.write(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (tag, value) = match self {
            ProbeExpr::Scope(slot, v) => (slot, v),
            ProbeExpr::Condition(kind, v) => (kind, v),
        };
        let mut writer = HashWriter(std::hash::DefaultHasher::new());
        writer.0.write(tag.as_bytes());
        // Writing into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut writer, value);
        writer.0.finish()
    }

    /// The probe policy's JSON form: permit with only this scope constraint or condition.
    fn into_est(self) -> Value {
        let all = json!({"op": "All"});
        let mut probe = json!({
            "effect": "permit",
            "principal": all.clone(),
            "action": all.clone(),
            "resource": all,
            "conditions": [],
            "annotations": {}
        });
        match self {
            ProbeExpr::Scope(slot, constraint) => probe[slot] = constraint,
            ProbeExpr::Condition(kind, body) => {
                probe["conditions"] = json!([{"kind": kind, "body": body}])
            }
        }
        probe
    }
}

/// One part of a permit policy: what its probe tests and the author's text of the part
/// (empty when it cannot be recovered).
pub(crate) type ProbeDraft = (ProbeExpr, String);

/// The parts of one permit policy, from the policy and its JSON form (EST).
pub(crate) fn draft_parts(policy: &Policy, est: &Value) -> Vec<ProbeDraft> {
    let mut parts = Vec::new();
    if let Some(text) = principal_text(&policy.principal_constraint()) {
        parts.push((
            ProbeExpr::Scope("principal", est["principal"].clone()),
            text,
        ));
    }
    if let Some(text) = action_text(&policy.action_constraint()) {
        parts.push((ProbeExpr::Scope("action", est["action"].clone()), text));
    }
    if let Some(text) = resource_text(&policy.resource_constraint()) {
        parts.push((ProbeExpr::Scope("resource", est["resource"].clone()), text));
    }
    let conditions: Vec<&Value> = est["conditions"].as_array().into_iter().flatten().collect();
    // The author's text when it lines up with Cedar's parse, else Cedar's printout.
    let source = policy
        .to_cedar()
        .and_then(|text| source_conditions(&text))
        .filter(|src| src.len() == conditions.len());
    for (index, condition) in conditions.into_iter().enumerate() {
        let kind = if condition["kind"].as_str() == Some("unless") {
            "unless"
        } else {
            "when"
        };
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
            parts.push((ProbeExpr::Condition(kind, conjunct.clone()), description));
        }
    }
    parts
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

//! The policy engine: loads Cedar policies, schema and entities, and decides requests.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use cedar_policy::{
    ActionConstraint, AuthorizationError, Authorizer, Effect, Entities, EntityUid, Policy,
    PolicyId, PolicySet, Request, Schema, SchemaFragment, ValidationMode, Validator,
};
use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde_json::Value;

use super::cache::{CacheStats, CachedDecision, DecisionCache};
use super::canonical::{canonical_entities, canonical_json, sha256_hex};
use super::certificate::{Certificate, CertifiedRequest};
use super::compiled::{self, compile_policy, CompiledPolicy, EntityTable, Input};
use super::context_use::{plain_cedar_record, ContextUse};
use super::decision::{Decision, DecisionKind, NearMiss, PolicyRef};
use super::diagnostics::{
    authorization_error_text, describe, first_offset, located, policy_at, policy_id_text,
};
use super::hierarchy::{check_hierarchy, check_schema_hierarchy};
use super::near_miss::{draft_parts, NearMissProbes, ProbeDraft};
use super::nesting::{check_policy_depth, check_policy_text, check_schema_text};
use super::parser_thread::{map_on_parser_threads, on_parser_stack};
use super::request::{
    declared_context_attrs, AuthzRequest, Built, EntityRef, RequestMapping, TypeNameCache,
};
use crate::error::{err, json_error_text, Error, ErrorCode, Result};

/// Default number of memoised decisions.
const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// At most this many near misses are reported.
const NEAR_MISS_LIMIT: usize = 3;

/// Summary of a successfully loaded policy set.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySetInfo {
    /// Policy ids, sorted.
    pub policy_ids: Vec<String>,
    /// Number of permit policies.
    pub permit_count: usize,
    /// Number of forbid policies.
    pub forbid_count: usize,
    /// SHA-256 (hex) of the canonical policy text.
    pub policy_set_hash: String,
    /// SHA-256 (hex) of the schema text, when a schema was given.
    pub schema_hash: Option<String>,
    /// True when the policies were validated (strict mode) against a schema.
    pub validated: bool,
    /// Validation and schema warnings (they do not prevent loading).
    pub warnings: Vec<String>,
    /// How each policy is evaluated, sorted by id: compiled, or on Cedar's interpreter (with
    /// the construct that keeps it there).
    pub evaluation: Vec<PolicyEvaluation>,
}

/// How one policy is evaluated.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEvaluation {
    /// The policy id.
    pub id: String,
    /// `compiled` or `interpreted`.
    pub mode: EvaluationMode,
    /// For an interpreted policy, the construct the compiler does not implement.
    pub reason: Option<String>,
}

/// Whether a policy runs on the compiled evaluator or on Cedar's interpreter (also the
/// `policyEvaluation` setting: `interpreted` keeps every policy on the interpreter).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EvaluationMode {
    /// Evaluated by the compiled evaluator (the interpreter still decides a request on which
    /// the compiled condition errors, to report Cedar's own error).
    #[default]
    Compiled,
    /// Evaluated by Cedar's interpreter.
    Interpreted,
}

/// How the engine's uncached decisions were made.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationStats {
    /// Decisions made without Cedar's interpreter (every policy of the action compiled).
    #[cfg_attr(test, ts(type = "number"))]
    pub compiled: u64,
    /// Decisions where compiled policies and interpreted ones both ran.
    #[cfg_attr(test, ts(type = "number"))]
    pub mixed: u64,
    /// Decisions made by Cedar's interpreter alone (a schema, a context with `__entity` or
    /// `__extn` values, compilation switched off, or a fallback below).
    #[cfg_attr(test, ts(type = "number"))]
    pub interpreted: u64,
    /// Of `interpreted`: requests the compiled evaluator handed over because a condition
    /// errors (Cedar reports the error and the engine fails closed) or reads a value it does
    /// not model.
    #[cfg_attr(test, ts(type = "number"))]
    pub fallbacks: u64,
}

/// Parsed policies with everything derived from them.
pub(crate) struct LoadedPolicies {
    pub(crate) set: PolicySet,
    pub(crate) schema: Option<Schema>,
    pub(crate) policy_set_hash: String,
    pub(crate) schema_hash: Option<String>,
    annotations: HashMap<String, BTreeMap<String, String>>,
    probes: NearMissProbes,
    /// The context attributes each policy reads (by policy id), computed once at load.
    context_use: HashMap<String, ContextUse>,
    /// What the near-miss probes read: every permit policy, whatever its action.
    probes_context_use: ContextUse,
    /// The compiled policies, by id (the others are interpreted).
    compiled: HashMap<String, Arc<CompiledPolicy>>,
    /// What `load` reported.
    info: PolicySetInfo,
}

/// Parsed entities with their canonical hash.
pub(crate) struct LoadedEntities {
    pub(crate) entities: Entities,
    /// The entities indexed for the compiled evaluator.
    table: EntityTable,
    raw: Value,
    pub(crate) hash: String,
}

/// One consistent view of policies + entities; replaced atomically on every change.
struct Snapshot {
    epoch: u64,
    policies: Arc<LoadedPolicies>,
    entities: Arc<LoadedEntities>,
    /// Per action uid: the policies whose action constraint can match it (see
    /// [`PolicyEngine::slice_for`]). Filled lazily, bounded by [`MAX_ACTION_SLICES`].
    action_slices: DashMap<EntityUid, Arc<ActionSlice>, crate::fast_hash::FastHash>,
}

/// The policies that can apply to one action: all of them, and the permits alone (used to
/// name the permits a forbid overrode).
struct ActionSlice {
    all: PolicySet,
    permits: PolicySet,
    /// The context attributes `all` can read (the decision cache's key projection).
    context_use: ContextUse,
    /// What the key of a default deny holds: `context_use` and what the near-miss probes
    /// read, all by value (near misses may quote values).
    deny_context_use: ContextUse,
    /// The compiled policies of `all`, in its order.
    compiled: Vec<Arc<CompiledPolicy>>,
    /// The policies of `all` that are not compiled.
    interpreted: PolicySet,
}

/// The ids of the policies that determined a Cedar response, sorted.
fn determining_ids(response: &cedar_policy::Response) -> Vec<String> {
    let mut ids: Vec<String> = response
        .diagnostics()
        .reason()
        .map(policy_id_text)
        .collect();
    ids.sort();
    ids
}

/// What Cedar said about a request, after fail-closed.
struct Evaluation {
    decision: DecisionKind,
    /// Sorted ids: the matching permits (allow), forbids (deny) or erroring policies.
    determining: Vec<String>,
    /// Sorted `policy "<id>": <message>` texts.
    errors: Vec<String>,
    /// True when an evaluation error decided (the determining policies are the erroring ones).
    failed_closed: bool,
}

/// The verdict of [`PolicyEngine::is_authorized`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Allow or deny (fail closed: deny when a policy errors).
    pub decision: DecisionKind,
    /// The satisfied forbids (deny), the satisfied permits (allow) or the erroring policies
    /// (fail closed), sorted.
    pub determining_policy_ids: Vec<String>,
    /// `policy "<id>": <message>` for each evaluation error, sorted.
    pub errors: Vec<String>,
}

impl Verdict {
    fn of(e: Evaluation) -> Verdict {
        Verdict {
            decision: e.decision,
            determining_policy_ids: e.determining,
            errors: e.errors,
        }
    }
}

/// What [`PolicyEngine::evaluate_compiled`] found.
struct CompiledEvaluation {
    evaluation: Evaluation,
    /// The permits a forbid overrode, when known without asking Cedar.
    overridden: Option<Vec<String>>,
    /// The interpreter's request, when the interpreted policies needed it.
    request: Option<Box<Request>>,
    /// On a default deny, the near misses, when the compiled probes could tell them.
    near_miss: Option<Vec<NearMiss>>,
}

/// At most this many per-action policy slices are memoised per snapshot.
const MAX_ACTION_SLICES: usize = 4096;

/// Decides agent actions with Cedar. `Send + Sync`; share it in an `Arc`.
pub struct PolicyEngine {
    mapping: RequestMapping,
    state: RwLock<Arc<Snapshot>>,
    writer: Mutex<()>,
    next_epoch: AtomicU64,
    authorizer: Authorizer,
    cache: DecisionCache,
    type_names: TypeNameCache,
    /// Whether compiled policies are used (on by default; off for comparisons and audits).
    compiling: AtomicBool,
    counts: EvaluationCounts,
}

/// Counters behind [`EvaluationStats`].
#[derive(Default)]
struct EvaluationCounts {
    compiled: AtomicU64,
    mixed: AtomicU64,
    interpreted: AtomicU64,
    fallbacks: AtomicU64,
}

impl Default for PolicyEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl PolicyEngine {
    /// An engine with no policies, the default [`RequestMapping`] and a 10 000-entry cache.
    pub fn new() -> Self {
        Self::with_options(RequestMapping::default(), DEFAULT_CACHE_CAPACITY)
    }

    /// An engine with a custom request mapping and cache capacity (0 disables the cache).
    pub fn with_options(mapping: RequestMapping, cache_capacity: usize) -> Self {
        let empty_policies = LoadedPolicies {
            set: PolicySet::new(),
            schema: None,
            policy_set_hash: policy_set_hash(&PolicySet::new()),
            schema_hash: None,
            annotations: HashMap::new(),
            probes: NearMissProbes::default(),
            context_use: HashMap::new(),
            probes_context_use: ContextUse::Attrs(Default::default()),
            compiled: HashMap::new(),
            info: PolicySetInfo {
                policy_ids: Vec::new(),
                permit_count: 0,
                forbid_count: 0,
                policy_set_hash: policy_set_hash(&PolicySet::new()),
                schema_hash: None,
                validated: false,
                warnings: Vec::new(),
                evaluation: Vec::new(),
            },
        };
        let raw = Value::Array(Vec::new());
        let empty_entities = LoadedEntities {
            entities: Entities::empty(),
            table: EntityTable::default(),
            hash: sha256_hex(&canonical_entities(&raw)),
            raw,
        };
        PolicyEngine {
            mapping,
            state: RwLock::new(Arc::new(Snapshot {
                epoch: 0,
                policies: Arc::new(empty_policies),
                entities: Arc::new(empty_entities),
                action_slices: DashMap::default(),
            })),
            writer: Mutex::new(()),
            next_epoch: AtomicU64::new(1),
            authorizer: Authorizer::new(),
            cache: DecisionCache::new(cache_capacity),
            type_names: TypeNameCache::default(),
            compiling: AtomicBool::new(true),
            counts: EvaluationCounts::default(),
        }
    }

    /// Switches compiled evaluation on (the default) or off. Off, every uncached decision is
    /// made by Cedar's interpreter: for comparisons, benchmarks and audits. Decisions are the
    /// same either way.
    pub fn set_compiled(&self, on: bool) {
        self.compiling.store(on, Ordering::Relaxed);
    }

    /// How uncached decisions were made since the engine was created.
    pub fn evaluation_stats(&self) -> EvaluationStats {
        let c = &self.counts;
        EvaluationStats {
            compiled: c.compiled.load(Ordering::Relaxed),
            mixed: c.mixed.load(Ordering::Relaxed),
            interpreted: c.interpreted.load(Ordering::Relaxed),
            fallbacks: c.fallbacks.load(Ordering::Relaxed),
        }
    }

    /// What the last successful [`Self::load`] reported (empty before any load).
    pub fn policy_info(&self) -> PolicySetInfo {
        self.snapshot().policies.info.clone()
    }

    /// The request mapping this engine uses (principal/action/resource type names).
    pub fn mapping(&self) -> &RequestMapping {
        &self.mapping
    }

    /// True once a non-empty policy set is loaded.
    pub fn has_policies(&self) -> bool {
        !self.snapshot().policies.set.is_empty()
    }

    /// The number of loaded entities (including action entities derived from the schema).
    pub fn entity_count(&self) -> usize {
        self.snapshot().entities.entities.len()
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.state.read().clone()
    }

    /// Parses `policies` (and the optional `schema`, Cedar or JSON syntax), validates them in
    /// strict mode when a schema is given, and replaces the loaded set atomically. On error the
    /// previous set stays loaded.
    ///
    /// The current entities are re-parsed against the new schema (the load fails with
    /// `ERR_POLICY_INVALID` if they do not conform). With a schema, action entities and their
    /// groups come from the schema; without one, give them in [`Self::set_entities`].
    pub fn load(&self, policies: &str, schema: Option<&str>) -> Result<PolicySetInfo> {
        let _writer = self.writer.lock();
        let current = self.snapshot();
        // Parsing, validation and analysis recurse per nesting level: bounded text, big stack.
        on_parser_stack("loading policies", || {
            let (loaded, entities, info) = prepare_load(&current, policies, schema)?;
            self.install(Arc::new(loaded), Arc::new(entities));
            Ok(info)
        })
    }

    /// Replaces the entities with a Cedar entity JSON array (`[{uid:{type,id}, attrs, parents}]`),
    /// validated against the schema when one is loaded. Returns the number of entities.
    pub fn set_entities(&self, json: &str) -> Result<usize> {
        let _writer = self.writer.lock();
        let current = self.snapshot();
        on_parser_stack("loading entities", || {
            let raw: Value = serde_json::from_str(json).map_err(|e| {
                Error::new(
                    ErrorCode::InvalidJson,
                    format!("entities are not valid JSON: {}", json_error_text(&e)),
                )
            })?;
            let entities = build_entities(raw, current.policies.schema.as_ref())?;
            let count = entities.entities.len();
            self.install(current.policies.clone(), Arc::new(entities));
            Ok(count)
        })
    }

    fn install(&self, policies: Arc<LoadedPolicies>, entities: Arc<LoadedEntities>) {
        let epoch = self.next_epoch.fetch_add(1, Ordering::SeqCst);
        *self.state.write() = Arc::new(Snapshot {
            epoch,
            policies,
            entities,
            action_slices: DashMap::default(),
        });
        self.cache.clear();
    }

    /// Whether a decision about `action` can read context attribute `attr` (a policy of the
    /// action, a near-miss probe, or the schema's context type names it). The engine builds
    /// costly attributes (`runs`) only when this is true.
    pub fn reads(&self, action: &str, attr: &str) -> bool {
        let snapshot = self.snapshot();
        let Ok(uid) =
            EntityRef::new(&self.mapping.action_type, action).to_uid("action", &self.type_names)
        else {
            return true;
        };
        match self.slice_for_uid(&snapshot, &uid) {
            Some(slice) => slice.context_use.reads(attr) || slice.deny_context_use.reads(attr),
            None => true,
        }
    }

    /// Decides a request, memoising the decision until policies or entities change.
    ///
    /// The cache key holds the context attributes the action's policies read. A decision,
    /// its determining policies, errors and reasons depend on nothing else; a default deny
    /// also carries near misses, computed from every permit policy, so default denies are kept
    /// under a key that also holds what those permits read. The cache keeps the verdict, not
    /// a certificate: every answer, hit or not, carries a certificate for the request at hand.
    pub fn authorize(&self, req: &AuthzRequest) -> Result<Decision> {
        self.authorize_owned(req.clone())
    }

    /// [`Self::authorize`] taking the request by value: its context moves into the
    /// certificate instead of being copied.
    pub fn authorize_owned(&self, req: AuthzRequest) -> Result<Decision> {
        let snapshot = self.snapshot();
        if !self.cache.enabled() {
            return self.decide(&snapshot, req);
        }
        req.validate()?;
        let action = EntityRef::new(&self.mapping.action_type, &req.action)
            .to_uid("action", &self.type_names)?;
        let whole = ContextUse::Whole;
        let slice = self.slice_for_uid(&snapshot, &action);
        let context_use = slice.as_deref().map_or(&whole, |s| &s.context_use);
        // A projected key may only answer contexts Cedar accepts as they are; anything else
        // is decided (and fails or succeeds) exactly as without the cache.
        if !context_use.is_whole() && !plain_cedar_record(&req.context) {
            return self.decide(&snapshot, req);
        }
        // Entries under `key` are never default denies; those live under `deny_key`. The
        // decision is a function of what `key` holds, so for one request at most one of the
        // two can have an entry.
        let key = cache_key(snapshot.epoch, &req, context_use);
        if let Some(hit) = self.cache.peek(&key) {
            self.cache.count(true);
            return Ok(self.answer_from_cache(&snapshot, &hit, req));
        }
        let deny_use = slice.as_deref().map_or(&whole, |s| &s.deny_context_use);
        let deny_key = cache_key_with("deny\u{1f}".as_bytes(), snapshot.epoch, &req, deny_use);
        let hit = self.cache.peek(&deny_key);
        self.cache.count(hit.is_some());
        if let Some(hit) = hit {
            return Ok(self.answer_from_cache(&snapshot, &hit, req));
        }
        // Everything any policy consulted below can read is in `deny_use`.
        let decision = self.decide_reading(&snapshot, req, deny_use)?;
        let default_deny =
            decision.decision == DecisionKind::Deny && decision.determining_policies.is_empty();
        self.cache.insert(
            if default_deny { deny_key } else { key },
            Arc::new(CachedDecision::of(&decision)),
        );
        Ok(decision)
    }

    /// A cached decision answering `req`, with a certificate for `req` (which may differ from
    /// the request the decision was first computed for in context the policies do not read).
    fn answer_from_cache(
        &self,
        snapshot: &Snapshot,
        cached: &CachedDecision,
        req: AuthzRequest,
    ) -> Decision {
        let certificate = self.certify(
            snapshot,
            req,
            cached.decision,
            cached.determining_policy_ids.clone(),
        );
        Decision {
            decision: cached.decision,
            determining_policies: cached.determining_policies.clone(),
            errors: cached.errors.clone(),
            reasons: cached.reasons.clone(),
            near_miss: cached.near_miss.clone(),
            certificate,
        }
    }

    /// A certificate of `decision` (determined by `determining_policy_ids`) for `req` under
    /// `snapshot`'s policies, schema and entities; the request moves into it.
    fn certify(
        &self,
        snapshot: &Snapshot,
        req: AuthzRequest,
        decision: DecisionKind,
        determining_policy_ids: Vec<String>,
    ) -> Certificate {
        Certificate::issue(
            CertifiedRequest {
                action: EntityRef::new(&self.mapping.action_type, &req.action),
                principal: req.principal,
                resource: req.resource,
                context: req.context,
            },
            snapshot.policies.policy_set_hash.clone(),
            snapshot.policies.schema_hash.clone(),
            snapshot.entities.hash.clone(),
            decision,
            determining_policy_ids,
        )
    }

    /// Decides a request without consulting or filling the cache (for benchmarks and audits).
    pub fn authorize_uncached(&self, req: &AuthzRequest) -> Result<Decision> {
        self.decide(&self.snapshot(), req.clone())
    }

    /// [`Self::authorize_uncached`] taking the request by value (its context moves into the
    /// certificate).
    pub fn authorize_uncached_owned(&self, req: AuthzRequest) -> Result<Decision> {
        self.decide(&self.snapshot(), req)
    }

    /// What Cedar's `is_authorized` answers, uncached: the decision, the determining policy
    /// ids and the errors (`policy "<id>": <message>`), with fail-closed on top — without the
    /// reasons, near misses and certificate of [`Self::authorize`]. For callers that need only
    /// the verdict (and for comparing the engine with Cedar on equal terms).
    pub fn is_authorized(&self, req: &AuthzRequest) -> Result<Verdict> {
        let snapshot = self.snapshot();
        let schema = snapshot.policies.schema.as_ref();
        if schema.is_none() && self.compiling.load(Ordering::Relaxed) {
            if let Some(c) = self.evaluate_compiled(&snapshot, req, &ContextUse::Whole, false)? {
                return Ok(Verdict::of(c.evaluation));
            }
        }
        let request = match req.to_cedar_checked(
            &self.mapping.action_type,
            &self.type_names,
            &ContextUse::Whole,
            schema,
        )? {
            Built::Request(r) => r,
            Built::Nonconforming(why) => {
                return Ok(Verdict {
                    decision: DecisionKind::Deny,
                    determining_policy_ids: Vec::new(),
                    errors: vec![format!("the request does not conform to the schema: {why}")],
                })
            }
        };
        self.counts.interpreted.fetch_add(1, Ordering::Relaxed);
        Ok(Verdict::of(self.evaluate(&snapshot, &request)))
    }

    /// Hit/miss counters and size of the decision cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Empties the decision cache.
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    fn decide(&self, snapshot: &Snapshot, req: AuthzRequest) -> Result<Decision> {
        self.decide_reading(snapshot, req, &ContextUse::Whole)
    }

    /// [`Self::decide`] giving Cedar only the context attributes in `reads`, which must cover
    /// everything the action's policies and the near-miss probes read.
    ///
    /// Fail closed: a policy whose scope matches and whose condition cannot be evaluated
    /// denies the request (Cedar itself would skip it); with a schema, a request that does
    /// not conform to it is denied with the validation error, before any policy runs.
    fn decide_reading(
        &self,
        snapshot: &Snapshot,
        req: AuthzRequest,
        reads: &ContextUse,
    ) -> Result<Decision> {
        let schema = snapshot.policies.schema.as_ref();
        let compiled = if schema.is_none() && self.compiling.load(Ordering::Relaxed) {
            self.evaluate_compiled(snapshot, &req, reads, true)?
        } else {
            None
        };
        let (evaluation, overridden, cedar_request, compiled_near_miss) = match compiled {
            Some(c) => (c.evaluation, c.overridden, c.request, c.near_miss),
            None => {
                let cedar_request = match req.to_cedar_checked(
                    &self.mapping.action_type,
                    &self.type_names,
                    reads,
                    schema,
                )? {
                    Built::Request(r) => r,
                    Built::Nonconforming(why) => return Ok(self.nonconforming(snapshot, req, why)),
                };
                self.counts.interpreted.fetch_add(1, Ordering::Relaxed);
                (
                    self.evaluate(snapshot, &cedar_request),
                    None,
                    Some(cedar_request),
                    None,
                )
            }
        };
        let Evaluation {
            decision: kind,
            determining: ids,
            errors,
            failed_closed,
        } = evaluation;
        // The interpreter's request, built only when a near miss or an overridden permit
        // must be asked of Cedar and the compiled path did not build it.
        let mut cedar_request = cedar_request;
        let mut cedar = |req: &AuthzRequest| -> Result<Box<Request>> {
            if let Some(r) = cedar_request.take() {
                return Ok(r);
            }
            req.to_cedar_reading(&self.mapping.action_type, &self.type_names, reads)
                .map(Box::new)
        };
        let policies = &snapshot.policies;
        let determining_policies: Vec<PolicyRef> = ids
            .iter()
            .map(|id| PolicyRef {
                id: id.clone(),
                annotations: policies.annotations.get(id).cloned().unwrap_or_default(),
            })
            .collect();
        let default_deny = kind == DecisionKind::Deny && ids.is_empty();
        let near_miss = if let (true, Some(known)) = (default_deny, compiled_near_miss) {
            known
        } else if default_deny && !policies.probes.is_empty() {
            let request = cedar(&req)?;
            policies.probes.near_misses(
                &self.authorizer,
                &request,
                &snapshot.entities.entities,
                NEAR_MISS_LIMIT,
            )
        } else {
            Vec::new()
        };
        let mut reasons = Vec::new();
        if policies.set.is_empty() {
            reasons.push("no policies are loaded, so the request is denied by default".into());
        }
        if failed_closed {
            for policy in &determining_policies {
                let why: Vec<&str> = errors
                    .iter()
                    .filter(|e| e.starts_with(&format!("policy \"{}\": ", policy.id)))
                    .map(String::as_str)
                    .collect();
                reasons.push(format!(
                    "policy \"{}\" could not be evaluated ({}), so the request is denied (fail closed: \
                     a policy that errors never lets an action through)",
                    policy.id,
                    why.join("; ")
                ));
            }
        } else {
            for policy in &determining_policies {
                let verb = match kind {
                    DecisionKind::Allow => "permitted",
                    DecisionKind::Deny => "forbidden",
                };
                let mut sentence = format!("{verb} by policy \"{}\"", policy.id);
                if let Some(description) = policy.annotations.get("description") {
                    sentence.push_str(&format!(" ({description})"));
                }
                reasons.push(sentence);
            }
        }
        if kind == DecisionKind::Deny && !ids.is_empty() && !failed_closed {
            let overridden = match overridden {
                Some(known) => known,
                None => self.overridden_permits(snapshot, &*cedar(&req)?),
            };
            if !overridden.is_empty() {
                reasons.push(format!(
                    "forbid overrides permit: policy {} would have allowed the request",
                    overridden
                        .iter()
                        .map(|id| format!("\"{id}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if default_deny && !policies.set.is_empty() {
            reasons.push("no permit policy matched the request (default deny)".into());
            if let Some(best) = near_miss.first() {
                reasons.push(format!(
                    "closest permit policy \"{}\" failed on: {}",
                    best.policy_id,
                    best.failed.join("; ")
                ));
            }
        }
        let certificate = self.certify(snapshot, req, kind, ids);
        Ok(Decision {
            decision: kind,
            determining_policies,
            errors,
            reasons,
            near_miss,
            certificate,
        })
    }

    /// The denial of a request that does not conform to the schema.
    fn nonconforming(&self, snapshot: &Snapshot, req: AuthzRequest, why: String) -> Decision {
        let error = format!("the request does not conform to the schema: {why}");
        Decision {
            decision: DecisionKind::Deny,
            determining_policies: Vec::new(),
            reasons: vec![format!(
                "{error}; it is denied before any policy is evaluated (fix the action's \
                 parameters or the schema's context type)"
            )],
            errors: vec![error],
            near_miss: Vec::new(),
            certificate: self.certify(snapshot, req, DecisionKind::Deny, Vec::new()),
        }
    }

    /// Runs Cedar and applies fail-closed: a policy that errored denies, and the erroring
    /// policies are the determining ones. Ids and errors are sorted.
    fn evaluate(&self, snapshot: &Snapshot, request: &Request) -> Evaluation {
        let slice = self.slice_for(snapshot, request);
        let policies = slice
            .as_deref()
            .map_or(&snapshot.policies.set, |slice| &slice.all);
        let response =
            self.authorizer
                .is_authorized(request, policies, &snapshot.entities.entities);
        let mut errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(authorization_error_text)
            .collect();
        errors.sort();
        let mut erroring: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                AuthorizationError::PolicyEvaluationError(e) => policy_id_text(e.policy_id()),
            })
            .collect();
        if !erroring.is_empty() {
            erroring.sort();
            erroring.dedup();
            return Evaluation {
                decision: DecisionKind::Deny,
                determining: erroring,
                errors,
                failed_closed: true,
            };
        }
        Evaluation {
            decision: response.decision().into(),
            determining: determining_ids(&response),
            errors,
            failed_closed: false,
        }
    }

    /// Decides a request with the compiled policies of its action (and Cedar for the action's
    /// interpreted ones). `None` when the interpreter must decide the whole request: a
    /// context that is not plain JSON and decimals, a compiled condition that errors (Cedar words the
    /// error, and the caller fails closed on it) or reads a value the compiled evaluator does
    /// not model, or an interpreted policy that errors.
    fn evaluate_compiled(
        &self,
        snapshot: &Snapshot,
        req: &AuthzRequest,
        reads: &ContextUse,
        near_misses: bool,
    ) -> Result<Option<CompiledEvaluation>> {
        let Some(context) = req.context.as_object() else {
            return Ok(None);
        };
        if !compiled::compilable_context(&req.context) {
            return Ok(None);
        }
        req.validate()?;
        let action_type = &self.mapping.action_type;
        let action = EntityRef::new(action_type, &req.action).to_uid("action", &self.type_names)?;
        let principal_type = self
            .type_names
            .display(&req.principal.entity_type, "principal")?;
        let action_type = self.type_names.display(action_type, "action")?;
        let resource_type = self
            .type_names
            .display(&req.resource.entity_type, "resource")?;
        let Some(slice) = self.slice_for_uid(snapshot, &action) else {
            return Ok(None);
        };
        let input = Input::new(
            (&principal_type, &req.principal.id),
            (&action_type, &req.action),
            (&resource_type, &req.resource.id),
            context,
            &snapshot.entities.table,
        );
        let Ok(satisfied) = compiled::evaluate_all(&slice.compiled, &input) else {
            self.counts.fallbacks.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        };
        let mut forbids: Vec<String> = satisfied.forbids.iter().map(|s| s.to_string()).collect();
        let mut permits: Vec<String> = satisfied.permits.iter().map(|s| s.to_string()).collect();
        let mut request = None;
        let mut permits_known = true;
        if !slice.interpreted.is_empty() {
            let cedar_request = Box::new(req.to_cedar_reading(
                &self.mapping.action_type,
                &self.type_names,
                reads,
            )?);
            let response = self.authorizer.is_authorized(
                &cedar_request,
                &slice.interpreted,
                &snapshot.entities.entities,
            );
            if response.diagnostics().errors().next().is_some() {
                self.counts.fallbacks.fetch_add(1, Ordering::Relaxed);
                return Ok(None);
            }
            let ids = determining_ids(&response);
            match response.decision() {
                cedar_policy::Decision::Allow => permits.extend(ids),
                cedar_policy::Decision::Deny => {
                    // A forbid held among the interpreted policies: Cedar names only the
                    // forbids, so which interpreted permits held is unknown here.
                    permits_known = ids.is_empty();
                    forbids.extend(ids);
                }
            }
            request = Some(cedar_request);
            self.counts.mixed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counts.compiled.fetch_add(1, Ordering::Relaxed);
        }
        forbids.sort();
        permits.sort();
        let near_miss = (near_misses && forbids.is_empty() && permits.is_empty())
            .then(|| {
                snapshot
                    .policies
                    .probes
                    .near_misses_compiled(&input, NEAR_MISS_LIMIT)
            })
            .flatten();
        let (evaluation, overridden) = if !forbids.is_empty() {
            let evaluation = Evaluation {
                decision: DecisionKind::Deny,
                determining: forbids,
                errors: Vec::new(),
                failed_closed: false,
            };
            (evaluation, permits_known.then_some(permits))
        } else {
            let decision = if permits.is_empty() {
                DecisionKind::Deny
            } else {
                DecisionKind::Allow
            };
            let evaluation = Evaluation {
                decision,
                determining: permits,
                errors: Vec::new(),
                failed_closed: false,
            };
            (evaluation, Some(Vec::new()))
        };
        Ok(Some(CompiledEvaluation {
            evaluation,
            overridden,
            request,
            near_miss,
        }))
    }

    /// Permit policies that matched a request a forbid policy denied (sorted ids).
    fn overridden_permits(&self, snapshot: &Snapshot, request: &Request) -> Vec<String> {
        let Some(slice) = self.slice_for(snapshot, request) else {
            return Vec::new();
        };
        let response =
            self.authorizer
                .is_authorized(request, &slice.permits, &snapshot.entities.entities);
        determining_ids(&response)
    }

    /// The policies whose action constraint can match the request's action (given the action
    /// hierarchy in the entities). Evaluating only these gives exactly Cedar's decision,
    /// reasons and errors: a policy whose action constraint is false never reaches its
    /// conditions. `None` only for a request without an action.
    fn slice_for(&self, snapshot: &Snapshot, request: &Request) -> Option<Arc<ActionSlice>> {
        self.slice_for_uid(snapshot, request.action()?)
    }

    /// [`Self::slice_for`] by action uid.
    fn slice_for_uid(&self, snapshot: &Snapshot, action: &EntityUid) -> Option<Arc<ActionSlice>> {
        if let Some(slice) = snapshot.action_slices.get(action) {
            return Some(slice.value().clone());
        }
        let entities = &snapshot.entities.entities;
        let matches = |group: &EntityUid| group == action || entities.is_ancestor_of(group, action);
        let mut all = PolicySet::new();
        let mut permits = PolicySet::new();
        let mut compiled = Vec::new();
        let mut interpreted = PolicySet::new();
        for policy in snapshot.policies.set.policies() {
            let keep = match policy.action_constraint() {
                ActionConstraint::Any => true,
                ActionConstraint::Eq(uid) => &uid == action,
                ActionConstraint::In(groups) => groups.iter().any(matches),
            };
            if !keep {
                continue;
            }
            let mut added = if policy.effect() == Effect::Permit {
                permits.add(policy.clone()).and(all.add(policy.clone()))
            } else {
                all.add(policy.clone())
            };
            match snapshot
                .policies
                .compiled
                .get(AsRef::<str>::as_ref(policy.id()))
            {
                Some(c) => compiled.push(c.clone()),
                None => added = added.and(interpreted.add(policy.clone())),
            }
            if added.is_err() {
                // Cannot happen (ids are unique); evaluate the full set to stay exact.
                return None;
            }
        }
        let uses = &snapshot.policies.context_use;
        // With a schema the request is validated against the action's declared context, so
        // every declared attribute can change the answer.
        let declared = snapshot
            .policies
            .schema
            .as_ref()
            .map(|schema| ContextUse::exact_attrs(declared_context_attrs(schema, action)));
        let context_use = ContextUse::union(
            all.policies()
                .map(|p| {
                    uses.get(&policy_id_text(p.id()))
                        .cloned()
                        .unwrap_or(ContextUse::Whole)
                })
                .chain(declared),
        );
        // Near misses may quote values, so default denies are keyed by value.
        let deny_context_use = ContextUse::union([
            context_use.exact(),
            snapshot.policies.probes_context_use.exact(),
        ]);
        let slice = Arc::new(ActionSlice {
            all,
            permits,
            context_use,
            deny_context_use,
            compiled,
            interpreted,
        });
        if snapshot.action_slices.len() < MAX_ACTION_SLICES {
            snapshot.action_slices.insert(action.clone(), slice.clone());
        }
        Some(slice)
    }

    /// Replays a certified request: the decision and determining policy ids.
    pub(crate) fn replay(&self, req: &CertifiedRequest) -> Result<(DecisionKind, Vec<String>)> {
        let request = AuthzRequest {
            principal: req.principal.clone(),
            action: req.action.id.clone(),
            resource: req.resource.clone(),
            context: req.context.clone(),
        };
        let snapshot = self.snapshot();
        let built = request.to_cedar_checked(
            &req.action.entity_type,
            &self.type_names,
            &ContextUse::Whole,
            snapshot.policies.schema.as_ref(),
        )?;
        match built {
            Built::Request(request) => {
                let e = self.evaluate(&snapshot, &request);
                Ok((e.decision, e.determining))
            }
            Built::Nonconforming(_) => Ok((DecisionKind::Deny, Vec::new())),
        }
    }

    /// Hashes of the loaded policies, schema and entities.
    pub(crate) fn hashes(&self) -> (String, Option<String>, String) {
        let s = self.snapshot();
        (
            s.policies.policy_set_hash.clone(),
            s.policies.schema_hash.clone(),
            s.entities.hash.clone(),
        )
    }
}

/// The cache key: snapshot epoch + canonical request JSON.
fn cache_key(epoch: u64, req: &AuthzRequest, context_use: &ContextUse) -> String {
    cache_key_with(b"", epoch, req, context_use)
}

/// [`cache_key`] after `prefix`, written into one buffer.
fn cache_key_with(
    prefix: &[u8],
    epoch: u64,
    req: &AuthzRequest,
    context_use: &ContextUse,
) -> String {
    use std::io::Write as _;
    let mut key: Vec<u8> = Vec::with_capacity(
        prefix.len()
            + 64
            + req.principal.entity_type.len()
            + req.principal.id.len()
            + req.action.len()
            + req.resource.entity_type.len()
            + req.resource.id.len(),
    );
    key.extend_from_slice(prefix);
    // Writing into a Vec cannot fail.
    let _ = write!(key, "{epoch}\u{1f}");
    for part in [
        req.principal.entity_type.as_str(),
        req.principal.id.as_str(),
        req.action.as_str(),
        req.resource.entity_type.as_str(),
        req.resource.id.as_str(),
    ] {
        let _ = write!(key, "{}\u{1f}", part.len());
        key.extend_from_slice(part.as_bytes());
        key.push(0x1f);
    }
    context_use.write_key_part(&req.context, &mut key);
    // Only UTF-8 text was written.
    String::from_utf8(key).unwrap_or_default()
}

/// Everything [`PolicyEngine::load`] installs, built from the texts (on the parser thread).
fn prepare_load(
    current: &Snapshot,
    policies: &str,
    schema: Option<&str>,
) -> Result<(LoadedPolicies, LoadedEntities, PolicySetInfo)> {
    let set = parse_policies(policies)?;
    let analysed = analyse_policies(&set)?;
    let mut warnings = Vec::new();
    let (schema, schema_hash) = match schema {
        Some(text) => {
            let (schema, schema_warnings) = parse_schema(text)?;
            warnings.extend(schema_warnings);
            (Some(schema), Some(sha256_hex(text.trim())))
        }
        None => (None, None),
    };
    if let Some(schema) = &schema {
        warnings.extend(validate_policies(policies, &set, schema)?);
    }
    // Entities were parsed against the previous schema: re-parse them against the new one.
    let entities = build_entities(current.entities.raw.clone(), schema.as_ref()).map_err(|e| {
        Error::new(
            ErrorCode::PolicyInvalid,
            format!(
                "the loaded entities do not conform to the new schema ({}); \
                 call setEntities with conforming entities first",
                e.message
            ),
        )
    })?;
    let mut context_use: HashMap<String, ContextUse> = HashMap::with_capacity(analysed.len());
    let mut permit_uses = Vec::new();
    let mut drafts = Vec::new();
    for (id, analysis) in analysed {
        if let Some(parts) = analysis.probe_parts {
            permit_uses.push(analysis.context_use.clone());
            drafts.push((id.clone(), parts));
        }
        context_use.insert(id, analysis.context_use);
    }
    let probes_context_use = ContextUse::union(permit_uses);
    let probes = NearMissProbes::from_drafts(drafts)?;
    let (compiled, evaluation) = compile_policies(&set)?;
    let mut loaded = LoadedPolicies {
        policy_set_hash: policy_set_hash(&set),
        schema_hash,
        annotations: annotations_by_id(&set),
        probes,
        context_use,
        probes_context_use,
        compiled,
        info: PolicySetInfo {
            policy_ids: Vec::new(),
            permit_count: 0,
            forbid_count: 0,
            policy_set_hash: String::new(),
            schema_hash: None,
            validated: false,
            warnings: Vec::new(),
            evaluation: Vec::new(),
        },
        set,
        schema,
    };
    let info = PolicySetInfo {
        policy_ids: {
            let mut ids: Vec<String> = loaded.annotations.keys().cloned().collect();
            ids.sort();
            ids
        },
        permit_count: loaded
            .set
            .policies()
            .filter(|p| p.effect() == Effect::Permit)
            .count(),
        forbid_count: loaded
            .set
            .policies()
            .filter(|p| p.effect() == Effect::Forbid)
            .count(),
        policy_set_hash: loaded.policy_set_hash.clone(),
        schema_hash: loaded.schema_hash.clone(),
        validated: loaded.schema.is_some(),
        warnings,
        evaluation,
    };
    loaded.info = info.clone();
    Ok((loaded, entities, info))
}

/// Compiles every policy (on parser threads for large sets): the compiled ones by id, and
/// the report of how each policy is evaluated, sorted by id.
#[allow(clippy::type_complexity)]
fn compile_policies(
    set: &PolicySet,
) -> Result<(HashMap<String, Arc<CompiledPolicy>>, Vec<PolicyEvaluation>)> {
    let core: &cedar_policy_core::ast::PolicySet = set.as_ref();
    let policies: Vec<&cedar_policy_core::ast::Policy> = core.policies().collect();
    let results = map_on_parser_threads(&policies, |p| {
        let id: &str = p.id().as_ref();
        Ok((id.to_string(), compile_policy(id, p)))
    })?;
    let mut compiled = HashMap::with_capacity(results.len());
    let mut report = Vec::with_capacity(results.len());
    for (id, result) in results {
        match result {
            Ok(policy) => {
                compiled.insert(id.clone(), Arc::new(policy));
                report.push(PolicyEvaluation {
                    id,
                    mode: EvaluationMode::Compiled,
                    reason: None,
                });
            }
            Err(why) => report.push(PolicyEvaluation {
                id,
                mode: EvaluationMode::Interpreted,
                reason: Some(format!(
                    "uses {why}, which only Cedar's interpreter evaluates"
                )),
            }),
        }
    }
    report.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((compiled, report))
}

/// What load keeps of one policy's JSON form (EST).
struct PolicyAnalysis {
    /// The context attributes it reads.
    context_use: ContextUse,
    /// For a permit policy, its near-miss parts.
    probe_parts: Option<Vec<ProbeDraft>>,
}

/// Each policy's id and analysis, in the set's order, from its JSON form (EST), which is
/// computed once (Cedar re-parses the policy's text for it) and dropped right after; refuses a
/// policy nested deeper than [`super::nesting::MAX_POLICY_NESTING`]. Large sets are analysed
/// on several threads.
fn analyse_policies(set: &PolicySet) -> Result<Vec<(String, PolicyAnalysis)>> {
    let policies: Vec<&Policy> = set.policies().collect();
    map_on_parser_threads(&policies, |p| {
        let id = policy_id_text(p.id());
        let est = p.to_json().map_err(|e| {
            Error::new(
                ErrorCode::PolicyParse,
                format!("policy \"{id}\" cannot be converted to Cedar's JSON form: {e}"),
            )
        })?;
        check_policy_depth(&id, &est)?;
        let analysis = PolicyAnalysis {
            context_use: ContextUse::of_est(&est),
            probe_parts: (p.effect() == Effect::Permit).then(|| draft_parts(p, &est)),
        };
        Ok((id, analysis))
    })
}

/// Parses a policy text and renames policies after their `@id` annotations.
pub(crate) fn parse_policies(src: &str) -> Result<PolicySet> {
    if src.trim().is_empty() {
        return err(
            ErrorCode::PolicyParse,
            "the policy text is empty; give at least one permit or forbid statement",
        );
    }
    check_policy_text(src)?;
    let parsed = PolicySet::from_str(src).map_err(|errors| {
        let messages: Vec<String> = errors
            .iter()
            .map(|e| {
                let what = match first_offset(e) {
                    Some(offset) => policy_at(src, offset),
                    None => "policy text".to_string(),
                };
                located(src, &what, e)
            })
            .take(MAX_REPORTED)
            .collect();
        Error::new(
            ErrorCode::PolicyParse,
            format!(
                "policies do not parse: {}{}",
                messages.join("; "),
                more(errors.iter().count(), "errors")
            ),
        )
    })?;
    if let Some(template) = parsed.templates().next() {
        return err(
            ErrorCode::PolicyParse,
            format!(
                "policy \"{}\" is a template (it uses ?principal or ?resource slots); \
                 templates are not supported, write a static policy",
                template
                    .annotation("id")
                    .unwrap_or(AsRef::<str>::as_ref(template.id()))
            ),
        );
    }
    let mut policies: Vec<_> = parsed.policies().collect();
    // Default ids are policy0, policy1, ...: keep source order for deterministic messages.
    policies.sort_by_key(|p| {
        let id: &str = p.id().as_ref();
        id.strip_prefix("policy")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(usize::MAX)
    });
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut renamed = PolicySet::new();
    for policy in policies {
        let default_id = policy_id_text(policy.id());
        let id = match policy.annotation("id") {
            Some(id) if id.trim().is_empty() => {
                return err(
                    ErrorCode::PolicyParse,
                    format!("policy \"{default_id}\" has an empty @id annotation; give it a name"),
                )
            }
            Some(id) => id.to_string(),
            None => default_id.clone(),
        };
        if let Some(first) = seen.insert(id.clone(), default_id.clone()) {
            return err(
                ErrorCode::PolicyParse,
                format!(
                    "policy id \"{id}\" is used twice (statements {first} and {default_id}); \
                     policy ids must be unique"
                ),
            );
        }
        renamed
            .add(policy.new_id(PolicyId::new(&id)))
            .map_err(|e| Error::new(ErrorCode::PolicyParse, format!("policy \"{id}\": {e}")))?;
    }
    Ok(renamed)
}

/// Parses a schema in Cedar syntax, or JSON syntax when the text starts with `{`.
pub(crate) fn parse_schema(text: &str) -> Result<(Schema, Vec<String>)> {
    if text.trim().is_empty() {
        return err(
            ErrorCode::PolicyParse,
            "the schema text is empty; omit the schema or give entity types and actions",
        );
    }
    check_schema_text(text)?;
    // The fragment first: building the schema computes the entity-type and action
    // hierarchies' closures, bounded like entity hierarchies.
    let (fragment, warnings) = if text.trim_start().starts_with('{') {
        let fragment = SchemaFragment::from_json_str(text)
            .map_err(|e| Error::new(ErrorCode::PolicyParse, located(text, "JSON schema", &e)))?;
        (fragment, Vec::new())
    } else {
        let (fragment, warnings) = SchemaFragment::from_cedarschema_str(text)
            .map_err(|e| Error::new(ErrorCode::PolicyParse, located(text, "schema", &e)))?;
        let warnings = warnings
            .map(|w| format!("schema warning: {}", describe(&w)))
            .collect();
        (fragment, warnings)
    };
    let json = fragment.clone().to_json_value().map_err(|e| {
        Error::new(
            ErrorCode::PolicyParse,
            format!("the schema cannot be read: {}", describe(&e)),
        )
    })?;
    check_schema_hierarchy(&json)?;
    let schema = Schema::from_schema_fragments([fragment])
        .map_err(|e| Error::new(ErrorCode::PolicyParse, located(text, "schema", &e)))?;
    Ok((schema, warnings))
}

/// Strict validation; errors name the policy and line/column, warnings are returned.
fn validate_policies(src: &str, set: &PolicySet, schema: &Schema) -> Result<Vec<String>> {
    let result = Validator::new(schema.clone()).validate(set, ValidationMode::Strict);
    let errors: Vec<String> = result
        .validation_errors()
        .take(MAX_REPORTED)
        .map(|e| {
            let id = policy_id_text(e.policy_id());
            located(src, &format!("policy \"{id}\""), e)
                .replace(&format!("for policy `{id}`, "), "")
        })
        .collect();
    if !errors.is_empty() {
        return err(
            ErrorCode::PolicyInvalid,
            format!(
                "policies fail strict validation against the schema: {}{}",
                errors.join("; "),
                more(result.validation_errors().count(), "errors")
            ),
        );
    }
    let mut warnings: Vec<String> = result
        .validation_warnings()
        .take(MAX_REPORTED)
        .map(|w| {
            located(
                src,
                &format!("warning: policy \"{}\"", policy_id_text(w.policy_id())),
                w,
            )
        })
        .collect();
    let total = result.validation_warnings().count();
    if total > MAX_REPORTED {
        warnings.push(format!("warning:{}", more(total, "warnings")));
    }
    Ok(warnings)
}

/// At most this many parse or validation errors (and warnings) are spelled out; locating
/// each one scans the text, so reporting all of 100,000 would be quadratic.
const MAX_REPORTED: usize = 20;

/// ` (and N more <what>)` when `total` is over [`MAX_REPORTED`].
fn more(total: usize, what: &str) -> String {
    if total > MAX_REPORTED {
        format!(" (and {} more {what})", total - MAX_REPORTED)
    } else {
        String::new()
    }
}

/// Parses entity JSON (validated against `schema` when given).
fn build_entities(raw: Value, schema: Option<&Schema>) -> Result<LoadedEntities> {
    let Value::Array(items) = &raw else {
        return err(
            ErrorCode::PolicyParse,
            "entities must be a JSON array of {\"uid\": {\"type\", \"id\"}, \"attrs\", \"parents\"}",
        );
    };
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let uid = item.get("uid").map(canonical_json).ok_or_else(|| {
            Error::new(
                ErrorCode::PolicyParse,
                format!("entity #{index} has no \"uid\": give {{\"uid\": {{\"type\": ..., \"id\": ...}}}}"),
            )
        })?;
        if !seen.insert(uid.clone()) {
            return err(
                ErrorCode::PolicyParse,
                format!("entity {uid} appears twice in the entity list"),
            );
        }
    }
    check_hierarchy(items)?;
    let entities = Entities::from_json_value(raw.clone(), schema).map_err(|e| {
        Error::new(
            ErrorCode::PolicyParse,
            format!("entities are invalid: {}", describe(&e)),
        )
    })?;
    Ok(LoadedEntities {
        table: EntityTable::new(&entities),
        entities,
        hash: sha256_hex(&canonical_entities(&raw)),
        raw,
    })
}

/// SHA-256 of the canonical policy text: policies sorted by id, each `id` + its source text.
pub(crate) fn policy_set_hash(set: &PolicySet) -> String {
    let mut parts: Vec<(String, String)> = set
        .policies()
        .map(|p| {
            let text = p.to_cedar().unwrap_or_default();
            (policy_id_text(p.id()), text.trim().to_string())
        })
        .collect();
    parts.sort();
    let mut canonical = String::new();
    for (id, text) in parts {
        canonical.push_str(&id);
        canonical.push('\u{1f}');
        canonical.push_str(&text);
        canonical.push('\u{1e}');
    }
    sha256_hex(&canonical)
}

/// Annotations of every policy, by id.
fn annotations_by_id(set: &PolicySet) -> HashMap<String, BTreeMap<String, String>> {
    set.policies()
        .map(|p| {
            let annotations = p
                .annotations()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (policy_id_text(p.id()), annotations)
        })
        .collect()
}

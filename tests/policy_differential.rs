//! Differential test of the policy engine against the `cedar-policy` crate on **randomly
//! generated policy sets** (issue #17's proof obligation for compiled evaluation).
//!
//! The engine does more than call Cedar: it compiles the policies it can and evaluates them
//! straight from the request's JSON, evaluates only the action's policy slice, gives Cedar only
//! the context attributes those policies read, answers repeated requests from a decision cache
//! whose keys are projections of the request (integer comparisons keyed by outcome), and fails
//! closed (an erroring policy denies and determines). Each of those is a place where a decision
//! could drift from Cedar's. The oracle here is Cedar itself on the *whole* policy set and the
//! *whole* context, with the fail-closed rule applied on top: decisions, determining ids and
//! erroring ids must be identical for the cached path, the uncached path and `is_authorized`;
//! and a quarter of the requests are also decided by an engine on Cedar's interpreter alone,
//! whose whole decisions (reasons, near misses, error texts) must equal the compiled engine's.
//!
//! Policies use every construct the compiled evaluator implements (see `compiled_construct`)
//! and the ones it leaves to the interpreter, and requests mix JSON types and leave attributes
//! out, so evaluation errors (the interpreter's fallback) are common. Seeded and reproducible:
//! `POLICY_DIFF_SEED`, `POLICY_DIFF_SETS` (policy sets) and `POLICY_DIFF_REQUESTS` (requests per
//! set) override the defaults (4 sets × 25,000 = 100,000 requests in a release build, 4 × 5,000
//! in `npm test`'s debug build); the long run is part of `npm run test:differential`.

use lean_agentic_native::reasoning::{
    AuthzRequest, DecisionKind, EntityRef, EvaluationMode, PolicyEngine,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const ACTIONS: [&str; 5] = ["pay", "read", "search", "deploy", "close"];
const TEXTS: [&str; 9] = [
    "12.25",
    "invoice 42",
    "my password is hunter2",
    "ssn 123-45-6789",
    "deploy to prod",
    "",
    "café ünïcode",
    "a*b",
    "ab",
];
const STEPS: [&str; 4] = ["approve", "review", "close", "read"];

fn pick<'a, T>(rng: &mut SmallRng, xs: &'a [T]) -> &'a T {
    &xs[rng.gen_range(0..xs.len())]
}

/// One random condition over the request, the principal or the resource.
fn condition(rng: &mut SmallRng, depth: u32) -> String {
    if depth < 2 && rng.gen_bool(0.25) {
        let (a, b) = (condition(rng, depth + 1), condition(rng, depth + 1));
        return match rng.gen_range(0..3) {
            0 => format!("({a} && {b})"),
            1 => format!("({a} || {b})"),
            _ => format!("!({a})"),
        };
    }
    let k: i64 = rng.gen_range(-2..2000);
    if rng.gen_bool(0.45) {
        return format!("({})", compiled_construct(rng, k));
    }
    match rng.gen_range(0..13) {
        0 => format!("context.params.amount < {k}"),
        1 => format!("context.params.amount >= {k}"),
        2 => format!("context.params.amount == {}", rng.gen_range(0..5)),
        3 => format!(
            "context.params.text like \"*{}*\"",
            pick(rng, &["password", "ssn", "prod", "42", ""])
        ),
        4 => format!("context.priorSteps.contains(\"{}\")", pick(rng, &STEPS)),
        5 => "context.params has amount".to_string(),
        6 => format!(
            "context has hour && context.hour > {}",
            rng.gen_range(0..24)
        ),
        7 => format!("principal.trustLevel >= {}", rng.gen_range(0..6)),
        8 => "resource.frozen".to_string(),
        9 => format!("context.stepIndex >= {}", rng.gen_range(0..6)),
        10 => format!("{} > context.retries", rng.gen_range(0..4)),
        11 => format!(
            "context.params.amount.lessThan(decimal(\"{}.5\"))",
            rng.gen_range(0..100)
        ),
        _ => format!(
            "context.approvals.contains(\"{}\")",
            pick(rng, &["cfo", "lead"])
        ),
    }
}

/// Conditions using the rest of what the compiled evaluator implements (arithmetic and its
/// overflow, `if`, set operations, set and record literals built from the request, `has`
/// paths, entity-valued and record-valued attributes, `in` a set) and constructs it leaves to
/// the interpreter (entity tags, `ip`), or meets only at run time (a decimal attribute).
fn compiled_construct(rng: &mut SmallRng, k: i64) -> String {
    match rng.gen_range(0..25) {
        0 => format!("context.params.amount + {k} > 1000"),
        1 => "context.params.amount * 4611686018427387904 > 0".to_string(),
        2 => format!("-context.retries < {}", rng.gen_range(-4..1)),
        3 => "if context has hour then context.hour < 12 else context.retries == 0".to_string(),
        4 => "context.approvals.containsAll([\"cfo\"])".to_string(),
        5 => "context.priorSteps.containsAny([\"approve\", \"close\"])".to_string(),
        6 => "context.priorSteps.isEmpty()".to_string(),
        7 => format!("[context.retries, 1].contains({})", rng.gen_range(0..3)),
        8 => format!("{{a: context.stepIndex}} == {{a: {}}}", rng.gen_range(0..3)),
        9 => "context.approvals == [\"cfo\"]".to_string(),
        10 => "context has params.amount".to_string(),
        11 => format!("principal.manager == Agent::\"a{}\"", rng.gen_range(0..4)),
        12 => "principal.manager in Role::\"r0\"".to_string(),
        13 => format!(
            "principal has profile.dept && principal.profile.dept == \"{}\"",
            pick(rng, &["eng", "ops"])
        ),
        14 => "resource in [Account::\"ac0\", Role::\"r1\"]".to_string(),
        15 => "principal in [Role::\"r0\", Role::\"r2\"]".to_string(),
        16 => "principal in context.approvals".to_string(),
        17 => "principal.hasTag(\"team\") && principal.getTag(\"team\") == \"red\"".to_string(),
        18 => "ip(\"10.1.2.3\").isInRange(ip(\"10.0.0.0/8\"))".to_string(),
        19 => "principal has score && principal.score == principal.score".to_string(),
        20 => format!(
            "context.params.text like \"{}\"",
            pick(rng, &["*é*", "my*is*", "a\\*b", "*", "", "ssn *-*-6789"])
        ),
        22 => format!(
            "context.params.amount == decimal(\"{}.25\")",
            rng.gen_range(0..100)
        ),
        23 => format!(
            "context.params.amount.greaterThanOrEqual(decimal(\"{}.5\"))",
            rng.gen_range(0..100)
        ),
        24 => "decimal(context.params.text).lessThanOrEqual(decimal(\"12.3\"))".to_string(),
        _ => "context.params == {amount: 1}".to_string(),
    }
}

/// A random policy set of `n` policies, as Cedar text with `@id`s.
fn policy_set(rng: &mut SmallRng, n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let effect = if rng.gen_bool(0.35) {
            "forbid"
        } else {
            "permit"
        };
        let principal = match rng.gen_range(0..5) {
            0 => "principal".to_string(),
            4 => format!("principal is Agent in Role::\"r{}\"", rng.gen_range(0..3)),
            1 => format!("principal == Agent::\"a{}\"", rng.gen_range(0..4)),
            2 => format!("principal in Role::\"r{}\"", rng.gen_range(0..3)),
            _ => "principal is Agent".to_string(),
        };
        let action = match rng.gen_range(0..4) {
            0 => "action".to_string(),
            1 => format!("action == Action::\"{}\"", pick(rng, &ACTIONS)),
            2 => format!(
                "action in [Action::\"{}\", Action::\"{}\"]",
                pick(rng, &ACTIONS),
                pick(rng, &ACTIONS)
            ),
            _ => "action in Action::\"money\"".to_string(),
        };
        let resource = match rng.gen_range(0..3) {
            0 => "resource".to_string(),
            1 => "resource is Account".to_string(),
            _ => format!("resource == Account::\"ac{}\"", rng.gen_range(0..3)),
        };
        out.push_str(&format!(
            "@id(\"p{i}\")\n{effect}({principal}, {action}, {resource})"
        ));
        for _ in 0..rng.gen_range(0..3) {
            let kw = if rng.gen_bool(0.8) { "when" } else { "unless" };
            out.push_str(&format!(" {kw} {{ {} }}", condition(rng, 0)));
        }
        out.push_str(";\n");
    }
    out
}

/// Entities: a role hierarchy, agents whose attributes are sometimes missing or of the wrong
/// type, accounts, and an action group.
fn entities(rng: &mut SmallRng) -> String {
    let mut list = vec![
        json!({"uid": {"type": "Role", "id": "r0"}, "attrs": {}, "parents": []}),
        json!({"uid": {"type": "Role", "id": "r1"}, "attrs": {}, "parents": [{"type": "Role", "id": "r0"}]}),
        json!({"uid": {"type": "Role", "id": "r2"}, "attrs": {}, "parents": []}),
        json!({"uid": {"type": "Action", "id": "money"}, "attrs": {}, "parents": []}),
    ];
    for a in ACTIONS {
        let parents = if a == "pay" || a == "close" {
            json!([{"type": "Action", "id": "money"}])
        } else {
            json!([])
        };
        list.push(json!({"uid": {"type": "Action", "id": a}, "attrs": {}, "parents": parents}));
    }
    for i in 0..4 {
        let mut attrs = Map::new();
        if rng.gen_bool(0.6) {
            attrs.insert(
                "manager".into(),
                json!({"__entity": {"type": "Agent", "id": format!("a{}", rng.gen_range(0..5))}}),
            );
        }
        if rng.gen_bool(0.5) {
            attrs.insert(
                "profile".into(),
                json!({"dept": pick(rng, &["eng", "ops"])}),
            );
        } else if rng.gen_bool(0.3) {
            attrs.insert("profile".into(), json!("eng"));
        }
        if rng.gen_bool(0.3) {
            attrs.insert(
                "score".into(),
                json!({"__extn": {"fn": "decimal", "arg": "1.5"}}),
            );
        }
        let tags = if rng.gen_bool(0.5) {
            json!({"team": pick(rng, &["red", "blue"])})
        } else {
            json!({})
        };
        match rng.gen_range(0..4) {
            0 => {}
            1 => {
                attrs.insert("trustLevel".into(), json!("high"));
            }
            _ => {
                attrs.insert("trustLevel".into(), json!(rng.gen_range(0..6)));
            }
        }
        list.push(
            json!({"uid": {"type": "Agent", "id": format!("a{i}")}, "attrs": attrs, "tags": tags,
            "parents": [{"type": "Role", "id": format!("r{}", rng.gen_range(0..3))}]}),
        );
    }
    for i in 0..3 {
        let attrs = if rng.gen_bool(0.8) {
            json!({"frozen": rng.gen_bool(0.3)})
        } else {
            json!({})
        };
        list.push(json!({"uid": {"type": "Account", "id": format!("ac{i}")}, "attrs": attrs, "parents": []}));
    }
    Value::Array(list).to_string()
}

/// A random request: small value domains, so the cache both hits and misses.
fn request(rng: &mut SmallRng) -> AuthzRequest {
    let mut params = Map::new();
    match rng.gen_range(0..6) {
        0 => {}
        1 => {
            params.insert("amount".into(), json!(rng.gen_range(0..3)));
        }
        2 => {
            params.insert("amount".into(), json!(rng.gen_range(0..2500)));
        }
        3 => {
            params.insert("amount".into(), json!("500"));
        }
        4 => {
            params.insert(
                "amount".into(),
                json!({"__extn": {"fn": "decimal", "arg": format!("{}.25", rng.gen_range(0..100))}}),
            );
        }
        _ => {
            params.insert("amount".into(), json!(true));
        }
    }
    if rng.gen_bool(0.7) {
        params.insert("text".into(), json!(pick(rng, &TEXTS)));
    }
    let mut context = Map::new();
    context.insert("params".into(), Value::Object(params));
    let prior: Vec<&str> = STEPS
        .iter()
        .copied()
        .filter(|_| rng.gen_bool(0.3))
        .collect();
    context.insert("priorSteps".into(), json!(prior));
    context.insert(
        "approvals".into(),
        if rng.gen_bool(0.5) {
            json!(["cfo"])
        } else {
            json!([])
        },
    );
    context.insert(
        "stepIndex".into(),
        if rng.gen_bool(0.9) {
            json!(rng.gen_range(0..8))
        } else {
            json!("three")
        },
    );
    if rng.gen_bool(0.8) {
        context.insert("retries".into(), json!(rng.gen_range(0..5)));
    }
    if rng.gen_bool(0.5) {
        context.insert("hour".into(), json!(rng.gen_range(0..24)));
    }
    let resource = if rng.gen_bool(0.8) {
        EntityRef::new("Account", format!("ac{}", rng.gen_range(0..3)))
    } else {
        EntityRef::new("Document", "d0")
    };
    AuthzRequest {
        principal: EntityRef::new("Agent", format!("a{}", rng.gen_range(0..5))),
        action: pick(rng, &ACTIONS).to_string(),
        resource,
        context: Value::Object(context),
    }
}

/// Cedar's answer on the whole set and the whole context, with fail-closed on top:
/// (allow?, determining ids sorted, erroring ids sorted).
fn oracle(
    names: &std::collections::HashMap<String, String>,
    policies: &cedar_policy::PolicySet,
    entities: &cedar_policy::Entities,
    req: &AuthzRequest,
) -> (bool, Vec<String>, Vec<String>) {
    let uid = |t: &str, id: &str| -> cedar_policy::EntityUid {
        format!("{t}::{}", serde_json::to_string(id).expect("id"))
            .parse()
            .expect("uid")
    };
    let context =
        cedar_policy::Context::from_json_value(req.context.clone(), None).expect("context");
    let request = cedar_policy::Request::new(
        uid(&req.principal.entity_type, &req.principal.id),
        uid("Action", &req.action),
        uid(&req.resource.entity_type, &req.resource.id),
        context,
        None,
    )
    .expect("request");
    let response = cedar_policy::Authorizer::new().is_authorized(&request, policies, entities);
    let mut erroring: Vec<String> = response
        .diagnostics()
        .errors()
        .map(|e| match e {
            cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                names[&e.policy_id().to_string()].clone()
            }
        })
        .collect();
    erroring.sort();
    erroring.dedup();
    if !erroring.is_empty() {
        return (false, erroring.clone(), erroring);
    }
    let mut reasons: Vec<String> = response
        .diagnostics()
        .reason()
        .map(|p| names[&p.to_string()].clone())
        .collect();
    reasons.sort();
    (
        response.decision() == cedar_policy::Decision::Allow,
        reasons,
        erroring,
    )
}

/// The policy ids named by `policy "<id>": <message>` errors, sorted and deduplicated.
fn erroring_ids(errors: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = errors
        .iter()
        .filter_map(|e| {
            e.strip_prefix("policy \"")?
                .split('"')
                .next()
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn engine_decisions_equal_cedar_on_random_policy_sets() {
    let seed = env_u64("POLICY_DIFF_SEED", 17);
    let sets = env_u64("POLICY_DIFF_SETS", 4);
    // 100,000 requests in a release run; a fifth of that in the debug build `npm test` runs.
    let per_set = env_u64(
        "POLICY_DIFF_REQUESTS",
        if cfg!(debug_assertions) {
            5_000
        } else {
            25_000
        },
    );
    let mut counts = [0u64; 4]; // allow, explicit deny, default deny, failed closed
    let mut cache_hits = 0u64;
    let mut compared = 0u64;
    // Uncached decisions: compiled, mixed, interpreted, of which fallbacks.
    let mut paths = [0u64; 4];
    // Policies: compiled, interpreted.
    let mut modes = [0u64; 2];
    for set in 0..sets {
        let mut rng = SmallRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(set));
        let n = rng.gen_range(8..24);
        let text = policy_set(&mut rng, n);
        let ents = entities(&mut rng);
        let engine = PolicyEngine::new();
        engine
            .load(&text, None)
            .unwrap_or_else(|e| panic!("set {set} (seed {seed}) failed to load: {e}\n{text}"));
        engine.set_entities(&ents).expect("entities");
        // The same policies on Cedar's interpreter alone: every part of a decision (reasons,
        // near misses, error texts) must be the same as on the compiled path.
        let interpreted = PolicyEngine::new();
        interpreted.set_compiled(false);
        interpreted.load(&text, None).expect("policies");
        interpreted.set_entities(&ents).expect("entities");
        let cedar_set: cedar_policy::PolicySet = text.parse().expect("oracle policies");
        // Cedar names parsed policies `policyN`; the `@id` annotation is the id users see.
        let names: std::collections::HashMap<String, String> = cedar_set
            .policies()
            .map(|p| {
                (
                    p.id().to_string(),
                    p.annotation("id").expect("@id").to_string(),
                )
            })
            .collect();
        let cedar_entities =
            cedar_policy::Entities::from_json_str(&ents, None).expect("oracle entities");
        let mut earlier: Vec<AuthzRequest> = Vec::new();
        for i in 0..per_set {
            // A third of the requests repeat an earlier one exactly (the cache answers those;
            // the rest hit or miss by their projections).
            let req = if !earlier.is_empty() && rng.gen_bool(0.33) {
                earlier[rng.gen_range(0..earlier.len())].clone()
            } else {
                let r = request(&mut rng);
                if earlier.len() < 2000 {
                    earlier.push(r.clone());
                }
                r
            };
            let (allow, determining, erroring) = oracle(&names, &cedar_set, &cedar_entities, &req);
            for (path, got) in [
                ("cached", engine.authorize(&req)),
                ("uncached", engine.authorize_uncached(&req)),
            ] {
                let got = got.unwrap_or_else(|e| {
                    panic!("set {set} request {i} ({path}) errored: {e}\n{req:?}")
                });
                let mut ids: Vec<String> = got
                    .determining_policies
                    .iter()
                    .map(|p| p.id.clone())
                    .collect();
                ids.sort();
                let got_erroring = erroring_ids(&got.errors);
                assert!(
                    (got.decision == DecisionKind::Allow) == allow
                        && ids == determining
                        && got_erroring == erroring,
                    "set {set} (seed {seed}) request {i} ({path}) differs from Cedar:\n  ours: {:?} {ids:?} errors {got_erroring:?}\n  cedar: allow={allow} {determining:?} errors {erroring:?}\n  request: {req:?}\n  policies:\n{text}",
                    got.decision
                );
            }
            let verdict = engine.is_authorized(&req).expect("verdict");
            let verdict_erroring = erroring_ids(&verdict.errors);
            assert!(
                (verdict.decision == DecisionKind::Allow) == allow
                    && verdict.determining_policy_ids == determining
                    && verdict_erroring == erroring,
                "set {set} (seed {seed}) request {i} (is_authorized) differs from Cedar: {verdict:?}\n  cedar: allow={allow} {determining:?} errors {erroring:?}\n  request: {req:?}\n  policies:\n{text}"
            );
            if i % 4 == 0 {
                let a = engine.authorize_uncached(&req).expect("compiled");
                let b = interpreted.authorize_uncached(&req).expect("interpreted");
                assert!(
                    a.decision == b.decision
                        && a.determining_policies == b.determining_policies
                        && a.errors == b.errors
                        && a.reasons == b.reasons
                        && a.near_miss == b.near_miss,
                    "set {set} (seed {seed}) request {i}: compiled and interpreted decisions differ:\n  compiled: {a:?}\n  interpreted: {b:?}\n  request: {req:?}\n  policies:\n{text}"
                );
                compared += 1;
            }
            let k = if !erroring.is_empty() {
                3
            } else if allow {
                0
            } else if determining.is_empty() {
                2
            } else {
                1
            };
            counts[k] += 1;
        }
        cache_hits += engine.cache_stats().hits;
        let stats = engine.evaluation_stats();
        for (k, v) in [
            stats.compiled,
            stats.mixed,
            stats.interpreted,
            stats.fallbacks,
        ]
        .into_iter()
        .enumerate()
        {
            paths[k] += v;
        }
        for p in engine.policy_info().evaluation {
            modes[(p.mode == EvaluationMode::Interpreted) as usize] += 1;
        }
    }
    let total = sets * per_set;
    eprintln!(
        "policy differential (seed {seed}): {total} requests over {sets} random policy sets agree with cedar-policy on the cached and uncached paths; allow {}, explicit deny {}, default deny {}, failed closed {}; {cache_hits} answered from the decision cache",
        counts[0], counts[1], counts[2], counts[3]
    );
    eprintln!("  {compared} whole decisions (reasons, near misses, error texts) equal on the compiled and interpreted engines");
    eprintln!(
        "  uncached decisions: compiled {}, mixed {}, interpreted {} (fallbacks {}); policies compiled {}, interpreted {}",
        paths[0], paths[1], paths[2], paths[3], modes[0], modes[1]
    );
    // Every path was taken: compiled decisions, mixed ones, and the interpreter's fallbacks.
    assert!(
        paths[0] > total / 20 && paths[1] > 0 && paths[3] > 0,
        "{paths:?}"
    );
    assert!(modes[0] > 0 && modes[1] > 0, "{modes:?}");
    // No property passes vacuously: every kind of outcome occurred.
    assert!(counts.iter().all(|&c| c > total / 100), "{counts:?}");
    assert!(
        cache_hits > total / 5,
        "the cached path was exercised: {cache_hits} hits"
    );
}

//! Benchmarks of the reasoning area: Cedar tool-call verification and workflow verification.

use criterion::{criterion_group, criterion_main, Criterion};
use lean_agentic_native::reasoning::{
    verify_workflow, AuthzRequest, EntityRef, PolicyEngine, Property, Workflow,
};
use serde_json::{json, Value};
use std::hint::black_box;

const POLICIES: &str = r#"
@id("finance-pay-small") permit(principal in Role::"finance", action in Action::"payments", resource is Account)
when { context.params.amount < 1000 && context.params.currency == "USD" };
@id("admin-pay-any") permit(principal in Role::"admin", action in Action::"payments", resource is Account)
when { context.approvals.contains("cfo") };
@id("readers-read") permit(principal, action in Action::"read_only", resource in Folder::"public");
@id("support-read-tickets") permit(principal in Role::"support", action == Action::"read", resource is Ticket);
@id("owner-write") permit(principal, action in Action::"write_ops", resource is Document) when { resource.owner == principal };
@id("owner-close") permit(principal, action == Action::"close", resource is Document) when { resource.owner == principal };
@id("trusted-secret-read") permit(principal is Agent, action == Action::"read", resource in Folder::"secret") when { principal.trustLevel >= 3 };
@id("forbid-frozen") forbid(principal, action in Action::"payments", resource is Account) when { resource.frozen };
@id("forbid-suspended") forbid(principal is Agent, action, resource) when { principal.suspended };
@id("forbid-secret-low-trust") forbid(principal is Agent, action, resource in Folder::"secret") unless { principal.trustLevel >= 3 };
@id("forbid-delete-after-close") forbid(principal, action == Action::"delete", resource) when { context.priorSteps.contains("close") };
@id("support-search") permit(principal in Role::"support", action == Action::"search", resource is Ticket);
@id("finance-refund-own") permit(principal in Role::"finance", action == Action::"refund", resource is Account) when { resource.owner == principal };
@id("admin-all-read") permit(principal in Role::"admin", action in Action::"read_only", resource);
@id("forbid-night-pay") forbid(principal, action in Action::"payments", resource) when { context has hour && (context.hour < 6 || context.hour > 22) };
@id("forbid-large-no-approval") forbid(principal, action == Action::"pay", resource) when { context.params.amount > 50000 && !context.approvals.contains("board") };
@id("staff-workflow-steps") permit(principal in Role::"staff", action in [Action::"check", Action::"approve", Action::"notify"], resource);
@id("forbid-untrusted-write") forbid(principal is Agent, action in Action::"write_ops", resource) when { principal.trustLevel < 1 };
@id("ops-close-ticket") permit(principal in Role::"support", action == Action::"close", resource is Ticket);
@id("forbid-self-approve") forbid(principal, action == Action::"approve", resource) when { context has requester && context.requester == principal };
"#;

/// Issue #17's realistic set: 20 policies whose conditions read the request (the same set as
/// `benches/policy_realistic.mjs`), so unique requests miss the decision cache.
const REALISTIC: &str = r#"
@id("read-docs") permit(principal in Role::"staff", action == Action::"read", resource is Document) when { resource.classification != "secret" };
@id("read-secret") permit(principal in Role::"security", action == Action::"read", resource is Document) when { principal.trustLevel >= 4 };
@id("pay-small") permit(principal in Role::"finance", action == Action::"pay", resource is Account) when { context.params.amount < 1000 };
@id("pay-approved") permit(principal in Role::"finance", action == Action::"pay", resource is Account) when { context.params.amount < 50000 && context.approvals.contains("cfo") };
@id("pay-frozen") forbid(principal, action == Action::"pay", resource is Account) when { resource.frozen };
@id("pay-after-close") forbid(principal, action == Action::"pay", resource) when { context.priorSteps.contains("close_account") };
@id("no-secrets-in-text") forbid(principal, action, resource) when { context.params has text && context.params.text like "*password*" };
@id("no-keys-in-text") forbid(principal, action, resource) when { context.params has text && context.params.text like "*BEGIN PRIVATE KEY*" };
@id("search-all") permit(principal in Role::"staff", action == Action::"search", resource);
@id("search-no-pii") forbid(principal, action == Action::"search", resource) when { context.params has text && context.params.text like "*ssn*" };
@id("note-all") permit(principal, action == Action::"take_note", resource) when { context.params has text };
@id("note-length") forbid(principal, action == Action::"take_note", resource) when { context.params has size && context.params.size > 100000 };
@id("deploy-reviewed") permit(principal in Role::"engineering", action == Action::"deploy", resource) when { context.priorSteps.contains("review") };
@id("deploy-freeze") forbid(principal, action == Action::"deploy", resource) when { context.params has env && context.params.env == "prod" && !context.approvals.contains("release-manager") };
@id("review-all") permit(principal in Role::"engineering", action == Action::"review", resource);
@id("suspended") forbid(principal is Agent, action, resource) when { principal.suspended };
@id("low-trust-pay") forbid(principal is Agent, action == Action::"pay", resource) when { principal.trustLevel < 2 };
@id("email-internal") permit(principal in Role::"staff", action == Action::"send_email", resource) when { context.params has to && context.params.to like "*@example.com" };
@id("email-limit") forbid(principal, action == Action::"send_email", resource) when { context.runs has send_email && context.runs.send_email.countLastHour >= 50 };
@id("close-admin") permit(principal in Role::"admin", action == Action::"close_account", resource is Account);
"#;

const REALISTIC_ENTITIES: &str = r#"[
{"uid":{"type":"Role","id":"staff"},"attrs":{},"parents":[]},
{"uid":{"type":"Role","id":"security"},"attrs":{},"parents":[]},
{"uid":{"type":"Role","id":"finance"},"attrs":{},"parents":[]},
{"uid":{"type":"Role","id":"engineering"},"attrs":{},"parents":[]},
{"uid":{"type":"Role","id":"admin"},"attrs":{},"parents":[]},
{"uid":{"type":"Agent","id":"alice"},"attrs":{"trustLevel":5,"suspended":false},"parents":[{"type":"Role","id":"staff"},{"type":"Role","id":"finance"}]},
{"uid":{"type":"Agent","id":"bob"},"attrs":{"trustLevel":1,"suspended":false},"parents":[{"type":"Role","id":"staff"},{"type":"Role","id":"engineering"}]},
{"uid":{"type":"Account","id":"ops"},"attrs":{"frozen":false},"parents":[]},
{"uid":{"type":"Document","id":"plan"},"attrs":{"classification":"internal"},"parents":[]}
]"#;

/// Realistic request `i` (as `policy_realistic.mjs` builds them: unique amounts and texts, the
/// context `verifyAction` gives Cedar).
fn realistic_request(i: usize) -> AuthzRequest {
    let agent = if i.is_multiple_of(3) { "bob" } else { "alice" };
    let approvals = if !i.is_multiple_of(2) && i.is_multiple_of(5) {
        json!(["cfo"])
    } else {
        json!([])
    };
    let (action, resource, params) = match i % 5 {
        0 => (
            "pay",
            EntityRef::new("Account", "ops"),
            json!({"amount": 100 + (i % 97_003), "text": format!("invoice {i}")}),
        ),
        1 => (
            "search",
            EntityRef::new("Resource", agent),
            json!({"text": format!("find the report number {i} for the team")}),
        ),
        2 => (
            "take_note",
            EntityRef::new("Resource", agent),
            json!({"text": format!("remember item {i}"), "size": i}),
        ),
        3 => (
            "read",
            EntityRef::new("Document", "plan"),
            json!({"text": format!("open plan {i}")}),
        ),
        _ => (
            "send_email",
            EntityRef::new("Resource", agent),
            json!({"to": format!("user{i}@example.com"), "text": format!("hello {i}")}),
        ),
    };
    AuthzRequest {
        principal: EntityRef::new("Agent", agent),
        action: action.into(),
        resource,
        // Keys in the order the engine writes them (sorted), with the session record.
        context: json!({"approvals": approvals, "deniedSteps": [], "failedSteps": [],
            "params": params, "priorSteps": [], "runs": {},
            "session": {"environment": {}, "id": format!("bench-{agent}"), "preferences": {}},
            "stepIndex": 0}),
    }
}

/// The realistic set, side by side: compiled and interpreted cache misses, a cache hit, and
/// Cedar's `is_authorized` alone on prebuilt requests.
fn bench_realistic(c: &mut Criterion) {
    let engine = PolicyEngine::new();
    engine.load(REALISTIC, None).expect("realistic policies");
    engine.set_entities(REALISTIC_ENTITIES).expect("entities");
    let requests: Vec<AuthzRequest> = (0..1000).map(realistic_request).collect();
    let cedar_set: cedar_policy::PolicySet = REALISTIC.parse().expect("cedar policies");
    let cedar_entities =
        cedar_policy::Entities::from_json_str(REALISTIC_ENTITIES, None).expect("entities");
    let uid = |t: &str, id: &str| -> cedar_policy::EntityUid {
        format!("{t}::{}", serde_json::to_string(id).expect("id"))
            .parse()
            .expect("uid")
    };
    let cedar_requests: Vec<cedar_policy::Request> = requests
        .iter()
        .map(|r| {
            cedar_policy::Request::new(
                uid(&r.principal.entity_type, &r.principal.id),
                uid("Action", &r.action),
                uid(&r.resource.entity_type, &r.resource.id),
                cedar_policy::Context::from_json_value(r.context.clone(), None).expect("ctx"),
                None,
            )
            .expect("request")
        })
        .collect();
    // Same answers on both paths (the differential suites check this at scale).
    for r in &requests[..50] {
        engine.set_compiled(false);
        let interpreted = engine.authorize_uncached(r).expect("interpreted");
        engine.set_compiled(true);
        let compiled = engine.authorize_uncached(r).expect("compiled");
        assert_eq!(interpreted.decision, compiled.decision);
    }
    let authorizer = cedar_policy::Authorizer::new();
    let mut group = c.benchmark_group("formal_reasoning_realistic");
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % requests.len();
        i
    };
    for (mode, compiled) in [("compiled", true), ("interpreted", false)] {
        engine.set_compiled(compiled);
        // The verdict alone (decision, determining ids, errors): what Cedar's is_authorized
        // gives.
        group.bench_function(format!("verdict_uncached_{mode}"), |b| {
            b.iter(|| engine.is_authorized(black_box(&requests[next()])))
        });
        // The whole decision (reasons, near misses, certificate with its digest); the request
        // is moved in, as the engine's steps do (its copy is made outside the timing).
        group.bench_function(format!("decision_uncached_{mode}"), |b| {
            b.iter_batched(
                || requests[next()].clone(),
                |r| engine.authorize_uncached_owned(r),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    engine.set_compiled(true);
    group.bench_function("cedar_is_authorized_prebuilt_requests", |b| {
        b.iter(|| {
            authorizer.is_authorized(
                black_box(&cedar_requests[next()]),
                &cedar_set,
                &cedar_entities,
            )
        })
    });
    let hot = &requests[7];
    engine.authorize(hot).expect("warm");
    group.bench_function("cached_hit_20_reading_policies", |b| {
        b.iter(|| engine.authorize(black_box(hot)))
    });
    group.finish();
}

fn entities() -> String {
    let mut list = vec![];
    for r in ["finance", "support", "admin", "auditor", "staff"] {
        let parents: Vec<Value> = if r == "staff" {
            vec![]
        } else {
            vec![json!({"type": "Role", "id": "staff"})]
        };
        list.push(json!({"uid": {"type": "Role", "id": r}, "attrs": {}, "parents": parents}));
    }
    for (id, role, trust) in [
        ("alice", "finance", 3),
        ("bob", "support", 1),
        ("root", "admin", 5),
        ("carol", "auditor", 2),
    ] {
        list.push(json!({"uid": {"type": "Agent", "id": id}, "attrs": {"trustLevel": trust, "suspended": false},
            "parents": [{"type": "Role", "id": role}]}));
    }
    for f in ["public", "secret"] {
        list.push(json!({"uid": {"type": "Folder", "id": f}, "attrs": {}, "parents": []}));
    }
    for i in 0..50 {
        list.push(json!({"uid": {"type": "Account", "id": format!("acct-{i}")},
            "attrs": {"owner": {"__entity": {"type": "Agent", "id": "alice"}}, "frozen": i == 7}, "parents": []}));
        list.push(
            json!({"uid": {"type": "Document", "id": format!("doc-{i}")},
            "attrs": {"owner": {"__entity": {"type": "Agent", "id": "alice"}}},
            "parents": [{"type": "Folder", "id": if i % 2 == 0 { "public" } else { "secret" }}]}),
        );
    }
    for (group, members) in [
        ("payments", vec!["pay", "refund"]),
        ("read_only", vec!["read", "search"]),
        ("write_ops", vec!["write", "delete"]),
    ] {
        list.push(json!({"uid": {"type": "Action", "id": group}, "attrs": {}, "parents": []}));
        for m in members {
            list.push(json!({"uid": {"type": "Action", "id": m}, "attrs": {}, "parents": [{"type": "Action", "id": group}]}));
        }
    }
    for a in ["close", "approve", "check", "notify"] {
        list.push(json!({"uid": {"type": "Action", "id": a}, "attrs": {}, "parents": []}));
    }
    Value::Array(list).to_string()
}

fn tool_call(amount: i64) -> AuthzRequest {
    AuthzRequest {
        principal: EntityRef::new("Agent", "alice"),
        action: "pay".into(),
        resource: EntityRef::new("Account", "acct-3"),
        context: json!({"params": {"amount": amount, "currency": "USD", "memo": "invoice 42"},
            "approvals": ["manager"], "priorSteps": ["read", "approve"], "stepIndex": 2,
            "session": {"id": "s-1", "turn": 5}}),
    }
}

fn workflow_20() -> Workflow {
    let mut steps = vec![
        json!({"id": "s0", "agentId": "alice", "action": "read", "resource": "Document::\"doc-0\""}),
    ];
    for i in 1..20 {
        let prev = format!("s{}", i - 1);
        let (action, deps, branch): (&str, Vec<String>, Option<Value>) = match i % 5 {
            0 => (
                "check",
                vec![prev.clone()],
                Some(json!({"group": format!("g{i}"), "option": "x"})),
            ),
            1 if i > 1 => ("write", vec![prev.clone(), format!("s{}alt", i - 1)], None),
            _ => (
                if i == 3 {
                    "approve"
                } else if i == 17 {
                    "pay"
                } else {
                    "read"
                },
                vec![prev.clone()],
                None,
            ),
        };
        steps.push(
            json!({"id": format!("s{i}"), "agentId": "alice", "action": action, "dependsOn": deps,
            "resource": if action == "pay" { "Account::\"acct-1\"" } else { "Document::\"doc-0\"" },
            "inputs": {"amount": 10, "currency": "USD"}, "branch": branch}),
        );
        if i % 5 == 0 {
            steps.push(json!({"id": format!("s{i}alt"), "agentId": "alice", "action": "check", "dependsOn": [prev],
                "resource": "Document::\"doc-0\"", "branch": {"group": format!("g{i}"), "option": "y"}}));
        }
    }
    serde_json::from_value(json!({"id": "wf-bench", "steps": steps})).expect("bench workflow")
}

/// CPU time (user + system) consumed by the current thread, from /proc (10 ms ticks).
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Prints the mean thread CPU time per call of `f` over `n` calls: on a machine shared with
/// other builds, wall-clock medians include time spent waiting for a core; CPU time does not.
fn report_cpu_time(name: &str, n: usize, mut f: impl FnMut()) {
    let (Some(start), wall) = (thread_cpu_seconds(), std::time::Instant::now()) else {
        return;
    };
    for _ in 0..n {
        f();
    }
    if let Some(end) = thread_cpu_seconds() {
        let cpu_us = (end - start) * 1e6 / n as f64;
        let wall_us = wall.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("cpu-time {name}: {cpu_us:.1} us/op CPU, {wall_us:.1} us/op wall ({n} ops)");
    }
}

fn bench(c: &mut Criterion) {
    let engine = PolicyEngine::new();
    let info = engine.load(POLICIES, None).expect("bench policies");
    assert_eq!(info.policy_ids.len(), 20);
    engine.set_entities(&entities()).expect("bench entities");
    let allow = tool_call(500);
    assert!(engine
        .authorize_uncached(&allow)
        .expect("allow")
        .is_allowed());
    let deny = tool_call(5000);
    assert!(!engine.authorize_uncached(&deny).expect("deny").is_allowed());
    let wf = workflow_20();
    let props: Vec<Property> = serde_json::from_value(json!([
        {"type": "precedes", "before": "approve", "after": "pay"},
        {"type": "atMost", "action": "pay", "count": 1},
        {"type": "neverAfter", "first": "pay", "then": "approve"}
    ]))
    .expect("props");
    let report = verify_workflow(&wf, &props, None).expect("workflow");
    assert!(report.ok);
    let report = verify_workflow(&wf, &props, Some(&engine)).expect("workflow with policies");
    assert!(report.ok, "{:?}", report.violations);

    report_cpu_time("authorize_uncached_allow_20_policies", 20_000, || {
        black_box(engine.authorize_uncached(black_box(&allow)).is_ok());
    });
    report_cpu_time(
        "authorize_uncached_default_deny_with_near_miss",
        10_000,
        || {
            black_box(engine.authorize_uncached(black_box(&deny)).is_ok());
        },
    );
    report_cpu_time("verify_workflow_20_steps_structural", 20_000, || {
        black_box(verify_workflow(black_box(&wf), black_box(&props), None).is_ok());
    });
    report_cpu_time(
        "verify_workflow_20_steps_with_policy_checks_uncached",
        500,
        || {
            engine.clear_cache();
            black_box(verify_workflow(black_box(&wf), black_box(&props), Some(&engine)).is_ok());
        },
    );

    let mut group = c.benchmark_group("formal_reasoning");
    group.bench_function("authorize_uncached_allow_20_policies", |b| {
        b.iter(|| engine.authorize_uncached(black_box(&allow)))
    });
    group.bench_function("authorize_uncached_default_deny_with_near_miss", |b| {
        b.iter(|| engine.authorize_uncached(black_box(&deny)))
    });
    // Baseline: Cedar alone on the same policies/entities/request (no mapping, no certificate).
    let cedar_set: cedar_policy::PolicySet = POLICIES.parse().expect("cedar baseline policies");
    let cedar_entities =
        cedar_policy::Entities::from_json_str(&entities(), None).expect("entities");
    let cedar_request = cedar_policy::Request::new(
        r#"Agent::"alice""#.parse().expect("uid"),
        r#"Action::"pay""#.parse().expect("uid"),
        r#"Account::"acct-3""#.parse().expect("uid"),
        cedar_policy::Context::from_json_value(allow.context.clone(), None).expect("context"),
        None,
    )
    .expect("request");
    let authorizer = cedar_policy::Authorizer::new();
    group.bench_function("cedar_is_authorized_baseline", |b| {
        b.iter(|| authorizer.is_authorized(black_box(&cedar_request), &cedar_set, &cedar_entities))
    });
    group.bench_function("authorize_cached_hit", |b| {
        b.iter(|| engine.authorize(black_box(&allow)))
    });
    group.bench_function("verify_workflow_20_steps_structural", |b| {
        b.iter(|| verify_workflow(black_box(&wf), black_box(&props), None))
    });
    group.bench_function(
        "verify_workflow_20_steps_with_policy_checks_uncached",
        |b| {
            b.iter(|| {
                engine.clear_cache();
                verify_workflow(black_box(&wf), black_box(&props), Some(&engine))
            })
        },
    );
    group.bench_function("load_20_policies", |b| {
        let fresh = PolicyEngine::new();
        b.iter(|| fresh.load(black_box(POLICIES), None))
    });
    group.finish();
}

criterion_group!(benches, bench, bench_realistic);
criterion_main!(benches);

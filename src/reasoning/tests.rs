//! Tests of the reasoning area: Cedar decisions, validation, certificates, cache, workflows.

use serde_json::{json, Value};

use super::policy::{
    check_certificate, AuthzRequest, DecisionKind, EntityRef, PolicyEngine, RequestMapping,
};
use super::workflow::{verify_workflow, Property, Workflow};
use crate::error::ErrorCode;

const POLICIES: &str = r#"
@id("finance-pay-small")
@description("finance agents may pay under 1000 USD")
permit(principal in Role::"finance", action in Action::"payments", resource is Account)
when { context.params.amount < 1000 && context.params.currency == "USD" };

@id("admin-pay-any")
permit(principal in Role::"admin", action in Action::"payments", resource is Account)
when { context.approvals.contains("cfo") };

@id("readers-read")
permit(principal, action in Action::"read_only", resource in Folder::"public");

@id("support-read-tickets")
permit(principal in Role::"support", action == Action::"read", resource is Ticket);

@id("owner-write")
permit(principal, action in Action::"write_ops", resource is Document)
when { resource.owner == principal };

@id("owner-close")
permit(principal, action == Action::"close", resource is Document)
when { resource.owner == principal };

@id("trusted-secret-read")
permit(principal is Agent, action == Action::"read", resource in Folder::"secret")
when { principal.trustLevel >= 3 };

@id("forbid-frozen")
forbid(principal, action in Action::"payments", resource is Account)
when { resource.frozen };

@id("forbid-suspended")
forbid(principal is Agent, action, resource)
when { principal.suspended };

@id("forbid-secret-low-trust")
forbid(principal is Agent, action, resource in Folder::"secret")
unless { principal.trustLevel >= 3 };

@id("forbid-delete-after-close")
forbid(principal, action == Action::"delete", resource)
when { context.priorSteps.contains("close") };
"#;

const SCHEMA: &str = r#"
type PayContext = {
  params: { amount: Long, currency: String },
  approvals: Set<String>,
  priorSteps: Set<String>,
};
type BaseContext = { priorSteps: Set<String> };
entity Role;
entity Agent in [Role] { trustLevel: Long, department: String, suspended: Bool };
entity Folder;
entity Document in [Folder] { owner: Agent };
entity Ticket;
entity Account { owner: Agent, frozen: Bool };
action payments;
action pay, refund in [payments] appliesTo { principal: Agent, resource: Account, context: PayContext };
action read_only;
action read, search in [read_only] appliesTo { principal: Agent, resource: [Document, Ticket], context: BaseContext };
action write_ops;
action write, delete in [write_ops] appliesTo { principal: Agent, resource: Document, context: BaseContext };
action close appliesTo { principal: Agent, resource: [Document, Ticket], context: BaseContext };
"#;

fn agent(id: &str, roles: &[&str], trust: i64, suspended: bool) -> Value {
    let parents: Vec<Value> = roles
        .iter()
        .map(|r| json!({"type": "Role", "id": r}))
        .collect();
    json!({"uid": {"type": "Agent", "id": id},
           "attrs": {"trustLevel": trust, "department": "ops", "suspended": suspended},
           "parents": parents})
}

/// Entities that conform to [`SCHEMA`] (no action entities: the schema provides them).
fn base_entities() -> Vec<Value> {
    let mut list = vec![
        json!({"uid": {"type": "Role", "id": "finance"}, "attrs": {}, "parents": []}),
        json!({"uid": {"type": "Role", "id": "support"}, "attrs": {}, "parents": []}),
        json!({"uid": {"type": "Role", "id": "admin"}, "attrs": {}, "parents": []}),
        json!({"uid": {"type": "Folder", "id": "public"}, "attrs": {}, "parents": []}),
        json!({"uid": {"type": "Folder", "id": "secret"}, "attrs": {}, "parents": []}),
        json!({"uid": {"type": "Ticket", "id": "t-1"}, "attrs": {}, "parents": []}),
        agent("alice", &["finance"], 3, false),
        agent("bob", &["support"], 1, false),
        agent("root", &["admin", "finance"], 5, false),
        agent("mallory", &["finance"], 3, true),
    ];
    list.push(json!({"uid": {"type": "Document", "id": "doc-1"},
        "attrs": {"owner": {"__entity": {"type": "Agent", "id": "alice"}}},
        "parents": [{"type": "Folder", "id": "public"}]}));
    list.push(json!({"uid": {"type": "Document", "id": "secret-1"},
        "attrs": {"owner": {"__entity": {"type": "Agent", "id": "root"}}},
        "parents": [{"type": "Folder", "id": "secret"}]}));
    for (id, frozen) in [("acct-1", false), ("acct-frozen", true)] {
        list.push(json!({"uid": {"type": "Account", "id": id},
            "attrs": {"owner": {"__entity": {"type": "Agent", "id": "alice"}}, "frozen": frozen},
            "parents": []}));
    }
    list
}

/// The action hierarchy as entities, for engines loaded without a schema.
fn action_entities() -> Vec<Value> {
    let mut list = Vec::new();
    for (group, members) in [
        ("payments", vec!["pay", "refund"]),
        ("read_only", vec!["read", "search"]),
        ("write_ops", vec!["write", "delete"]),
    ] {
        list.push(json!({"uid": {"type": "Action", "id": group}, "attrs": {}, "parents": []}));
        for m in members {
            list.push(json!({"uid": {"type": "Action", "id": m}, "attrs": {},
                "parents": [{"type": "Action", "id": group}]}));
        }
    }
    list.push(json!({"uid": {"type": "Action", "id": "close"}, "attrs": {}, "parents": []}));
    list
}

fn entities_without_schema() -> String {
    let mut all = base_entities();
    all.extend(action_entities());
    Value::Array(all).to_string()
}

fn engine_with_schema() -> PolicyEngine {
    let engine = PolicyEngine::new();
    engine
        .load(POLICIES, Some(SCHEMA))
        .expect("fixture policies validate");
    engine
        .set_entities(&Value::Array(base_entities()).to_string())
        .expect("fixture entities conform");
    engine
}

fn request(principal: &str, action: &str, resource: &str, context: Value) -> AuthzRequest {
    AuthzRequest {
        principal: EntityRef::new("Agent", principal),
        action: action.into(),
        resource: EntityRef::parse(resource, "Resource").expect("fixture resource"),
        context,
    }
}

fn pay_ctx(amount: i64, currency: &str, approvals: &[&str]) -> Value {
    json!({"params": {"amount": amount, "currency": currency}, "approvals": approvals, "priorSteps": []})
}

fn base_ctx(prior: &[&str]) -> Value {
    json!({"priorSteps": prior})
}

#[test]
fn decisions_over_realistic_policy_set() {
    let engine = engine_with_schema();
    let cases: Vec<(&str, AuthzRequest, DecisionKind, Vec<&str>)> = vec![
        (
            "small finance payment",
            request(
                "alice",
                "pay",
                r#"Account::"acct-1""#,
                pay_ctx(500, "USD", &[]),
            ),
            DecisionKind::Allow,
            vec!["finance-pay-small"],
        ),
        (
            "large finance payment",
            request(
                "alice",
                "pay",
                r#"Account::"acct-1""#,
                pay_ctx(5000, "USD", &[]),
            ),
            DecisionKind::Deny,
            vec![],
        ),
        (
            "refund through the action group",
            request(
                "alice",
                "refund",
                r#"Account::"acct-1""#,
                pay_ctx(100, "USD", &[]),
            ),
            DecisionKind::Allow,
            vec!["finance-pay-small"],
        ),
        (
            "forbid overrides permit on frozen account",
            request(
                "alice",
                "pay",
                r#"Account::"acct-frozen""#,
                pay_ctx(100, "USD", &[]),
            ),
            DecisionKind::Deny,
            vec!["forbid-frozen"],
        ),
        (
            "admin large payment with cfo approval",
            request(
                "root",
                "pay",
                r#"Account::"acct-1""#,
                pay_ctx(5000, "USD", &["cfo"]),
            ),
            DecisionKind::Allow,
            vec!["admin-pay-any"],
        ),
        (
            "admin in finance role pays small",
            request(
                "root",
                "pay",
                r#"Account::"acct-1""#,
                pay_ctx(500, "USD", &[]),
            ),
            DecisionKind::Allow,
            vec!["finance-pay-small"],
        ),
        (
            "both permits match",
            request(
                "root",
                "pay",
                r#"Account::"acct-1""#,
                pay_ctx(500, "USD", &["cfo"]),
            ),
            DecisionKind::Allow,
            vec!["admin-pay-any", "finance-pay-small"],
        ),
        (
            "admin large payment without approval",
            request(
                "root",
                "pay",
                r#"Account::"acct-1""#,
                pay_ctx(5000, "USD", &[]),
            ),
            DecisionKind::Deny,
            vec![],
        ),
        (
            "support agent cannot pay",
            request(
                "bob",
                "pay",
                r#"Account::"acct-1""#,
                pay_ctx(100, "USD", &[]),
            ),
            DecisionKind::Deny,
            vec![],
        ),
        (
            "public document readable",
            request("bob", "read", r#"Document::"doc-1""#, base_ctx(&[])),
            DecisionKind::Allow,
            vec!["readers-read"],
        ),
        (
            "search is in read_only",
            request("alice", "search", r#"Document::"doc-1""#, base_ctx(&[])),
            DecisionKind::Allow,
            vec!["readers-read"],
        ),
        (
            "support reads tickets",
            request("bob", "read", r#"Ticket::"t-1""#, base_ctx(&[])),
            DecisionKind::Allow,
            vec!["support-read-tickets"],
        ),
        (
            "finance cannot read tickets",
            request("alice", "read", r#"Ticket::"t-1""#, base_ctx(&[])),
            DecisionKind::Deny,
            vec![],
        ),
        (
            "low trust secret read forbidden",
            request("bob", "read", r#"Document::"secret-1""#, base_ctx(&[])),
            DecisionKind::Deny,
            vec!["forbid-secret-low-trust"],
        ),
        (
            "trusted secret read",
            request("alice", "read", r#"Document::"secret-1""#, base_ctx(&[])),
            DecisionKind::Allow,
            vec!["trusted-secret-read"],
        ),
        (
            "owner writes",
            request("alice", "write", r#"Document::"doc-1""#, base_ctx(&[])),
            DecisionKind::Allow,
            vec!["owner-write"],
        ),
        (
            "non-owner cannot write",
            request("bob", "write", r#"Document::"doc-1""#, base_ctx(&[])),
            DecisionKind::Deny,
            vec![],
        ),
        (
            "delete after close forbidden",
            request(
                "alice",
                "delete",
                r#"Document::"doc-1""#,
                base_ctx(&["close"]),
            ),
            DecisionKind::Deny,
            vec!["forbid-delete-after-close"],
        ),
        (
            "delete before close allowed",
            request(
                "alice",
                "delete",
                r#"Document::"doc-1""#,
                base_ctx(&["read"]),
            ),
            DecisionKind::Allow,
            vec!["owner-write"],
        ),
        (
            "suspended agent forbidden",
            request("mallory", "read", r#"Document::"doc-1""#, base_ctx(&[])),
            DecisionKind::Deny,
            vec!["forbid-suspended"],
        ),
        (
            "wrong currency",
            request(
                "alice",
                "pay",
                r#"Account::"acct-1""#,
                pay_ctx(10, "EUR", &[]),
            ),
            DecisionKind::Deny,
            vec![],
        ),
    ];
    assert!(cases.len() >= 15);
    for (name, req, expected, ids) in cases {
        let d = engine
            .authorize(&req)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.decision, expected, "{name}: {:?}", d.reasons);
        let got: Vec<&str> = d
            .determining_policies
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(got, ids, "{name}");
        assert!(
            d.errors.is_empty(),
            "{name}: unexpected errors {:?}",
            d.errors
        );
        assert!(!d.reasons.is_empty(), "{name}: no reasons");
        assert_eq!(d.certificate.decision, expected, "{name}");
    }
}

#[test]
fn allow_reasons_carry_annotations() {
    let engine = engine_with_schema();
    let d = engine
        .authorize(&request(
            "alice",
            "pay",
            r#"Account::"acct-1""#,
            pay_ctx(500, "USD", &[]),
        ))
        .unwrap();
    let policy = &d.determining_policies[0];
    assert_eq!(
        policy.annotations.get("description").map(String::as_str),
        Some("finance agents may pay under 1000 USD")
    );
    assert!(
        d.reasons[0].contains("permitted by policy \"finance-pay-small\""),
        "{:?}",
        d.reasons
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["decision"], "allow");
    assert!(json["determiningPolicies"].is_array());
    assert!(json["certificate"]["policySetHash"].is_string());
}

#[test]
fn default_deny_reports_near_miss_with_failed_condition() {
    let engine = engine_with_schema();
    let d = engine
        .authorize(&request(
            "alice",
            "pay",
            r#"Account::"acct-1""#,
            pay_ctx(5000, "USD", &[]),
        ))
        .unwrap();
    assert_eq!(d.decision, DecisionKind::Deny);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("no permit policy matched")),
        "{:?}",
        d.reasons
    );
    let best = d.near_miss.first().expect("a near miss");
    assert_eq!(best.policy_id, "finance-pay-small");
    assert!(
        best.satisfied
            .contains(&r#"principal in Role::"finance""#.to_string()),
        "{best:?}"
    );
    assert!(
        best.satisfied.iter().any(|s| s.contains("currency")),
        "{best:?}"
    );
    assert_eq!(best.failed.len(), 1, "{best:?}");
    assert!(
        best.failed[0].contains("amount") && best.failed[0].contains("1000"),
        "{best:?}"
    );
    // A support agent paying: the finance permit fails on its principal constraint.
    let d = engine
        .authorize(&request(
            "bob",
            "pay",
            r#"Account::"acct-1""#,
            pay_ctx(100, "USD", &[]),
        ))
        .unwrap();
    let finance = d
        .near_miss
        .iter()
        .find(|m| m.policy_id == "finance-pay-small")
        .expect("finance near miss");
    assert_eq!(
        finance.failed,
        vec![r#"principal in Role::"finance""#.to_string()]
    );
    // Forbid-determined denies carry no near miss.
    let d = engine
        .authorize(&request(
            "alice",
            "pay",
            r#"Account::"acct-frozen""#,
            pay_ctx(100, "USD", &[]),
        ))
        .unwrap();
    assert!(d.near_miss.is_empty());
    assert!(d
        .reasons
        .iter()
        .any(|r| r.contains("forbidden by policy \"forbid-frozen\"")));
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("forbid overrides permit") && r.contains("\"finance-pay-small\"")),
        "{:?}",
        d.reasons
    );
    // A forbid with no overridden permit says nothing about overriding.
    let d = engine
        .authorize(&request(
            "bob",
            "read",
            r#"Document::"secret-1""#,
            base_ctx(&[]),
        ))
        .unwrap();
    assert!(
        !d.reasons.iter().any(|r| r.contains("overrides")),
        "{:?}",
        d.reasons
    );
}

#[test]
fn a_policy_that_cannot_be_evaluated_denies() {
    let engine = PolicyEngine::new();
    engine.load(POLICIES, None).unwrap();
    let mut entities = base_entities();
    entities.extend(action_entities());
    // bob lacks the `suspended` attribute: forbid-suspended errors, and an erroring policy
    // denies (fail closed; Cedar alone would skip it and allow).
    for e in entities.iter_mut() {
        if e["uid"]["id"] == "bob" {
            e["attrs"].as_object_mut().unwrap().remove("suspended");
        }
    }
    let entities_text = Value::Array(entities).to_string();
    engine.set_entities(&entities_text).unwrap();
    let d = engine
        .authorize(&request(
            "bob",
            "read",
            r#"Document::"doc-1""#,
            base_ctx(&[]),
        ))
        .unwrap();
    assert_eq!(d.decision, DecisionKind::Deny);
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    assert!(
        d.errors[0].contains("forbid-suspended") && d.errors[0].contains("suspended"),
        "{:?}",
        d.errors
    );
    let ids: Vec<&str> = d
        .determining_policies
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, ["forbid-suspended"]);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("could not be evaluated") && r.contains("fail closed")),
        "{:?}",
        d.reasons
    );
    assert!(d.near_miss.is_empty());
    // A missing context attribute: the finance permit errors, and the request is denied by it.
    let d = engine
        .authorize(&request(
            "alice",
            "pay",
            r#"Account::"acct-1""#,
            json!({"approvals": [], "priorSteps": []}),
        ))
        .unwrap();
    assert_eq!(d.decision, DecisionKind::Deny);
    assert!(
        d.errors.iter().any(|e| e.contains("finance-pay-small")),
        "{:?}",
        d.errors
    );
    let ids: Vec<&str> = d
        .determining_policies
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, ["finance-pay-small"]);
    // The certificate of a fail-closed denial replays to the same decision.
    let check = check_certificate(&d.certificate, POLICIES, None, Some(&entities_text));
    assert!(check.as_ref().is_ok_and(|c| c.valid), "{check:?}");
}

#[test]
fn unvalidated_engine_agrees_with_validated_engine() {
    let plain = PolicyEngine::new();
    plain.load(POLICIES, None).unwrap();
    plain.set_entities(&entities_without_schema()).unwrap();
    let validated = engine_with_schema();
    for req in [
        request(
            "alice",
            "refund",
            r#"Account::"acct-1""#,
            pay_ctx(100, "USD", &[]),
        ),
        request("bob", "read", r#"Document::"secret-1""#, base_ctx(&[])),
        request(
            "alice",
            "delete",
            r#"Document::"doc-1""#,
            base_ctx(&["close"]),
        ),
    ] {
        let a = plain.authorize(&req).unwrap();
        let b = validated.authorize(&req).unwrap();
        assert_eq!(a.decision, b.decision);
        assert_eq!(a.determining_policies, b.determining_policies);
    }
}

#[test]
fn strict_validation_catches_misspelled_attribute() {
    let engine = engine_with_schema();
    let before = engine
        .authorize(&request(
            "alice",
            "read",
            r#"Document::"secret-1""#,
            base_ctx(&[]),
        ))
        .unwrap();
    let bad = POLICIES.replace(
        "when { principal.trustLevel >= 3 };",
        "when { principal.trustLevle >= 3 };",
    );
    let e = engine.load(&bad, Some(SCHEMA)).unwrap_err();
    assert_eq!(e.code, ErrorCode::PolicyInvalid);
    assert!(
        e.message.contains("policy \"trusted-secret-read\""),
        "{}",
        e.message
    );
    let line = bad.lines().position(|l| l.contains("trustLevle")).unwrap() + 1;
    assert!(
        e.message.contains(&format!("line {line}, column")),
        "{}",
        e.message
    );
    assert!(e.message.contains("trustLevle"), "{}", e.message);
    // The failed load kept the previous set.
    let after = engine
        .authorize(&request(
            "alice",
            "read",
            r#"Document::"secret-1""#,
            base_ctx(&[]),
        ))
        .unwrap();
    assert_eq!(before.decision, after.decision);
    assert_eq!(
        before.certificate.policy_set_hash,
        after.certificate.policy_set_hash
    );
}

#[test]
fn parse_error_names_policy_line_and_column() {
    let src = "@id(\"ok\")\npermit(principal, action, resource);\n\n@id(\"broken\")\npermit(principal, action, resource)\nwhen { context.amount < };\n";
    let e = PolicyEngine::new().load(src, None).unwrap_err();
    assert_eq!(e.code, ErrorCode::PolicyParse);
    assert!(e.message.contains("policy \"broken\""), "{}", e.message);
    assert!(e.message.contains("line 6, column"), "{}", e.message);
    let src = "permit(principal, action, resource);\nforbid(principal, actoin, resource);";
    let e = PolicyEngine::new().load(src, None).unwrap_err();
    assert_eq!(e.code, ErrorCode::PolicyParse);
    assert!(
        e.message.contains("policy \"policy1\"") && e.message.contains("line 2"),
        "{}",
        e.message
    );
}

#[test]
fn load_rejects_bad_inputs_with_codes() {
    let engine = PolicyEngine::new();
    assert_eq!(
        engine.load("   ", None).unwrap_err().code,
        ErrorCode::PolicyParse
    );
    let dup = "@id(\"a\") permit(principal, action, resource);\n@id(\"a\") forbid(principal, action, resource);";
    let e = engine.load(dup, None).unwrap_err();
    assert_eq!(e.code, ErrorCode::PolicyParse);
    assert!(e.message.contains("\"a\" is used twice"), "{}", e.message);
    let e = engine.load(POLICIES, Some("entity Agent {")).unwrap_err();
    assert_eq!(e.code, ErrorCode::PolicyParse);
    assert!(e.message.contains("schema at line 1"), "{}", e.message);
    let e = engine
        .load("permit(principal == ?principal, action, resource);", None)
        .unwrap_err();
    assert!(e.message.contains("template"), "{}", e.message);
    assert!(!engine.has_policies());
    let e = engine.set_entities("not json").unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidJson);
    let e = engine.set_entities("{\"uid\": 1}").unwrap_err();
    assert_eq!(e.code, ErrorCode::PolicyParse);
    let e = engine
        .set_entities("[{\"uid\": {\"type\": \"Agent\"}}]")
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PolicyParse);
    // Schema-checked entities: a wrong attribute type is rejected.
    let engine = engine_with_schema();
    let mut bad = base_entities();
    bad[6]["attrs"]["trustLevel"] = json!("high");
    let e = engine
        .set_entities(&Value::Array(bad).to_string())
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PolicyParse);
    assert!(e.message.contains("trustLevel"), "{}", e.message);
    // Bad requests.
    let mut req = request("alice", "pay", "acct-1", json!([1]));
    assert_eq!(
        engine.authorize(&req).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    // With a schema, a request that does not conform is denied with the validation error.
    req.context = json!({"params": {"amount": 1.5}});
    let d = engine.authorize(&req).unwrap();
    assert_eq!(d.decision, DecisionKind::Deny);
    assert!(d.determining_policies.is_empty());
    assert!(
        d.errors[0].contains("does not conform to the schema"),
        "{:?}",
        d.errors
    );
    assert!(d.errors[0].contains("floating-point"), "{:?}", d.errors);
    let plain = PolicyEngine::new();
    plain.load(POLICIES, None).unwrap();
    let e = plain.authorize(&req).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(e.message.contains("floating-point"), "{}", e.message);
    req.context = json!({});
    req.principal.entity_type = "Not A Type".into();
    assert_eq!(
        engine.authorize(&req).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    req.principal.entity_type = "Agent".into();
    req.action = "".into();
    assert_eq!(
        engine.authorize(&req).unwrap_err().code,
        ErrorCode::InvalidInput
    );
}

#[test]
fn json_schema_is_accepted() {
    let schema = r#"{"": {"entityTypes": {"Agent": {}}, "actions": {"go": {"appliesTo": {"principalTypes": ["Agent"], "resourceTypes": ["Agent"]}}}}}"#;
    let engine = PolicyEngine::new();
    let info = engine
        .load(
            "@id(\"go\") permit(principal, action == Action::\"go\", resource);",
            Some(schema),
        )
        .unwrap();
    assert!(info.validated);
    assert_eq!(info.policy_ids, vec!["go".to_string()]);
    let d = engine
        .authorize(&request("x", "go", r#"Agent::"y""#, json!({})))
        .unwrap();
    assert_eq!(d.decision, DecisionKind::Allow);
}

#[test]
fn certificates_replay_and_detect_tampering() {
    let engine = engine_with_schema();
    let entities = Value::Array(base_entities()).to_string();
    let d = engine
        .authorize(&request(
            "alice",
            "pay",
            r#"Account::"acct-1""#,
            pay_ctx(500, "USD", &[]),
        ))
        .unwrap();
    let cert = d.certificate.clone();
    let ok = check_certificate(&cert, POLICIES, Some(SCHEMA), Some(&entities)).unwrap();
    assert!(ok.valid, "{:?}", ok.reasons);
    // Round trip through JSON.
    let text = serde_json::to_string(&cert).unwrap();
    let back: super::policy::Certificate = serde_json::from_str(&text).unwrap();
    assert!(
        check_certificate(&back, POLICIES, Some(SCHEMA), Some(&entities))
            .unwrap()
            .valid
    );
    // Entity order does not matter for the hash.
    let mut reversed = base_entities();
    reversed.reverse();
    let rev = Value::Array(reversed).to_string();
    assert!(
        check_certificate(&cert, POLICIES, Some(SCHEMA), Some(&rev))
            .unwrap()
            .valid
    );

    let mut flipped = cert.clone();
    flipped.decision = DecisionKind::Deny;
    flipped.digest = flipped.compute_digest();
    let check = check_certificate(&flipped, POLICIES, Some(SCHEMA), Some(&entities)).unwrap();
    assert!(!check.valid);
    assert!(
        check
            .reasons
            .iter()
            .any(|r| r.contains("replay decided allow")),
        "{:?}",
        check.reasons
    );

    let mut edited = cert.clone();
    edited.request.context["params"]["amount"] = json!(600);
    let check = check_certificate(&edited, POLICIES, Some(SCHEMA), Some(&entities)).unwrap();
    assert!(!check.valid);
    assert!(
        check.reasons.iter().any(|r| r.contains("digest")),
        "{:?}",
        check.reasons
    );

    let mut rehashed = cert.clone();
    rehashed.policy_set_hash = "0".repeat(64);
    let check = check_certificate(&rehashed, POLICIES, Some(SCHEMA), Some(&entities)).unwrap();
    assert!(!check.valid);
    assert!(
        check
            .reasons
            .iter()
            .any(|r| r.contains("policy set hash differs")),
        "{:?}",
        check.reasons
    );

    // Different policies than certified.
    let other = POLICIES.replace("amount < 1000", "amount < 100");
    let check = check_certificate(&cert, &other, Some(SCHEMA), Some(&entities)).unwrap();
    assert!(!check.valid);
    assert!(
        check
            .reasons
            .iter()
            .any(|r| r.contains("replay decided deny")),
        "{:?}",
        check.reasons
    );

    let mut entity_edit = base_entities();
    entity_edit[6]["parents"] = json!([]);
    let check = check_certificate(
        &cert,
        POLICIES,
        Some(SCHEMA),
        Some(&Value::Array(entity_edit).to_string()),
    )
    .unwrap();
    assert!(!check.valid);
    assert!(
        check
            .reasons
            .iter()
            .any(|r| r.contains("entities hash differs")),
        "{:?}",
        check.reasons
    );
}

#[test]
fn cache_hits_and_never_serves_stale_decisions() {
    let engine = engine_with_schema();
    let req = request(
        "alice",
        "pay",
        r#"Account::"acct-1""#,
        pay_ctx(500, "USD", &[]),
    );
    assert!(engine.authorize(&req).unwrap().is_allowed());
    assert!(engine.authorize(&req).unwrap().is_allowed());
    let stats = engine.cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 1));
    // Context key order does not change the cache key.
    let mut reordered = req.clone();
    reordered.context = serde_json::from_str(
        r#"{"priorSteps": [], "approvals": [], "params": {"currency": "USD", "amount": 500}}"#,
    )
    .unwrap();
    engine.authorize(&reordered).unwrap();
    assert_eq!(engine.cache_stats().hits, 2);

    // New policies: the cached allow must not be served.
    let stricter = POLICIES.replace("amount < 1000", "amount < 100");
    engine.load(&stricter, Some(SCHEMA)).unwrap();
    assert_eq!(engine.cache_stats().entries, 0);
    assert_eq!(engine.authorize(&req).unwrap().decision, DecisionKind::Deny);
    engine.load(POLICIES, Some(SCHEMA)).unwrap();
    assert!(engine.authorize(&req).unwrap().is_allowed());

    // New entities: alice leaves the finance role.
    let mut entities = base_entities();
    entities[6]["parents"] = json!([]);
    engine
        .set_entities(&Value::Array(entities).to_string())
        .unwrap();
    assert_eq!(engine.authorize(&req).unwrap().decision, DecisionKind::Deny);
    // Uncached evaluation does not touch the counters.
    let before = engine.cache_stats();
    engine.authorize_uncached(&req).unwrap();
    assert_eq!(engine.cache_stats(), before);
}

/// Asserts that a cached answer says what a fresh Cedar decision says.
fn assert_same_answer(cached: &super::Decision, fresh: &super::Decision, what: &str) {
    assert_eq!(cached.decision, fresh.decision, "{what}");
    assert_eq!(
        cached.determining_policies, fresh.determining_policies,
        "{what}"
    );
    assert_eq!(cached.errors, fresh.errors, "{what}");
    assert_eq!(cached.reasons, fresh.reasons, "{what}");
    assert_eq!(cached.near_miss, fresh.near_miss, "{what}");
}

#[test]
fn cached_answers_equal_uncached_ones_including_near_misses() {
    // `read` is permitted when context.approved; `write` has no permit, so a `write` request is
    // a default deny whose near misses (over every permit, whatever its action) depend on
    // `approved` although no policy of `write` reads it. `note` reads `context.step`.
    let engine = PolicyEngine::new();
    engine
        .load(
            r#"@id("read-approved") permit(principal, action == Action::"read", resource) when { context.approved == true };
               @id("note-any") permit(principal, action == Action::"note", resource) when { context.step >= 0 };
               @id("no-bob") forbid(principal == Agent::"bob", action, resource);"#,
            None,
        )
        .unwrap();
    let mut seen = 0;
    for round in 0..2 {
        for action in ["read", "write", "note"] {
            for approved in [true, false] {
                for step in [0i64, 1, -1] {
                    for who in ["alice", "bob"] {
                        let req = request(
                            who,
                            action,
                            "doc",
                            json!({"approved": approved, "step": step, "text": format!("t{round}{step}")}),
                        );
                        let cached = engine.authorize(&req).unwrap();
                        let fresh = engine.authorize_uncached(&req).unwrap();
                        let what =
                            format!("{who} {action} approved={approved} step={step} round {round}");
                        assert_same_answer(&cached, &fresh, &what);
                        assert_eq!(
                            cached.certificate.request, fresh.certificate.request,
                            "{what}"
                        );
                        assert_eq!(
                            cached.certificate.determining_policy_ids,
                            fresh.certificate.determining_policy_ids
                        );
                        seen += 1;
                    }
                }
            }
        }
    }
    let stats = engine.cache_stats();
    assert_eq!(stats.hits + stats.misses, seen);
    assert!(stats.hits >= seen / 2, "{stats:?}");
}

#[test]
fn integer_thresholds_hit_the_cache_and_decide_as_cedar_does() {
    // `n` is only compared with integer literals (on both sides, negative ones too), so a
    // counter hits the cache whenever every comparison comes out the same; values that are not
    // integers (or absent) are keyed by value. Every answer must equal a fresh decision.
    let engine = PolicyEngine::new();
    engine
        .load(
            r#"@id("window") permit(principal, action == Action::"step", resource) when { context.n >= 0 && context.n < 10 };
               @id("not-seven") forbid(principal, action == Action::"step", resource) when { 7 == context.n };
               @id("low") permit(principal, action == Action::"low", resource) when { -3 >= context.n };"#,
            None,
        )
        .unwrap();
    let mut values: Vec<Value> = (-6i64..=14).map(|n| json!(n)).collect();
    values.extend([
        json!(i64::MAX),
        json!(i64::MIN),
        json!("5"),
        json!(true),
        json!([5]),
    ]);
    let mut seen = 0;
    for round in 0..2 {
        for action in ["step", "low"] {
            for n in &values {
                for with_n in [true, false] {
                    let context = if with_n {
                        json!({"n": n, "text": format!("r{round}")})
                    } else {
                        json!({"text": "no n"})
                    };
                    let req = request("alice", action, "doc", context);
                    let cached = engine.authorize(&req).unwrap();
                    let fresh = engine.authorize_uncached(&req).unwrap();
                    let what = format!("{action} n={n} present={with_n} round {round}");
                    assert_same_answer(&cached, &fresh, &what);
                    seen += 1;
                }
            }
        }
    }
    let check = |action: &str, n: i64| {
        engine
            .authorize(&request("alice", action, "doc", json!({"n": n})))
            .unwrap()
            .decision
    };
    assert_eq!(check("step", 3), DecisionKind::Allow);
    assert_eq!(check("step", 7), DecisionKind::Deny);
    assert_eq!(check("step", 10), DecisionKind::Deny);
    assert_eq!(check("low", -3), DecisionKind::Allow);
    assert_eq!(check("low", -2), DecisionKind::Deny);
    let stats = engine.cache_stats();
    // Integers inside 0..10 other than 7 share one entry: most answers are hits.
    assert!(stats.hits * 2 >= seen, "{stats:?} of {seen}");
}

#[test]
fn cache_stays_bounded() {
    let engine = PolicyEngine::with_options(Default::default(), 16);
    engine
        .load("permit(principal, action, resource);", None)
        .unwrap();
    for i in 0..100 {
        engine
            .authorize(&request(&format!("a{i}"), "go", "r", json!({})))
            .unwrap();
    }
    let stats = engine.cache_stats();
    assert!(stats.entries <= 16, "{stats:?}");
    assert!(stats.evictions > 0);
}

#[test]
fn engine_is_shareable_across_threads() {
    let engine = std::sync::Arc::new(engine_with_schema());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for i in 0..20 {
                    let amount = if (i + t) % 2 == 0 { 10 } else { 5000 };
                    let d = engine
                        .authorize(&request(
                            "alice",
                            "pay",
                            r#"Account::"acct-1""#,
                            pay_ctx(amount, "USD", &[]),
                        ))
                        .unwrap();
                    assert_eq!(d.is_allowed(), amount < 1000);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

// ---------------------------------------------------------------- workflows

fn step(id: &str, action: &str, deps: &[&str]) -> Value {
    json!({"id": id, "agentId": "alice", "action": action, "dependsOn": deps})
}

fn branch_step(id: &str, action: &str, deps: &[&str], group: &str, option: &str) -> Value {
    let mut s = step(id, action, deps);
    s["branch"] = json!({"group": group, "option": option});
    s
}

fn workflow(steps: Vec<Value>) -> Workflow {
    serde_json::from_value(json!({"id": "wf-1", "name": "test", "steps": steps})).unwrap()
}

fn props(json: Value) -> Vec<Property> {
    serde_json::from_value(json).unwrap()
}

/// Payment after a review branch: the auto option skips approval.
fn payment_workflow(fixed: bool) -> Workflow {
    let pay_deps: &[&str] = if fixed {
        &["approve"]
    } else {
        &["approve", "auto-check"]
    };
    let mut steps = vec![
        step("fetch", "read", &[]),
        branch_step("approve", "approve", &["fetch"], "review", "manual"),
        branch_step("auto-check", "check", &["fetch"], "review", "auto"),
    ];
    if fixed {
        // Both options end in an approval.
        steps[1] = step("approve", "approve", &["manual-review", "auto-check"]);
        steps.push(branch_step(
            "manual-review",
            "review",
            &["fetch"],
            "review",
            "manual",
        ));
    }
    steps.push(step("pay", "pay", pay_deps));
    steps.push(step("notify", "notify", &["pay"]));
    workflow(steps)
}

#[test]
fn payment_before_approval_on_one_branch_is_rejected_with_that_path() {
    let wf = payment_workflow(false);
    let p = props(json!([{"type": "precedes", "before": "approve", "after": "pay"}]));
    let report = verify_workflow(&wf, &p, None).unwrap();
    assert!(!report.ok);
    assert_eq!(report.paths_checked, 2);
    assert_eq!(report.violations.len(), 1, "{:?}", report.violations);
    let v = &report.violations[0];
    assert_eq!(v.property["type"], "precedes");
    assert!(v.message.contains("review=auto"), "{}", v.message);
    assert_eq!(
        v.counterexample,
        vec!["fetch", "auto-check", "pay", "notify"]
    );
    assert!(!v.counterexample.contains(&"approve".to_string()));

    let fixed = verify_workflow(&payment_workflow(true), &p, None).unwrap();
    assert!(fixed.ok, "{:?}", fixed.violations);
    assert!(fixed.violations.is_empty());
}

#[test]
fn precedes_counterexample_schedules_after_before_before() {
    // approve and pay are independent: some order runs pay first.
    let wf = workflow(vec![
        step("s", "read", &[]),
        step("a", "approve", &["s"]),
        step("p", "pay", &["s"]),
    ]);
    let p = props(
        json!([{"type": "precedes", "before": {"action": "approve"}, "after": {"step": "p"}}]),
    );
    let report = verify_workflow(&wf, &p, None).unwrap();
    assert_eq!(report.violations.len(), 1);
    assert_eq!(report.violations[0].counterexample, vec!["s", "p", "a"]);
}

#[test]
fn never_after_and_at_most() {
    let wf = workflow(vec![
        step("open", "read", &[]),
        step("w1", "write", &["open"]),
        step("close", "close", &["w1"]),
        step("w2", "write", &["open"]),
        step("p1", "pay", &["close"]),
        step("p2", "pay", &["close"]),
    ]);
    let p = props(json!([
        {"type": "neverAfter", "first": "close", "then": "write"},
        {"type": "atMost", "action": "pay", "count": 1},
        {"type": "atMost", "action": "pay", "count": 2},
        {"type": "precedes", "before": "open", "after": "pay"}
    ]));
    let report = verify_workflow(&wf, &p, None).unwrap();
    assert_eq!(report.violations.len(), 2, "{:?}", report.violations);
    let never = &report.violations[0];
    assert_eq!(never.property["type"], "neverAfter");
    assert!(never.message.contains("\"w2\""), "{}", never.message);
    let pos = |id: &str| never.counterexample.iter().position(|x| x == id).unwrap();
    assert!(pos("close") < pos("w2"));
    let at_most = &report.violations[1];
    assert_eq!(
        at_most.property,
        json!({"type": "atMost", "action": "pay", "count": 1})
    );
    assert!(at_most.message.contains("2 steps"), "{}", at_most.message);

    // Writes all before close: holds.
    let ok = workflow(vec![
        step("w1", "write", &[]),
        step("w2", "write", &[]),
        step("close", "close", &["w1", "w2"]),
    ]);
    let report = verify_workflow(
        &ok,
        &props(json!([{"type": "neverAfter", "first": "close", "then": "write"}])),
        None,
    )
    .unwrap();
    assert!(report.ok, "{:?}", report.violations);
}

#[test]
fn at_most_counts_per_branch_path() {
    let wf = workflow(vec![
        step("s", "read", &[]),
        branch_step("p1", "pay", &["s"], "how", "card"),
        branch_step("p2", "pay", &["s"], "how", "wire"),
    ]);
    let report = verify_workflow(
        &wf,
        &props(json!([{"type": "atMost", "action": "pay", "count": 1}])),
        None,
    )
    .unwrap();
    assert!(report.ok, "{:?}", report.violations);
    assert_eq!(report.paths_checked, 2);
}

#[test]
fn cycles_are_reported_with_the_cycle() {
    let wf = workflow(vec![
        step("a", "read", &["c"]),
        step("b", "write", &["a"]),
        step("c", "close", &["b"]),
        step("d", "pay", &[]),
    ]);
    let report = verify_workflow(&wf, &props(json!([{"type": "noCycles"}])), None).unwrap();
    assert!(!report.ok);
    assert_eq!(report.violations.len(), 1);
    let v = &report.violations[0];
    assert_eq!(v.property["type"], "noCycles");
    assert_eq!(v.counterexample.first(), v.counterexample.last());
    assert_eq!(v.counterexample.len(), 4);
    for id in ["a", "b", "c"] {
        assert!(v.counterexample.contains(&id.to_string()));
    }
    // Each listed step must run before the next: next depends on previous.
    for pair in v.counterexample.windows(2) {
        let next = wf.steps.iter().find(|s| s.id == pair[1]).unwrap();
        assert!(next.depends_on.contains(&pair[0]), "{pair:?}");
    }
    let self_loop = workflow(vec![step("x", "read", &["x"])]);
    assert!(!verify_workflow(&self_loop, &[], None).unwrap().ok);
}

#[test]
fn unreachable_steps_are_reported() {
    let wf = workflow(vec![
        step("s", "read", &[]),
        branch_step("manual", "approve", &["s"], "review", "manual"),
        branch_step("auto", "check", &["s"], "review", "auto"),
        // Runs only when review=auto, but only after the manual step: never.
        branch_step("auto-follow-up", "pay", &["manual"], "review", "auto"),
    ]);
    let report = verify_workflow(&wf, &[], None).unwrap();
    assert!(!report.ok);
    assert_eq!(report.violations[0].property["type"], "allReachable");
    assert_eq!(report.violations[0].counterexample, vec!["auto-follow-up"]);
}

#[test]
fn malformed_workflows_are_errors() {
    let dup = workflow(vec![step("a", "read", &[]), step("a", "write", &[])]);
    assert_eq!(
        verify_workflow(&dup, &[], None).unwrap_err().code,
        ErrorCode::InvalidWorkflow
    );
    let unknown = workflow(vec![step("a", "read", &["ghost"])]);
    let e = verify_workflow(&unknown, &[], None).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidWorkflow);
    assert!(e.message.contains("ghost"));
    assert_eq!(
        verify_workflow(&workflow(vec![]), &[], None)
            .unwrap_err()
            .code,
        ErrorCode::InvalidWorkflow
    );
    // 13 binary groups = 8192 combinations > 4096.
    let many: Vec<Value> = (0..13)
        .flat_map(|g| {
            vec![
                branch_step(&format!("g{g}a"), "read", &[], &format!("g{g}"), "a"),
                branch_step(&format!("g{g}b"), "read", &[], &format!("g{g}"), "b"),
            ]
        })
        .collect();
    let e = verify_workflow(&workflow(many), &[], None).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidWorkflow);
    assert!(e.message.contains("8192"), "{}", e.message);
    // A selector matching nothing is a violation of its own kind, never a vacuous pass.
    let wf = workflow(vec![step("a", "read", &[]), step("b", "approve", &["a"])]);
    let report = verify_workflow(
        &wf,
        &props(json!([{"type": "precedes", "before": "approve", "after": "pay"}])),
        None,
    )
    .unwrap();
    assert!(!report.ok);
    assert_eq!(report.violations.len(), 1);
    assert_eq!(
        report.violations[0].kind,
        crate::reasoning::ViolationKind::Absent
    );
    assert!(
        report.violations[0].message.contains("\"pay\""),
        "{}",
        report.violations[0].message
    );
    let typo = verify_workflow(
        &wf,
        &props(json!([{"type": "atMost", "action": "aprove", "count": 1}])),
        None,
    )
    .unwrap();
    assert!(
        typo.violations[0]
            .message
            .contains("did you mean \"approve\""),
        "{}",
        typo.violations[0].message
    );
}

#[test]
fn workflow_steps_are_checked_against_policies() {
    let engine = engine_with_schema();
    let mut wf = workflow(vec![
        json!({"id": "read", "agentId": "alice", "action": "read", "resource": "Document::\"doc-1\""}),
        json!({"id": "close", "agentId": "alice", "action": "close", "resource": "Document::\"doc-1\"", "dependsOn": ["read"]}),
        json!({"id": "delete", "agentId": "alice", "action": "delete", "resource": "Document::\"doc-1\"", "dependsOn": ["close"]}),
    ]);
    let report = verify_workflow(&wf, &[], Some(&engine)).unwrap();
    assert!(!report.ok);
    assert_eq!(report.step_checks.len(), 3);
    let delete = report
        .step_checks
        .iter()
        .find(|c| c.step_id == "delete")
        .unwrap();
    assert_eq!(delete.decision, DecisionKind::Deny);
    let ids: Vec<&str> = delete
        .determining_policies
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, vec!["forbid-delete-after-close"]);
    assert_eq!(delete.prior_steps, vec!["close", "read"]);
    let read = report
        .step_checks
        .iter()
        .find(|c| c.step_id == "read")
        .unwrap();
    assert_eq!(read.decision, DecisionKind::Allow);
    let v = report
        .violations
        .iter()
        .find(|v| v.property["step"] == "delete")
        .unwrap();
    assert_eq!(v.counterexample, vec!["read", "close", "delete"]);
    // Delete before close: allowed.
    wf.steps[2].depends_on = vec!["read".into()];
    wf.steps[1].depends_on = vec!["delete".into()];
    let report = verify_workflow(&wf, &[], Some(&engine)).unwrap();
    assert!(report.ok, "{:?}", report.violations);
    // An engine without policies skips step checks.
    let report = verify_workflow(&wf, &[], Some(&PolicyEngine::new())).unwrap();
    assert!(report.step_checks.is_empty());
    assert_eq!(report.warnings.len(), 1);
}

#[test]
fn twenty_step_workflow_with_branches() {
    let mut steps = vec![step("s0", "read", &[])];
    for i in 1..20 {
        let prev = format!("s{}", i - 1);
        if i % 5 == 0 {
            steps.push(branch_step(
                &format!("s{i}"),
                "check",
                &[&prev],
                &format!("g{i}"),
                "x",
            ));
            steps.push(branch_step(
                &format!("s{i}alt"),
                "check",
                &[&prev],
                &format!("g{i}"),
                "y",
            ));
        } else if i % 5 == 1 && i > 1 {
            let alt = format!("s{}alt", i - 1);
            steps.push(step(
                &format!("s{i}"),
                if i == 16 { "pay" } else { "write" },
                &[&prev, &alt],
            ));
        } else {
            steps.push(step(
                &format!("s{i}"),
                if i == 3 { "approve" } else { "write" },
                &[&prev],
            ));
        }
    }
    let wf = workflow(steps);
    let p = props(json!([
        {"type": "precedes", "before": "approve", "after": "pay"},
        {"type": "atMost", "action": "pay", "count": 1},
        {"type": "neverAfter", "first": "pay", "then": "approve"}
    ]));
    let report = verify_workflow(&wf, &p, None).unwrap();
    assert!(report.ok, "{:?}", report.violations);
    assert_eq!(report.paths_checked, 8);
}

#[test]
fn near_miss_descriptions_use_the_authors_text() {
    let src = r#"@id("p") permit(principal, action == Action::"go", resource)
when { principal.level >= 3 && // trusted only
       context.note == "é && b" }
unless { context.blocked || context.flag };"#;
    let engine = PolicyEngine::new();
    engine.load(src, None).unwrap();
    // (Without an entity for x, `principal.level` would error, and an erroring policy denies
    // outright: no near misses are looked for then.)
    engine
        .set_entities(
            r#"[{"uid": {"type": "Agent", "id": "x"}, "attrs": {"level": 1}, "parents": []}]"#,
        )
        .unwrap();
    let d = engine
        .authorize(&request(
            "x",
            "go",
            "r",
            json!({"note": "no", "blocked": false, "flag": false}),
        ))
        .unwrap();
    assert_eq!(d.decision, DecisionKind::Deny);
    let miss = &d.near_miss[0];
    assert_eq!(
        miss.satisfied,
        vec![
            r#"action == Action::"go""#,
            "unless { context.blocked || context.flag }"
        ]
    );
    // principal.level is 1; the string condition fails too.
    assert_eq!(miss.failed.len(), 2, "{miss:?}");
    assert_eq!(miss.failed[0], "when { principal.level >= 3 }", "{miss:?}");
    assert_eq!(miss.failed[1], r#"when { context.note == "é && b" }"#);
}

#[test]
fn engine_matches_plain_cedar_on_a_request_grid() {
    // The engine evaluates only the policies whose action constraint can match; this must give
    // exactly Cedar's decision, determining policies and errors over the full set.
    let engine = PolicyEngine::new();
    engine.load(POLICIES, None).unwrap();
    let mut entities = base_entities();
    entities.extend(action_entities());
    for e in entities.iter_mut() {
        if e["uid"]["id"] == "bob" {
            e["attrs"].as_object_mut().unwrap().remove("suspended");
        }
    }
    let entity_json = Value::Array(entities).to_string();
    engine.set_entities(&entity_json).unwrap();
    let set: cedar_policy::PolicySet = POLICIES.parse().unwrap();
    let cedar_entities = cedar_policy::Entities::from_json_str(&entity_json, None).unwrap();
    let authorizer = cedar_policy::Authorizer::new();
    let mut compared = 0;
    for agent in ["alice", "bob", "root", "mallory", "nobody"] {
        for action in [
            "pay", "refund", "read", "search", "write", "delete", "close", "payments", "unknown",
        ] {
            for resource in [
                r#"Account::"acct-1""#,
                r#"Account::"acct-frozen""#,
                r#"Document::"doc-1""#,
                r#"Document::"secret-1""#,
                r#"Ticket::"t-1""#,
            ] {
                for ctx in [
                    pay_ctx(10, "USD", &["cfo"]),
                    pay_ctx(5000, "USD", &[]),
                    base_ctx(&["close"]),
                    json!({}),
                ] {
                    let req = request(agent, action, resource, ctx.clone());
                    let ours = engine.authorize_uncached(&req).unwrap();
                    let cedar_req = cedar_policy::Request::new(
                        format!(r#"Agent::"{agent}""#).parse().unwrap(),
                        format!(r#"Action::"{action}""#).parse().unwrap(),
                        resource.parse().unwrap(),
                        cedar_policy::Context::from_json_value(ctx, None).unwrap(),
                        None,
                    )
                    .unwrap();
                    let response = authorizer.is_authorized(&cedar_req, &set, &cedar_entities);
                    let mut ids: Vec<String> = response
                        .diagnostics()
                        .reason()
                        .map(|id| {
                            let text: &str = id.as_ref();
                            set.policy(id)
                                .and_then(|p| p.annotation("id"))
                                .unwrap_or(text)
                                .to_string()
                        })
                        .collect();
                    ids.sort();
                    let got: Vec<String> = ours
                        .determining_policies
                        .iter()
                        .map(|p| p.id.clone())
                        .collect();
                    let what = format!("{agent} {action} {resource}");
                    // Fail closed, the one deliberate difference: a policy that errors
                    // denies, and the erroring policies are the determining ones.
                    let mut erroring: Vec<String> = response
                        .diagnostics()
                        .errors()
                        .map(|e| match e {
                            cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                                let id = e.policy_id();
                                let text: &str = id.as_ref();
                                set.policy(id)
                                    .and_then(|p| p.annotation("id"))
                                    .unwrap_or(text)
                                    .to_string()
                            }
                        })
                        .collect();
                    erroring.sort();
                    erroring.dedup();
                    let (expected, ids) = if erroring.is_empty() {
                        (DecisionKind::from(response.decision()), ids)
                    } else {
                        (DecisionKind::Deny, erroring)
                    };
                    assert_eq!(expected, ours.decision, "{what}");
                    assert_eq!(ids, got, "{what}");
                    assert_eq!(
                        response.diagnostics().errors().count(),
                        ours.errors.len(),
                        "{what}"
                    );
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 900);
}

#[test]
fn source_positions_and_entity_refs() {
    use super::policy::diagnostics::{line_col, policy_at};
    let src = "// a; comment\npermit(principal, action, resource);\n@id(\"x;y\") forbid(principal, action, resource) when { \"é;\" == \"\" };\nbad";
    let pos = src.find("bad").unwrap();
    assert_eq!(line_col(src, pos).line, 4);
    assert_eq!(line_col(src, pos).column, 1);
    let e_pos = src.find("==").unwrap();
    let at = line_col(src, e_pos);
    assert_eq!(at.line, 3);
    // Columns count characters, not bytes (é is two bytes).
    assert_eq!(at.column, src.lines().nth(2).unwrap().find("==").unwrap());
    assert_eq!(policy_at(src, e_pos), "policy \"x;y\"");
    assert_eq!(policy_at(src, pos), "policy \"policy2\"");
    assert_eq!(
        policy_at(src, src.find("permit").unwrap()),
        "policy \"policy0\""
    );

    let r = EntityRef::parse(r#"App::Doc::"a \"q\"""#, "Resource").unwrap();
    assert_eq!(
        (r.entity_type.as_str(), r.id.as_str()),
        ("App::Doc", "a \"q\"")
    );
    assert_eq!(
        EntityRef::parse("plain", "Resource").unwrap(),
        EntityRef::new("Resource", "plain")
    );
    assert_eq!(
        EntityRef::parse(r#"Doc::"open"#, "Resource")
            .unwrap_err()
            .code,
        ErrorCode::InvalidInput
    );
}

#[test]
fn history_and_runs_attributes_decide_alike_cached_and_uncached() {
    // The session ledger's attributes (priorSteps, deniedSteps, failedSteps, runs, stepIndex)
    // reach policies through the decision cache: over seeded random ledgers, often repeated,
    // every cached answer equals an uncached decision, including fail-closed errors (a `runs`
    // entry that is missing, a sum that is not a Long) and decisions that flip as counts grow.
    use rand::{Rng, SeedableRng};
    let engine = PolicyEngine::new();
    engine
        .load(
            r#"@id("pay-after-approve") permit(principal, action == Action::"pay", resource)
                 when { context.priorSteps.contains("approve") };
               @id("rate-limit") forbid(principal, action == Action::"pay", resource)
                 when { context.runs.pay.countLastHour >= 3 };
               @id("daily-cap") forbid(principal, action == Action::"pay", resource)
                 when { context.runs.pay.sumLastDay.amount + context.params.amount > 500 };
               @id("no-retry-after-denial") forbid(principal, action == Action::"approve", resource)
                 when { context.deniedSteps.contains("approve") && context.failedSteps.contains("pay") };
               @id("approve") permit(principal, action == Action::"approve", resource)
                 when { context.stepIndex < 40 };"#,
            None,
        )
        .unwrap();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(13);
    let names = ["approve", "pay", "note"];
    let mut seen = 0u64;
    for _ in 0..3000 {
        let pick = |rng: &mut rand::rngs::SmallRng| -> Vec<&str> {
            names
                .iter()
                .copied()
                .filter(|_| rng.gen_bool(0.4))
                .collect()
        };
        let count = rng.gen_range(0..5);
        let mut runs = json!({
            "approve": {"count": rng.gen_range(0..3), "countLastHour": 0, "sumLastDay": {"amount": 0}},
        });
        if rng.gen_bool(0.9) {
            let sum = match rng.gen_range(0..10) {
                0 => json!("300"),
                _ => json!(rng.gen_range(0..6) * 100),
            };
            runs["pay"] =
                json!({"count": count, "countLastHour": count, "sumLastDay": {"amount": sum}});
        }
        let amount = match rng.gen_range(0..8) {
            0 => json!("50"),
            1 => json!({"__extn": {"fn": "decimal", "arg": "10.5"}}),
            _ => json!(rng.gen_range(0..4) * 100),
        };
        let context = json!({
            "params": {"amount": amount},
            "priorSteps": pick(&mut rng),
            "deniedSteps": pick(&mut rng),
            "failedSteps": pick(&mut rng),
            "runs": runs,
            "stepIndex": rng.gen_range(30..50),
        });
        let action = if rng.gen_bool(0.7) { "pay" } else { "approve" };
        let req = request("agent", action, "session", context);
        let cached = engine.authorize(&req).unwrap();
        let fresh = engine.authorize_uncached(&req).unwrap();
        assert_same_answer(&cached, &fresh, &format!("{action} {}", req.context));
        seen += 1;
    }
    // Contexts holding a decimal are decided without the cache (not plain Cedar values).
    let stats = engine.cache_stats();
    assert!(stats.hits + stats.misses <= seen);
    assert!(stats.hits > 500, "{stats:?}");
}

/// `{"__expr": "..."}` is one of Cedar's JSON escapes (rejected by Cedar 4): a context holding
/// one must get Cedar's answer (a coded error), not be read as a record with an `__expr` key by
/// the engine's fast paths — with the cache, without it, compiled or interpreted.
#[test]
fn an_expr_escape_in_the_context_is_what_cedar_says() {
    let src = r#"permit(principal, action, resource) when { context.params has note };"#;
    let ctx = json!({"params": {"note": {"__expr": "1 + 1"}}});
    let cedar_answer = cedar_policy::Context::from_json_value(ctx.clone(), None);
    assert!(cedar_answer.is_err(), "Cedar rejects the escape");
    for compiled in [true, false] {
        for capacity in [0, 100] {
            let engine = PolicyEngine::with_options(RequestMapping::default(), capacity);
            engine.set_compiled(compiled);
            engine.load(src, None).expect("policy");
            let req = AuthzRequest {
                principal: EntityRef::new("Agent", "a"),
                action: "note".into(),
                resource: EntityRef::new("Resource", "r"),
                context: ctx.clone(),
            };
            let got = engine.authorize(&req);
            let e = got.expect_err("an invalid context is a coded error, never a decision");
            assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
            assert!(engine.is_authorized(&req).is_err());
            // A record that merely has an `__expr` key among others is a record.
            let plain = AuthzRequest {
                context: json!({"params": {"note": {"__expr": "1", "more": 2}}}),
                ..req
            };
            assert!(engine.authorize(&plain).expect("decision").is_allowed());
        }
    }
}

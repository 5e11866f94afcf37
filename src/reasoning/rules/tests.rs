//! Tests of the rule engine, the parser, stratification and the independent checker.

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::error::ErrorCode;

const POLICY: &str = r#"
% Layer 1: raw facts.
member(alice, finance).
member(bob, finance).
member(carol, sales).
approved(tx1). approved(tx2). approved(tx4).
flagged(tx2).
flagged(tx4). cleared(tx4).
blocked_user(bob).

// Layer 2: suspicion needs an uncleared flag.
@id(suspicious) suspicious(X) :- flagged(X), not cleared(X).
@id(freeze) frozen(X) :- suspicious(X).
// Layer 3: transfer rights.
@id(transfer) can_transfer(A, X) :- member(A, finance), approved(X), not frozen(X).
// Layer 4: execution needs an unblocked user.
@id(execute) may_execute(A, X) :- can_transfer(A, X), not blocked_user(A).
"#;

fn policy_engine() -> RuleEngine {
    let engine = RuleEngine::new();
    let ids = engine.add_rules(POLICY).expect("policy parses");
    assert_eq!(ids, vec!["suspicious", "freeze", "transfer", "execute"]);
    engine
}

fn proved(outcome: ProveOutcome) -> Proof {
    match outcome {
        ProveOutcome::Proved(p) => p,
        ProveOutcome::Failed { reason, .. } => panic!("expected a proof, got failure: {reason}"),
    }
}

fn failed(outcome: ProveOutcome) -> (String, Vec<String>) {
    match outcome {
        ProveOutcome::Failed {
            reason,
            failed_subgoals,
            ..
        } => (reason, failed_subgoals),
        ProveOutcome::Proved(p) => panic!("expected a failure, got proof of {}", p.conclusion),
    }
}

fn opts() -> ProveOptions {
    ProveOptions::default()
}

#[test]
fn engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RuleEngine>();
}

#[test]
fn parses_rules_facts_comments_ids_and_constants() {
    let text = "% comment\n@id(r_a) p(X, \"hello world\") :- q(X, _), not r(X, 42). // trailing\n\
                q(a, -1.5). q(\"Big\", 7).\nr(a, 42).\n s(Y) :- q(Y, _).";
    let program = parse_program(text).expect("parses");
    assert_eq!(program.rules.len(), 2);
    assert_eq!(program.facts.len(), 3);
    let rule = &program.rules[0];
    assert_eq!(rule.id, "r_a");
    assert_eq!(rule.head.args[1], Term::constant("hello world"));
    assert!(rule.body[1].negated);
    assert_eq!(rule.body[1].atom.args[1], Term::constant("42"));
    assert_eq!(program.facts[0].args[1], Term::constant("-1.5"));
    assert_eq!(program.facts[1].args[0], Term::constant("Big"));
    assert_eq!(
        program.rules[1].id, "",
        "rules without @id get ids when added"
    );
    // Display parses back to the same rule.
    let again = parse_program(&rule.to_string()).expect("display reparses");
    assert_eq!(again.rules[0].head, rule.head);
    assert_eq!(again.rules[0].body.len(), 2);
    assert_eq!(program.facts[1].to_string(), "q(\"Big\", 7)");
}

#[test]
fn auto_ids_count_on_and_skip_taken_ones() {
    let engine = RuleEngine::new();
    let ids = engine
        .add_rules("p(X) :- q(X). @id(r2) s(X) :- p(X). t(X) :- s(X).")
        .unwrap();
    assert_eq!(ids, vec!["r1", "r2", "r3"]);
    let more = engine.add_rules("u(X) :- t(X).").unwrap();
    assert_eq!(more, vec!["r4"]);
    let dup = engine.add_rules("@id(r1) v(X) :- t(X).").unwrap_err();
    assert_eq!(dup.code, ErrorCode::RuleParse);
    assert!(
        dup.message.contains("duplicate rule id `r1`"),
        "{}",
        dup.message
    );
    let reserved = engine.add_rules("@id(fact) v(X) :- t(X).").unwrap_err();
    assert!(
        reserved.message.contains("reserved"),
        "{}",
        reserved.message
    );
    assert_eq!(engine.rules().len(), 4);
}

#[test]
fn parse_errors_report_line_column_and_expectation() {
    let engine = RuleEngine::new();
    let e = engine.add_rules("p(a).\nq(X) :- p(X)\nr(b).").unwrap_err();
    assert_eq!(e.code, ErrorCode::RuleParse);
    assert!(e.message.contains("line 3, column 1"), "{}", e.message);
    assert!(e.message.contains("expected `,` or `.`"), "{}", e.message);

    let e = engine.add_rules("p(a, ).").unwrap_err();
    assert!(e.message.contains("line 1, column 6"), "{}", e.message);
    assert!(e.message.contains("expected a term"), "{}", e.message);

    let e = engine.add_rules("p(a) :- \"q\".").unwrap_err();
    assert!(e.message.contains("line 1, column 9"), "{}", e.message);
    assert!(e.message.contains("predicate name"), "{}", e.message);

    let e = engine
        .add_rules("ok(a).\n  bad(\"unterminated).")
        .unwrap_err();
    assert!(e.message.contains("line 2, column 7"), "{}", e.message);

    let e = engine.add_rules("p(a) # q.").unwrap_err();
    assert!(
        e.message.contains("unexpected character `#`"),
        "{}",
        e.message
    );

    assert_eq!(
        engine.add_rules("  ").unwrap_err().code,
        ErrorCode::RuleParse
    );
    assert_eq!(
        engine.add_rules("% only\n").unwrap_err().code,
        ErrorCode::RuleParse
    );
    assert_eq!(
        engine.assert_fact("").unwrap_err().code,
        ErrorCode::RuleParse
    );
    assert_eq!(
        engine.assert_fact("p(X)").unwrap_err().code,
        ErrorCode::RuleParse
    );
    assert_eq!(
        engine.assert_fact("p(a) q(b)").unwrap_err().code,
        ErrorCode::RuleParse
    );
    assert_eq!(engine.facts_count(), 0);
    assert!(engine.rules().is_empty());
}

#[test]
fn range_restriction_is_enforced_naming_the_variable() {
    let engine = RuleEngine::new();
    let e = engine.add_rules("p(X, Y) :- q(X).").unwrap_err();
    assert_eq!(e.code, ErrorCode::RuleParse);
    assert!(e.message.contains("head variable Y"), "{}", e.message);
    assert!(e.message.contains("line 1, column 1"), "{}", e.message);

    let e = engine
        .add_rules("ok(a).\np(X) :- q(X), not r(X, Z).")
        .unwrap_err();
    assert!(e.message.contains("variable Z"), "{}", e.message);
    assert!(e.message.contains("line 2"), "{}", e.message);

    let e = engine.add_rules("p(_).").unwrap_err();
    assert!(e.message.contains("not range-restricted"), "{}", e.message);

    let json = r#"{"head": {"pred": "p", "args": ["X"]}, "body": [{"pred": "q", "args": ["Y"]}]}"#;
    let e = engine.add_rule_json(json).unwrap_err();
    assert!(e.message.contains("head variable X"), "{}", e.message);
    assert!(engine.rules().is_empty());
}

#[test]
fn recursion_through_negation_is_rejected_naming_the_cycle() {
    let engine = RuleEngine::new();
    engine.add_rules("base(a).").unwrap();
    let e = engine
        .add_rules("p(X) :- base(X), not q(X).\nq(X) :- r(X).\nr(X) :- p(X).")
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::RuleParse);
    assert!(e.message.contains("not stratifiable"), "{}", e.message);
    for pred in ["p", "q", "r"] {
        assert!(
            e.message.contains(&format!("`{pred}`")) || e.message.contains(&format!(" {pred} ")),
            "{pred}: {}",
            e.message
        );
    }
    assert!(e.message.contains("-not->"), "{}", e.message);
    assert!(
        engine.rules().is_empty(),
        "a rejected set leaves the engine unchanged"
    );

    // Adding rules one at a time: the closing rule is the one rejected.
    engine.add_rules("p(X) :- base(X), not q(X).").unwrap();
    let e = engine.add_rules("q(X) :- p(X).").unwrap_err();
    assert!(e.message.contains("not stratifiable"), "{}", e.message);
    assert_eq!(engine.rules().len(), 1);
    // Self-negation.
    let e = engine.add_rules("s(X) :- base(X), not s(X).").unwrap_err();
    assert!(e.message.contains("`s`"), "{}", e.message);
}

#[test]
fn multi_layer_rules_with_negation_prove_with_full_trees() {
    let engine = policy_engine();
    let proof = proved(engine.prove("may_execute(alice, tx1)", &opts()).unwrap());
    assert_eq!(proof.conclusion, "may_execute(alice, tx1)");
    assert_eq!(proof.rule, "execute");
    assert_eq!(proof.absent, vec!["blocked_user(alice)"]);
    assert_eq!(proof.bindings.get("A").map(String::as_str), Some("alice"));
    let transfer = &proof.premises[0];
    assert_eq!(transfer.rule, "transfer");
    assert_eq!(transfer.absent, vec!["frozen(tx1)"]);
    assert_eq!(transfer.premises.len(), 2);
    assert_eq!(transfer.premises[0].conclusion, "member(alice, finance)");
    assert_eq!(transfer.premises[0].rule, "fact");
    assert_eq!(transfer.premises[1].conclusion, "approved(tx1)");
    assert_eq!(proof.depth(), 2);

    // tx4 is flagged but cleared: not suspicious, so not frozen, so transferable.
    let p4 = proved(engine.prove("can_transfer(alice, tx4)", &opts()).unwrap());
    assert_eq!(p4.absent, vec!["frozen(tx4)"]);
    // A derived predicate of layer 2 proves through two rules.
    let frozen = proved(engine.prove("frozen(tx2).", &opts()).unwrap());
    assert_eq!(frozen.premises[0].rule, "suspicious");
    assert_eq!(frozen.premises[0].absent, vec!["cleared(tx2)"]);
    assert_eq!(frozen.depth(), 2);

    // tx2 is frozen: the negation fails, and the explanation says so.
    let (reason, subgoals) = failed(engine.prove("can_transfer(alice, tx2)", &opts()).unwrap());
    assert_eq!(subgoals, vec!["not frozen(tx2)"]);
    assert!(reason.contains("`frozen(tx2)` holds"), "{reason}");
    // bob is blocked at layer 4.
    let (reason, subgoals) = failed(engine.prove("may_execute(bob, tx1)", &opts()).unwrap());
    assert_eq!(subgoals, vec!["not blocked_user(bob)"]);
    assert!(reason.contains("rule execute"), "{reason}");
    // Checked independently too.
    check_proof(&proof, &engine.rules(), &engine.facts()).unwrap();
}

#[test]
fn failure_names_the_deepest_missing_subgoal() {
    let engine = policy_engine();
    let (reason, subgoals) = failed(engine.prove("may_execute(alice, tx3)", &opts()).unwrap());
    assert_eq!(subgoals, vec!["can_transfer(alice, tx3)", "approved(tx3)"]);
    assert!(reason.contains("needs `approved(tx3)`"), "{reason}");
    assert!(
        reason.contains("no fact matches `approved(tx3)`"),
        "{reason}"
    );
    assert!(
        reason.contains("member(alice, finance)"),
        "established premises are listed: {reason}"
    );

    // carol is not in finance: the first literal fails.
    let (_, subgoals) = failed(engine.prove("can_transfer(carol, tx1)", &opts()).unwrap());
    assert_eq!(subgoals, vec!["member(carol, finance)"]);

    // Unknown predicate.
    let (reason, subgoals) = failed(engine.prove("teleport(alice)", &opts()).unwrap());
    assert!(subgoals.is_empty());
    assert!(reason.contains("no rule concludes teleport/1"), "{reason}");
}

#[test]
fn transitive_closure_on_a_cycle_terminates() {
    let engine = RuleEngine::new();
    engine
        .add_rules(
            "edge(a, b). edge(b, c). edge(c, a). edge(d, a).\n\
             path(X, Y) :- edge(X, Y).\n\
             path(X, Z) :- edge(X, Y), path(Y, Z).",
        )
        .unwrap();
    let p = proved(engine.prove("path(a, a)", &opts()).unwrap());
    assert_eq!(p.depth(), 3);
    assert!(proved(engine.prove("path(d, c)", &opts()).unwrap()).depth() >= 3);
    let (_, _) = failed(engine.prove("path(a, d)", &opts()).unwrap());
    let all = engine.prove_all("path(a, X)", &opts(), 10).unwrap();
    let mut ends: Vec<String> = all.iter().map(|p| p.conclusion.clone()).collect();
    ends.sort();
    assert_eq!(ends, vec!["path(a, a)", "path(a, b)", "path(a, c)"]);
    assert_eq!(engine.prove_all("path(a, X)", &opts(), 2).unwrap().len(), 2);
    assert_eq!(
        engine.prove_all("path(a, X)", &opts(), 0).unwrap_err().code,
        ErrorCode::InvalidInput
    );

    // A 60-node ring: every pair is connected, proofs are deep but finite.
    let ring = RuleEngine::new();
    ring.add_rules("path(X, Y) :- edge(X, Y). path(X, Z) :- path(X, Y), edge(Y, Z).")
        .unwrap();
    let n = 60;
    ring.assert_facts(
        (0..n).map(|i| Atom::fact("edge", &[&format!("n{i}"), &format!("n{}", (i + 1) % n)])),
    )
    .unwrap();
    let deep = proved(
        ring.prove(
            "path(n0, n59)",
            &ProveOptions {
                max_depth: 100,
                ..opts()
            },
        )
        .unwrap(),
    );
    assert_eq!(deep.depth(), 59);
    assert_eq!(
        ring.prove_all("path(n3, X)", &opts(), 1000).unwrap().len(),
        60
    );
}

#[test]
fn goals_with_variables_bind_the_first_solution() {
    let engine = policy_engine();
    let proof = proved(engine.prove("can_transfer(alice, X)", &opts()).unwrap());
    assert!(
        ["can_transfer(alice, tx1)", "can_transfer(alice, tx4)"]
            .contains(&proof.conclusion.as_str()),
        "{}",
        proof.conclusion
    );
    let all = engine.prove_all("may_execute(A, X)", &opts(), 100).unwrap();
    let mut got: Vec<String> = all.iter().map(|p| p.conclusion.clone()).collect();
    got.sort();
    assert_eq!(
        got,
        vec!["may_execute(alice, tx1)", "may_execute(alice, tx4)"]
    );
    // Repeated variables must agree.
    let same = RuleEngine::new();
    same.add_rules("pair(a, a). pair(a, b).").unwrap();
    let all = same.prove_all("pair(X, X)", &opts(), 10).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].conclusion, "pair(a, a)");
    let (_, _) = failed(same.prove("pair(b, X)", &opts()).unwrap());
}

#[test]
fn cache_is_invalidated_by_assert_retract_and_rules() {
    let engine = policy_engine();
    assert_eq!(engine.facts_count(), 10);
    // 10 stored + suspicious(tx2), frozen(tx2), can_transfer x4 (alice/bob x tx1/tx4),
    // may_execute(alice, tx1/tx4).
    assert_eq!(engine.model_size().unwrap(), 18);
    failed(engine.prove("may_execute(alice, tx3)", &opts()).unwrap());
    engine.assert_fact("approved(tx3).").unwrap();
    assert_eq!(engine.facts_count(), 11);
    proved(engine.prove("may_execute(alice, tx3)", &opts()).unwrap());
    assert!(engine.retract_fact("approved(tx3)").unwrap());
    assert!(!engine.retract_fact("approved(tx3)").unwrap());
    failed(engine.prove("may_execute(alice, tx3)", &opts()).unwrap());
    // Freezing tx1 through a new fact flips a negation.
    engine.assert_fact("flagged(tx1)").unwrap();
    failed(engine.prove("may_execute(alice, tx1)", &opts()).unwrap());
    // A new rule is seen immediately.
    engine
        .add_rules("cleared(X) :- flagged(X), approved(X).")
        .unwrap();
    proved(engine.prove("may_execute(alice, tx1)", &opts()).unwrap());
    engine.remove_rule("r5").unwrap();
    failed(engine.prove("may_execute(alice, tx1)", &opts()).unwrap());
    assert_eq!(
        engine.remove_rule("nope").unwrap_err().code,
        ErrorCode::NotFound
    );
    // Bulk facts count only new ones.
    assert_eq!(
        engine
            .assert_facts(vec![
                Atom::fact("approved", &["tx9"]),
                Atom::fact("approved", &["tx1"])
            ])
            .unwrap(),
        1
    );
    let bad = engine
        .assert_facts(vec![Atom::new("p", vec![Term::var("X")])])
        .unwrap_err();
    assert_eq!(bad.code, ErrorCode::RuleParse);
}

#[test]
fn premises_and_extra_rules_apply_to_one_call_only() {
    let engine = policy_engine();
    let with = ProveOptions {
        premises: vec!["approved(tx3)".into()],
        ..opts()
    };
    let proof = proved(engine.prove("may_execute(alice, tx3)", &with).unwrap());
    assert_eq!(proof.premises[0].premises[1].rule, "premise");
    failed(engine.prove("may_execute(alice, tx3)", &opts()).unwrap());

    let extra = ProveOptions {
        rules: vec!["@id(vip) can_transfer(A, X) :- member(A, sales), approved(X).".into()],
        ..opts()
    };
    let proof = proved(engine.prove("can_transfer(carol, tx2)", &extra).unwrap());
    assert_eq!(proof.rule, "vip");
    assert_eq!(engine.rules().len(), 4);

    let bad = ProveOptions {
        premises: vec!["approved(X)".into()],
        ..opts()
    };
    assert_eq!(
        engine.prove("p(a)", &bad).unwrap_err().code,
        ErrorCode::RuleParse
    );
    let cyclic = ProveOptions {
        rules: vec!["frozen(X) :- approved(X), not can_transfer(a, X).".into()],
        ..opts()
    };
    assert_eq!(
        engine.prove("p(a)", &cyclic).unwrap_err().code,
        ErrorCode::RuleParse
    );
}

#[test]
fn max_depth_limits_proofs() {
    let engine = RuleEngine::new();
    engine
        .add_rules("s0(a). s1(X) :- s0(X). s2(X) :- s1(X). s3(X) :- s2(X). s4(X) :- s3(X). s5(X) :- s4(X).")
        .unwrap();
    let tight = ProveOptions {
        max_depth: 3,
        ..opts()
    };
    let (reason, _) = failed(engine.prove("s5(a)", &tight).unwrap());
    assert!(reason.contains("depth 5, over maxDepth 3"), "{reason}");
    assert_eq!(proved(engine.prove("s5(a)", &opts()).unwrap()).depth(), 5);
    let huge = ProveOptions {
        max_depth: MAX_PROOF_DEPTH + 1,
        ..opts()
    };
    assert_eq!(
        engine.prove("s5(a)", &huge).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        engine.prove("S5(a)", &opts()).unwrap_err().code,
        ErrorCode::RuleParse
    );
}

#[test]
fn theorems_are_stored_and_deduplicated() {
    let engine = policy_engine();
    proved(engine.prove("may_execute(alice, tx1)", &opts()).unwrap());
    proved(engine.prove("may_execute(alice, tx1)", &opts()).unwrap());
    assert_eq!(engine.theorem_count(), 1);
    engine.assert_fact("unrelated(z)").unwrap();
    proved(engine.prove("may_execute(alice, tx1)", &opts()).unwrap());
    assert_eq!(
        engine.theorem_count(),
        1,
        "same statement and proof, same id"
    );
    proved(engine.prove("can_transfer(alice, tx4)", &opts()).unwrap());
    let theorems = engine.theorems();
    assert_eq!(theorems.len(), 2);
    let t = &theorems[0];
    assert_eq!(t.statement, "may_execute(alice, tx1)");
    assert_eq!(t.id.len(), 16);
    assert!(t.id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(t.tags, vec!["execute", "transfer"]);
    assert_eq!(engine.theorem(&t.id).unwrap(), *t);
    assert_eq!(
        engine.theorem("0000").unwrap_err().code,
        ErrorCode::NotFound
    );
    let json = serde_json::to_value(t).unwrap();
    assert!(json["proof"]["premises"].is_array());
}

#[test]
fn json_rules_facts_and_serialized_shapes() {
    let engine = RuleEngine::new();
    let id = engine
        .add_rule_json(
            r#"{"id": "j1", "head": {"pred": "ok", "args": ["X"]},
                "body": [{"pred": "item", "args": ["X", 3]},
                         {"pred": "bad", "args": ["X"], "negated": true}]}"#,
        )
        .unwrap();
    assert_eq!(id, "j1");
    engine
        .assert_fact_json(r#"{"pred": "item", "args": ["Widget A", 3]}"#)
        .unwrap();
    engine
        .assert_fact_json(r#"{"pred": "item", "args": ["b", 3]}"#)
        .unwrap();
    engine
        .assert_fact_json(r#"{"pred": "bad", "args": ["b"]}"#)
        .unwrap();
    let proof = proved(engine.prove("ok(\"Widget A\")", &opts()).unwrap());
    assert_eq!(
        proof.bindings.get("X").map(String::as_str),
        Some("\"Widget A\"")
    );
    failed(engine.prove("ok(b)", &opts()).unwrap());
    assert_eq!(
        engine.add_rule_json("{").unwrap_err().code,
        ErrorCode::RuleParse
    );
    assert_eq!(
        engine
            .add_rule_json(r#"{"head": {"pred": "Bad", "args": []}}"#)
            .unwrap_err()
            .code,
        ErrorCode::RuleParse
    );
    assert_eq!(
        engine
            .assert_fact_json(r#"{"pred": "p", "args": [null]}"#)
            .unwrap_err()
            .code,
        ErrorCode::RuleParse
    );

    let ids = engine
        .add_rules_json(
            r#"[{"head": {"pred": "good", "args": ["X"]}, "body": [{"pred": "ok", "args": ["X"]}]},
                {"id": "j3", "head": {"pred": "best", "args": ["X"]}, "body": [{"pred": "good", "args": ["X"]}]}]"#,
        )
        .unwrap();
    assert_eq!(ids, vec!["r2", "j3"]);
    proved(engine.prove("best(\"Widget A\")", &opts()).unwrap());
    let e = engine
        .add_rules_json(r#"[{"head": {"pred": "x", "args": ["Y"]}}]"#)
        .unwrap_err();
    assert!(e.message.contains("rule 0"), "{}", e.message);
    assert_eq!(
        engine.add_rules_json("[]").unwrap_err().code,
        ErrorCode::RuleParse
    );
    assert_eq!(engine.rules().len(), 3);

    let rule_json = serde_json::to_value(&engine.rules()[0]).unwrap();
    assert_eq!(rule_json["id"], "j1");
    assert_eq!(rule_json["body"][1]["negated"], true);
    let back = parse_rule_json(&rule_json.to_string()).unwrap();
    assert_eq!(back, engine.rules()[0]);

    let outcome = engine.prove("ok(X)", &opts()).unwrap();
    let v = serde_json::to_value(&outcome).unwrap();
    assert_eq!(v["status"], "proved");
    assert_eq!(v["rule"], "j1");
    assert_eq!(v["absent"][0], "bad(\"Widget A\")");
    let f = serde_json::to_value(engine.prove("ok(zzz)", &opts()).unwrap()).unwrap();
    assert_eq!(f["status"], "failed");
    assert!(f["failedSubgoals"].is_array());
}

#[test]
fn proof_json_round_trips_through_check_proof_json() {
    let engine = RuleEngine::new();
    let rules = "member(alice, finance). approved(tx1).\n\
                 can_transfer(A, X) :- member(A, finance), approved(X), not frozen(X).";
    engine.add_rules(rules).unwrap();
    let proof = proved(engine.prove("can_transfer(alice, tx1)", &opts()).unwrap());
    assert_eq!(proof.rule, "r1");
    let json = serde_json::to_string(&proof).unwrap();
    check_proof_json(&json, rules, "").unwrap();
    check_proof_json(
        &json,
        "can_transfer(A, X) :- member(A, finance), approved(X), not frozen(X).",
        "member(alice, finance). approved(tx1).",
    )
    .unwrap();
    let e = check_proof_json(&json, rules, "frozen(tx1).").unwrap_err();
    assert_eq!(e.code, ErrorCode::ProofInvalid);
    assert_eq!(
        check_proof_json("{]", rules, "").unwrap_err().code,
        ErrorCode::ProofInvalid
    );
    assert_eq!(
        check_proof_json(&json, rules, "p(X) :- q(X).")
            .unwrap_err()
            .code,
        ErrorCode::RuleParse
    );
}

/// The proof of `may_execute(alice, tx1)` with its rules and facts, for tampering.
fn tamper_fixture() -> (Proof, Vec<Rule>, Vec<Atom>) {
    let engine = policy_engine();
    let proof = proved(engine.prove("may_execute(alice, tx1)", &opts()).unwrap());
    check_proof(&proof, &engine.rules(), &engine.facts()).expect("untampered proof checks");
    (proof, engine.rules(), engine.facts())
}

fn assert_rejected(proof: &Proof, rules: &[Rule], facts: &[Atom], needle: &str) {
    let e = check_proof(proof, rules, facts).expect_err("tampered proof must be rejected");
    assert_eq!(e.code, ErrorCode::ProofInvalid, "{}", e.message);
    assert!(
        e.message.contains("proof node"),
        "names the node: {}",
        e.message
    );
    assert!(
        e.message.contains(needle),
        "expected `{needle}` in: {}",
        e.message
    );
}

#[test]
fn checker_rejects_tampered_proofs() {
    let (proof, rules, facts) = tamper_fixture();

    // 1. Changed binding.
    let mut p = proof.clone();
    p.bindings.insert("X".into(), "tx2".into());
    assert_rejected(&p, &rules, &facts, "concludes `may_execute(alice, tx2)`");

    // 2. Swapped conclusion (root claims a different statement).
    let mut p = proof.clone();
    p.conclusion = "may_execute(bob, tx1)".into();
    assert_rejected(&p, &rules, &facts, "root");

    // 3. Removed premise.
    let mut p = proof.clone();
    p.premises[0].premises.pop();
    assert_rejected(&p, &rules, &facts, "root.premises[0]");

    // 4. Fake fact leaf.
    let mut p = proof.clone();
    p.premises[0].premises[1].conclusion = "approved(tx3)".into();
    p.premises[0].bindings.insert("X".into(), "tx3".into());
    p.premises[0].conclusion = "can_transfer(alice, tx3)".into();
    p.premises[0].absent = vec!["frozen(tx3)".into()];
    p.bindings.insert("X".into(), "tx3".into());
    p.conclusion = "may_execute(alice, tx3)".into();
    assert_rejected(&p, &rules, &facts, "not among the given facts");

    // 5. Absent literal that is derivable: a proof for tx2, which is frozen.
    let mut p = proof.clone();
    p.conclusion = "may_execute(alice, tx2)".into();
    p.bindings.insert("X".into(), "tx2".into());
    let t = &mut p.premises[0];
    t.conclusion = "can_transfer(alice, tx2)".into();
    t.bindings.insert("X".into(), "tx2".into());
    t.premises[1].conclusion = "approved(tx2)".into();
    t.absent = vec!["frozen(tx2)".into()];
    assert_rejected(
        &p,
        &rules,
        &facts,
        "`frozen(tx2)` is claimed absent but it is derivable",
    );

    // 6. Absent literal that does not match the rule's negation.
    let mut p = proof.clone();
    p.absent = vec!["blocked_user(zed)".into()];
    assert_rejected(&p, &rules, &facts, "absent literal 0");

    // 7. Unbound variable and extra binding.
    let mut p = proof.clone();
    p.bindings.remove("A");
    assert_rejected(&p, &rules, &facts, "variable A");
    let mut p = proof.clone();
    p.bindings.insert("Q".into(), "x".into());
    assert_rejected(&p, &rules, &facts, "binding for Q");

    // 8. Unknown rule id, and a rule node relabelled as a fact.
    let mut p = proof.clone();
    p.rule = "made_up".into();
    assert_rejected(&p, &rules, &facts, "unknown rule id");
    let mut p = proof.clone();
    p.premises[0].rule = "fact".into();
    assert_rejected(&p, &rules, &facts, "root.premises[0]");

    // 9. Reordered premises.
    let mut p = proof.clone();
    p.premises[0].premises.swap(0, 1);
    assert_rejected(&p, &rules, &facts, "premise 0 concludes `approved(tx1)`");

    // 10. Garbage conclusion and a variable as a binding value.
    let mut p = proof.clone();
    p.premises[0].premises[0].conclusion = "member(alice".into();
    assert_rejected(
        &p,
        &rules,
        &facts,
        "premise 0 conclusion: `member(alice` does not parse",
    );
    let mut p = proof.clone();
    p.bindings.insert("A".into(), "Alice".into());
    assert_rejected(&p, &rules, &facts, "not a constant");

    // The untampered proof still checks, and a non-stratifiable rule set cannot vouch for absence.
    check_proof(&proof, &rules, &facts).unwrap();
    let mut looping = rules.clone();
    looping.push(
        parse_program("@id(loop) blocked_user(A) :- member(A, finance), not may_execute(A, tx1).")
            .unwrap()
            .rules
            .remove(0),
    );
    assert_rejected(&proof, &looping, &facts, "not stratifiable");
}

/// Random small graphs with a recursive and a negated layer: every returned proof checks,
/// and the engine proves exactly what the checker's naive model says holds.
#[test]
fn random_fact_sets_every_proof_checks_and_matches_naive_model() {
    let rules = "reach(X, Y) :- edge(X, Y).\n\
                 reach(X, Z) :- reach(X, Y), edge(Y, Z).\n\
                 blocked(X, Y) :- reach(X, Y), marked(Y).\n\
                 safe(X, Y) :- reach(X, Y), not blocked(X, Y), not marked(X).\n\
                 island(X) :- node(X), not reach(X, X).";
    let mut rng = SmallRng::seed_from_u64(7);
    for round in 0..25 {
        let engine = RuleEngine::new();
        engine.add_rules(rules).unwrap();
        let n = rng.gen_range(2..7);
        let mut facts = Vec::new();
        for i in 0..n {
            facts.push(Atom::fact("node", &[&format!("v{i}")]));
            if rng.gen_bool(0.2) {
                facts.push(Atom::fact("marked", &[&format!("v{i}")]));
            }
            for j in 0..n {
                if rng.gen_bool(0.3) {
                    facts.push(Atom::fact("edge", &[&format!("v{i}"), &format!("v{j}")]));
                }
            }
        }
        engine.assert_facts(facts).unwrap();
        let checker = ProofChecker::new(&engine.rules(), &engine.facts());
        let mut proved_count = 0;
        for i in 0..n {
            for j in 0..n {
                for goal in [
                    format!("reach(v{i}, v{j})"),
                    format!("safe(v{i}, v{j})"),
                    format!("blocked(v{i}, v{j})"),
                    format!("island(v{i})"),
                ] {
                    let outcome = engine.prove(&goal, &opts()).unwrap();
                    let atom = parse_fact(&goal).unwrap();
                    let holds = checker.holds(&atom).unwrap();
                    assert_eq!(outcome.is_proved(), holds, "round {round}, goal {goal}");
                    if let ProveOutcome::Proved(proof) = outcome {
                        proved_count += 1;
                        assert_eq!(proof.conclusion, goal);
                        check_proof(&proof, &engine.rules(), &engine.facts()).unwrap();
                    }
                }
            }
        }
        for proof in engine.prove_all("safe(A, B)", &opts(), 1000).unwrap() {
            checker.check(&proof).unwrap();
        }
        assert!(proved_count > 0 || n == 0);
    }
}

#[test]
fn concurrent_provers_share_one_engine() {
    let engine = Arc::new(policy_engine());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let engine = Arc::clone(&engine);
            std::thread::spawn(move || {
                for i in 0..50 {
                    if t == 0 && i % 10 == 0 {
                        engine.assert_fact(&format!("approved(t{i})")).unwrap();
                    }
                    assert!(engine
                        .prove("may_execute(alice, tx1)", &ProveOptions::default())
                        .unwrap()
                        .is_proved());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(engine.facts_count(), 15);
}

#[test]
fn zero_arity_predicates_and_rules_without_positive_body() {
    let engine = RuleEngine::new();
    engine
        .add_rules("rainy. wet :- rainy. dry :- not wet. calm :- not storm.")
        .unwrap();
    let p = proved(engine.prove("wet", &opts()).unwrap());
    assert_eq!(p.premises[0].conclusion, "rainy");
    failed(engine.prove("dry", &opts()).unwrap());
    let calm = proved(engine.prove("calm", &opts()).unwrap());
    assert_eq!(calm.absent, vec!["storm"]);
    assert_eq!(calm.depth(), 1);
}

/// Scale: one million stored facts, one rule layer with negation. Run in release:
/// `cargo test --release -p scratch-rules scale -- --ignored --nocapture`.
#[test]
#[ignore]
fn scale_one_million_facts() {
    use std::time::Instant;
    let engine = RuleEngine::new();
    engine
        .add_rules("can(A) :- member(A, g7), not banned(A). team(A, B) :- member(A, G), member(B, G), lead(B).")
        .unwrap();
    let n = 1_000_000;
    let t = Instant::now();
    let mut facts: Vec<Atom> = (0..n)
        .map(|i| Atom::fact("member", &[&format!("u{i}"), &format!("g{}", i % 1000)]))
        .collect();
    facts.extend((0..1000).map(|i| Atom::fact("banned", &[&format!("u{}", i * 7)])));
    facts.extend((0..10).map(|i| Atom::fact("lead", &[&format!("u{}", i * 1001)])));
    engine.assert_facts(facts).unwrap();
    let asserted = t.elapsed();
    let t = Instant::now();
    let first = engine.prove("can(u1007)", &opts()).unwrap();
    let cold = t.elapsed();
    assert!(first.is_proved());
    let t = Instant::now();
    for _ in 0..1000 {
        assert!(engine.prove("can(u1007)", &opts()).unwrap().is_proved());
    }
    let warm = t.elapsed() / 1000;
    let t = Instant::now();
    let (_, subgoals) = failed(engine.prove("can(u7)", &opts()).unwrap());
    let failed_time = t.elapsed();
    assert_eq!(subgoals, vec!["not banned(u7)"]);
    let team = proved(engine.prove("team(u5, X)", &opts()).unwrap());
    assert!(team.conclusion.starts_with("team(u5, "));
    println!(
        "1M facts: assert {asserted:?}, first prove (model build) {cold:?}, warm prove {warm:?}, \
         failed prove with explanation {failed_time:?}"
    );
}

//! No policy, schema or entity text crashes the engine: each is parsed or refused with a coded
//! error. Inputs that used to overflow the stack run in a child process (this test binary,
//! re-run on one test), so a regression fails the test instead of killing the test runner.

use std::process::Command;

use serde_json::{json, Value};

use super::{
    AuthzRequest, DecisionKind, EntityRef, PolicyEngine, MAX_HIERARCHY_LINKS, MAX_POLICY_NESTING,
    MAX_SCHEMA_NESTING, MAX_TEXT_NESTING,
};
use crate::error::ErrorCode;

/// Set in the child process to the name of the test it runs.
const CHILD_ENV: &str = "LEAN_AGENTIC_CHILD_TEST";

/// Runs `case` in a child process (the test binary running only `test`) and asserts that the
/// child exited successfully; in the child, runs `case` itself.
fn in_child(test: &str, case: impl FnOnce()) {
    let name = format!(
        "{}::{test}",
        module_path!().split_once("::").map_or("", |m| m.1)
    );
    if std::env::var(CHILD_ENV).as_deref() == Ok(name.as_str()) {
        case();
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new(exe)
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &name)
        .output()
        .expect("the child runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child running {name} failed ({}):\n{}\n{}",
        out.status,
        &stdout[stdout.len().saturating_sub(3000)..],
        &stderr[stderr.len().saturating_sub(3000)..]
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
}

fn policy(body: &str) -> String {
    format!("permit(principal, action, resource) when {{ {body} }};")
}

fn nest(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

fn request(action: &str, context: Value) -> AuthzRequest {
    AuthzRequest {
        principal: EntityRef::new("Agent", "a"),
        action: action.to_string(),
        resource: EntityRef::new("Resource", "r"),
        context,
    }
}

#[test]
fn the_inputs_that_crashed_node_get_coded_errors() {
    in_child("the_inputs_that_crashed_node_get_coded_errors", || {
        let engine = PolicyEngine::new();
        for body in [
            nest("[", "1", "]", 1000) + ".contains(1)",
            nest("if true then ", "true", " else false", 5000),
            format!("context{} == 1", ".a".repeat(5000)),
            format!("{}true", "true && ".repeat(100_000)),
            nest("(", "true", ")", 100_000),
            nest("{a: ", "1", "}", 100_000) + ".a == 1",
        ] {
            let e = engine.load(&policy(&body), None).expect_err("too deep");
            assert_eq!(e.code, ErrorCode::PolicyParse, "{}", e.message);
            assert!(
                e.message.contains(&MAX_TEXT_NESTING.to_string())
                    || e.message.contains(&MAX_POLICY_NESTING.to_string()),
                "{}",
                e.message
            );
        }
        assert!(!engine.has_policies(), "nothing was loaded");
    });
}

#[test]
fn text_just_under_the_pre_scan_bound_is_parsed_without_overflow() {
    // The parser thread's stack is sized for the pre-scan bound: the most expensive constructs
    // at that bound either load or are refused by the depth limit, and never overflow.
    in_child(
        "text_just_under_the_pre_scan_bound_is_parsed_without_overflow",
        || {
            let engine = PolicyEngine::new();
            let n = MAX_TEXT_NESTING - 10;
            let parens = engine.load(&policy(&nest("(", "true", ")", n)), None);
            assert!(parens.is_ok(), "{parens:?}");
            for body in [
                nest("[", "1", "]", n / 2) + ".contains(1)",
                nest("{a: ", "1", "}", n) + ".a == 1",
                nest("if true then ", "true", " else false", n),
                nest("!(", "true", ")", n / 2),
                format!("context{} == 1", ".a".repeat(n / 2)),
                format!("{}true", "true || ".repeat(n)),
            ] {
                let e = engine.load(&policy(&body), None).expect_err("too deep");
                assert!(
                    e.message
                        .contains(&format!("over the limit of {MAX_POLICY_NESTING}")),
                    "{}",
                    e.message
                );
            }
        },
    );
}

#[test]
fn the_deepest_accepted_policy_evaluates_on_an_8_mb_thread() {
    in_child(
        "the_deepest_accepted_policy_evaluates_on_an_8_mb_thread",
        || {
            let engine = PolicyEngine::with_options(Default::default(), 0);
            // `context.n == 1` nests three levels.
            let body = nest(
                "if true then ",
                "context.n == 1",
                " else false",
                MAX_POLICY_NESTING - 3,
            );
            engine.load(&policy(&body), None).expect("at the limit");
            let decide = std::thread::Builder::new()
                .stack_size(8 << 20)
                .spawn(move || {
                    let yes = engine
                        .authorize(&request("x", json!({"n": 1})))
                        .expect("decides");
                    let no = engine
                        .authorize(&request("x", json!({"n": 2})))
                        .expect("decides");
                    (yes, no)
                })
                .expect("thread")
                .join()
                .expect("no panic");
            assert_eq!(
                decide.0.decision,
                DecisionKind::Allow,
                "{:?}",
                decide.0.errors
            );
            assert!(decide.0.errors.is_empty(), "{:?}", decide.0.errors);
            assert_eq!(decide.1.decision, DecisionKind::Deny);
            assert!(decide.1.errors.is_empty(), "{:?}", decide.1.errors);
        },
    );
}

#[test]
fn deep_schemas_are_refused() {
    in_child("deep_schemas_are_refused", || {
        let engine = PolicyEngine::new();
        for schema in [
            format!("entity A {{ a: {} }};", nest("Set<", "Long", ">", 50_000)),
            format!("entity A {{ a: {} }};", nest("{ b: ", "Long", " }", 50_000)),
            format!(
                "{{\"\": {{\"entityTypes\": {{\"A\": {{\"shape\": {}}}}}, \"actions\": {{}}}}}}",
                nest(
                    "{\"type\": \"Record\", \"attributes\": {\"a\": ",
                    "{\"type\": \"Long\"}",
                    "}}",
                    50_000
                )
            ),
        ] {
            let e = engine
                .load(&policy("true"), Some(&schema))
                .expect_err("too deep");
            assert_eq!(e.code, ErrorCode::PolicyParse);
            assert!(
                e.message
                    .contains(&format!("more than {MAX_SCHEMA_NESTING} brackets")),
                "{}",
                e.message
            );
        }
        // Deep action-group and entity-type chains (2100 deep: 2.2M links): Cedar's closure
        // of a 3000-deep action chain took ~30 s in release before this bound, 10,000 deep
        // did not finish.
        for (decl, first) in [
            ("action a{i} in [a{p}];", "action a0;"),
            ("entity E{i} in [E{p}];", "entity E0;"),
        ] {
            let mut chain = format!("entity A; {first}\n");
            for i in 1..2_100 {
                chain.push_str(
                    &decl
                        .replace("{i}", &i.to_string())
                        .replace("{p}", &(i - 1).to_string()),
                );
            }
            let started = std::time::Instant::now();
            let e = engine
                .load(&policy("true"), Some(&chain))
                .expect_err("too many links");
            assert!(
                e.message.contains("hierarchy")
                    && e.message.contains(&MAX_HIERARCHY_LINKS.to_string()),
                "{}",
                e.message
            );
            // Generous: the refusal is linear work (debug build, shared machine).
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{:?}",
                started.elapsed()
            );
        }
        // Just under the bound, a nested record type is fine.
        let ok = format!(
            "entity A {{ a: {} }}; action x appliesTo {{ principal: A, resource: A }};",
            nest("{ b: ", "Long", " }", MAX_SCHEMA_NESTING - 4)
        );
        engine.load(&policy("true"), Some(&ok)).expect("parses");
    });
}

#[test]
fn deep_entities_and_large_hierarchies_get_coded_errors() {
    in_child(
        "deep_entities_and_large_hierarchies_get_coded_errors",
        || {
            let engine = PolicyEngine::new();
            let deep_value = format!(
                "[{{\"uid\": {{\"type\": \"A\", \"id\": \"a\"}}, \"attrs\": {{\"x\": {}}}, \"parents\": []}}]",
                nest("[", "", "]", 100_000)
            );
            let e = engine.set_entities(&deep_value).expect_err("too deep");
            assert_eq!(e.code, ErrorCode::InvalidJson);
            assert!(e.message.contains("more than 128"), "{}", e.message);
            // The deepest JSON serde accepts loads.
            let deepest = format!(
                "[{{\"uid\": {{\"type\": \"A\", \"id\": \"a\"}}, \"attrs\": {{\"x\": {}}}, \"parents\": []}}]",
                nest("[", "", "]", 124)
            );
            assert_eq!(engine.set_entities(&deepest), Ok(1));
            let chain = |n: usize, cyclic: bool| -> String {
                let items: Vec<Value> = (0..n)
                    .map(|i| {
                        let parents = if i + 1 < n || cyclic {
                            json!([{"type": "R", "id": format!("r{}", (i + 1) % n)}])
                        } else {
                            json!([])
                        };
                        json!({"uid": {"type": "R", "id": format!("r{i}")}, "attrs": {}, "parents": parents})
                    })
                    .collect();
                Value::Array(items).to_string()
            };
            let e = engine
                .set_entities(&chain(100_000, false))
                .expect_err("too many links");
            assert_eq!(e.code, ErrorCode::PolicyParse);
            assert!(
                e.message.contains(&MAX_HIERARCHY_LINKS.to_string()),
                "{}",
                e.message
            );
            let e = engine
                .set_entities(&chain(100_000, true))
                .expect_err("cycle");
            assert!(e.message.contains("is its own ancestor"), "{}", e.message);
            // A chain within the bound loads, and `in` sees its far end.
            assert_eq!(engine.set_entities(&chain(600, false)), Ok(600));
        },
    );
}

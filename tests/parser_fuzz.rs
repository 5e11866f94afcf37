//! Standing fuzz targets for every text and JSON parser the engine exposes: Cedar policies,
//! schemas (Cedar and JSON syntax) and entities, the rule language (programs, facts, goals,
//! proofs) and configuration (system, learner, bank). Each input either parses or is refused
//! with a coded error; a panic fails the case and a stack overflow aborts this test binary,
//! so both are caught. Inputs are random token soups and structured deep nestings around the
//! documented bounds (`MAX_POLICY_NESTING`, `MAX_TEXT_NESTING`, `MAX_SCHEMA_NESTING`,
//! `MAX_HIERARCHY_LINKS`, JSON's 128 levels).
//!
//! Seeded and reproducible: `cargo test --test parser_fuzz` runs a few hundred cases with a
//! fixed seed. The long run (`npm run fuzz`) sets `PROPTEST_CASES` (cases per target) and a
//! random seed with `PARSER_FUZZ_SEED=random` (the seed in use is printed, and any failure is
//! saved under `tests/proptest-regressions/`):
//! `PROPTEST_CASES=20000 PARSER_FUZZ_SEED=random cargo test --profile bench --test parser_fuzz`.

use lean_agentic_native::error::{Error, ErrorCode};
use lean_agentic_native::learning::LearnerConfig;
use lean_agentic_native::memory::BankConfig;
use lean_agentic_native::reasoning::policy::{
    MAX_HIERARCHY_LINKS, MAX_POLICY_NESTING, MAX_SCHEMA_NESTING, MAX_TEXT_NESTING,
};
use lean_agentic_native::reasoning::rules::{check_proof_json, ProveOptions, RuleEngine};
use lean_agentic_native::reasoning::{AuthzRequest, EntityRef, PolicyEngine};
use lean_agentic_native::system::SystemConfig;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};

/// Cases per target in a plain `cargo test`, unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 48;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let seed = match std::env::var("PARSER_FUZZ_SEED").as_deref() {
        Ok("random") => {
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64);
            eprintln!("parser_fuzz seed: {seed} (re-run with PARSER_FUZZ_SEED={seed})");
            seed
        }
        Ok(n) => n.parse().unwrap_or(0x5eed),
        Err(_) => 0x5eed,
    };
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..Config::default()
    }
}

/// A refusal must carry one of the expected codes and a message that says something.
fn assert_coded(e: &Error, allowed: &[ErrorCode]) {
    assert!(
        allowed.contains(&e.code),
        "unexpected code {:?}: {}",
        e.code,
        e.message
    );
    assert!(
        e.message.len() > 10,
        "a message that says what to fix: {}",
        e.message
    );
}

/// Tokens of Cedar policy text, valid and not.
fn policy_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("permit".to_string()),
        Just("forbid".to_string()),
        Just("(principal, action, resource)".to_string()),
        Just("principal".to_string()),
        Just("action".to_string()),
        Just("resource".to_string()),
        Just("context".to_string()),
        Just("when".to_string()),
        Just("unless".to_string()),
        Just("if".to_string()),
        Just("then".to_string()),
        Just("else".to_string()),
        Just("has".to_string()),
        Just("like".to_string()),
        Just("in".to_string()),
        Just("is".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("&&".to_string()),
        Just("||".to_string()),
        Just("==".to_string()),
        Just("!=".to_string()),
        Just("<".to_string()),
        Just(">=".to_string()),
        Just("+".to_string()),
        Just("-".to_string()),
        Just("*".to_string()),
        Just("!".to_string()),
        Just(".".to_string()),
        Just(",".to_string()),
        Just(";".to_string()),
        Just(":".to_string()),
        Just("::".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("@id(\"p\")".to_string()),
        Just("?principal".to_string()),
        Just("// comment\n".to_string()),
        Just("Action::\"a\"".to_string()),
        Just(".contains(1)".to_string()),
        Just("ip(\"10.0.0.1\")".to_string()),
        "[a-z]{1,6}",
        "-?[0-9]{1,20}",
        "\"[^\"\\\\]{0,8}\"",
        "\\PC{1,3}",
    ]
}

/// One nesting construct: text before and after the inner expression.
fn wrapper() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop_oneof![
        Just(("(", ")")),
        Just(("[", "]")),
        Just(("{a: ", "}")),
        Just(("if true then ", " else false")),
        Just(("!", "")),
        Just(("-", "")),
        Just(("", ".a")),
        Just(("", " && true")),
        Just(("false || ", "")),
        Just(("", " has a")),
        Just(("[", "].contains(1)")),
        Just(("", " == 1")),
        Just(("context.a + ", "")),
    ]
}

/// A nesting depth near one of the bounds, or far past them.
fn depth() -> impl Strategy<Value = usize> {
    prop_oneof![
        (MAX_POLICY_NESTING - 6)..(MAX_POLICY_NESTING + 6),
        (MAX_TEXT_NESTING / 2 - 6)..(MAX_TEXT_NESTING / 2 + 6),
        (MAX_TEXT_NESTING - 6)..(MAX_TEXT_NESTING + 6),
        0usize..30,
        2_000usize..30_000,
    ]
}

/// A policy whose condition nests `depth` wrappers, cycling through `wrappers`.
fn nested_policy(wrappers: &[(&str, &str)], depth: usize) -> String {
    let mut open = String::new();
    let mut close = Vec::new();
    for i in 0..depth {
        let (o, c) = wrappers[i % wrappers.len()];
        open.push_str(o);
        close.push(c);
    }
    close.reverse();
    format!(
        "permit(principal, action, resource) when {{ {open}context.x{} }};",
        close.concat()
    )
}

fn request() -> AuthzRequest {
    AuthzRequest {
        principal: EntityRef::new("Agent", "a"),
        action: "act".to_string(),
        resource: EntityRef::new("Resource", "r"),
        context: json!({"x": 1, "a": {"a": 2}}),
    }
}

/// Loads `text`; an accepted set is also evaluated (on an 8 MB thread, the smallest stack
/// policies are evaluated on).
fn load_and_decide(text: &str, schema: Option<&str>) {
    let engine = PolicyEngine::with_options(Default::default(), 0);
    match engine.load(text, schema) {
        Ok(_) => {
            std::thread::scope(|s| {
                std::thread::Builder::new()
                    .stack_size(8 << 20)
                    .spawn_scoped(s, || {
                        let d = engine.authorize(&request());
                        if let Err(e) = d {
                            assert_coded(&e, &[ErrorCode::InvalidInput, ErrorCode::PolicyParse]);
                        }
                    })
                    .expect("thread")
                    .join()
                    .expect("evaluation does not panic");
            });
        }
        Err(e) => assert_coded(
            &e,
            &[
                ErrorCode::PolicyParse,
                ErrorCode::PolicyInvalid,
                ErrorCode::InvalidJson,
            ],
        ),
    }
}

/// A random JSON value, at most `depth` levels deep.
fn json_value(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,6}".prop_map(Value::String),
        Just(json!({"__entity": {"type": "A", "id": "b"}})),
        Just(json!({"__extn": {"fn": "ip", "arg": "10.0.0.1"}})),
    ];
    leaf.prop_recursive(depth, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON text nested `depth` arrays deep around `inner`.
fn deep_json(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn policy_token_soup_parses_or_is_refused(tokens in prop::collection::vec(policy_token(), 0..120)) {
        load_and_decide(&tokens.join(" "), None);
    }

    #[test]
    fn deeply_nested_policies_parse_or_are_refused(
        wrappers in prop::collection::vec(wrapper(), 1..4),
        depth in depth(),
    ) {
        load_and_decide(&nested_policy(&wrappers, depth), None);
    }

    #[test]
    fn schemas_parse_or_are_refused(
        depth in prop_oneof![(MAX_SCHEMA_NESTING - 4)..(MAX_SCHEMA_NESTING + 4), 0usize..10, 1_000usize..20_000],
        kind in 0..4u8,
        soup in prop::collection::vec(prop_oneof![
            Just("entity"), Just("action"), Just("A"), Just("{"), Just("}"), Just("<"), Just(">"),
            Just("Set"), Just(":"), Just(";"), Just(","), Just("in"), Just("["), Just("]"),
            Just("appliesTo"), Just("principal"), Just("Long"), Just("\"x\""), Just("namespace"),
        ], 0..60),
    ) {
        let schema = match kind {
            0 => format!("entity A {{ a: {}Long{} }};", "Set<".repeat(depth), ">".repeat(depth)),
            1 => format!("entity A {{ a: {}Long{} }};", "{ b: ".repeat(depth), " }".repeat(depth)),
            2 => format!(
                "{{\"\": {{\"entityTypes\": {{\"A\": {{\"shape\": {}{{\"type\": \"Long\"}}{}}}}}, \"actions\": {{}}}}}}",
                "{\"type\": \"Record\", \"attributes\": {\"a\": ".repeat(depth),
                "}}".repeat(depth)
            ),
            _ => soup.join(" "),
        };
        load_and_decide("permit(principal, action, resource);", Some(&schema));
    }

    #[test]
    fn entities_parse_or_are_refused(
        values in prop::collection::vec(json_value(6), 0..6),
        depth in prop_oneof![120usize..136, 1_000usize..50_000],
        edges in prop::collection::vec((0usize..40, 0usize..40), 0..80),
        // Past the link bound (just under it, Cedar's own closure of ~2M links takes many
        // seconds in a debug build; hierarchy.rs tests that one).
        chain in prop_oneof![0usize..50, 2_001usize..2_010, 3_000usize..10_000],
    ) {
        let engine = PolicyEngine::new();
        let check = |text: &str| match engine.set_entities(text) {
            Ok(_) => {}
            Err(e) => assert_coded(&e, &[ErrorCode::PolicyParse, ErrorCode::InvalidJson, ErrorCode::PolicyInvalid]),
        };
        // Random values as attributes, and random values as the whole list.
        let attrs: Vec<Value> = values.iter().enumerate().map(|(i, v)| json!({
            "uid": {"type": "A", "id": i.to_string()}, "attrs": {"v": v}, "parents": []
        })).collect();
        check(&Value::Array(attrs).to_string());
        check(&Value::Array(values.clone()).to_string());
        // Attributes nested around serde's limit and far past it.
        check(&format!("[{{\"uid\": {{\"type\": \"A\", \"id\": \"a\"}}, \"attrs\": {{\"x\": {}}}, \"parents\": []}}]", deep_json(depth, "1")));
        // Random parent graphs (cycles included), and chains around the link bound.
        let mut parents: Vec<Vec<Value>> = vec![Vec::new(); 40];
        for (child, parent) in edges {
            parents[child].push(json!({"type": "R", "id": parent.to_string()}));
        }
        let graph: Vec<Value> = parents.into_iter().enumerate().map(|(i, p)| json!({
            "uid": {"type": "R", "id": i.to_string()}, "attrs": {}, "parents": p
        })).collect();
        check(&Value::Array(graph).to_string());
        let chain: Vec<Value> = (0..chain).map(|i| json!({
            "uid": {"type": "R", "id": format!("c{i}")}, "attrs": {},
            "parents": [{"type": "R", "id": format!("c{}", i + 1)}]
        })).collect();
        check(&Value::Array(chain).to_string());
        prop_assert!(MAX_HIERARCHY_LINKS >= 1_999_000);
    }

    #[test]
    fn rule_texts_parse_or_are_refused(
        tokens in prop::collection::vec(prop_oneof![
            Just("p".to_string()), Just("q".to_string()), Just("X".to_string()), Just("_".to_string()),
            Just("(".to_string()), Just(")".to_string()), Just(",".to_string()), Just(".".to_string()),
            Just(":-".to_string()), Just("not".to_string()), Just("\\+".to_string()), Just("@id(r)".to_string()),
            Just("%c\n".to_string()), Just("\"s\"".to_string()), Just("-1.5".to_string()), Just("\"".to_string()),
            "[a-zA-Z_][a-z0-9_]{0,4}", "\\PC{1,2}",
        ], 0..80),
        deep in 1usize..50_000,
    ) {
        let engine = RuleEngine::new();
        let text = tokens.join(" ");
        let rule_codes = [ErrorCode::RuleParse, ErrorCode::InvalidInput];
        if let Err(e) = engine.add_rules(&text) { assert_coded(&e, &rule_codes); }
        if let Err(e) = engine.assert_fact(&text) { assert_coded(&e, &rule_codes); }
        if let Err(e) = engine.add_rules(&format!("p(X) :- {}q(X).", "q(X), ".repeat(deep % 2_000))) {
            assert_coded(&e, &rule_codes);
        }
        let opts = ProveOptions { premises: vec![text.clone()], ..ProveOptions::default() };
        for (goal, opts) in [(text.as_str(), ProveOptions::default()), ("p(a)", opts)] {
            if let Err(e) = engine.prove(goal, &opts) { assert_coded(&e, &rule_codes); }
        }
        let proofs = [
            text.clone(),
            deep_json(deep, "1"),
            format!("{{\"conclusion\": \"p(a)\", \"rule\": \"r\", \"premises\": [{}]}}", "{\"conclusion\": \"p(a)\", \"rule\": \"r\", \"premises\": [".repeat(deep % 200) + &"]}".repeat(deep % 200)),
        ];
        for proof in proofs {
            if let Err(e) = check_proof_json(&proof, "p(a).", "p(a).") {
                assert_coded(&e, &[ErrorCode::ProofInvalid, ErrorCode::InvalidJson, ErrorCode::RuleParse]);
            }
        }
    }

    #[test]
    fn configs_parse_or_are_refused(
        value in json_value(5),
        key in prop::sample::select(vec!["learner", "bank", "entities", "policies", "seed", "learningRate", "path", "maxChunkBytes", "nope"]),
        depth in prop_oneof![120usize..136, 1_000usize..20_000],
    ) {
        let codes = [ErrorCode::InvalidConfig, ErrorCode::InvalidJson];
        for v in [value.clone(), json!({ key: value.clone() }), json!({"learner": {key: value.clone()}})] {
            if let Err(e) = SystemConfig::from_json(&v) { assert_coded(&e, &codes); }
            if let Err(e) = LearnerConfig::from_value(&v) { assert_coded(&e, &codes); }
            if let Err(e) = BankConfig::from_json(&v) { assert_coded(&e, &codes); }
        }
        let deep = format!("{{\"{key}\": {}}}", deep_json(depth, "{}"));
        if let Err(e) = LearnerConfig::from_json(&deep) { assert_coded(&e, &codes); }
        match serde_json::from_str::<Value>(&deep) {
            Ok(v) => { if let Err(e) = SystemConfig::from_json(&v) { assert_coded(&e, &codes); } }
            Err(e) => prop_assert!(e.to_string().starts_with("recursion limit exceeded")),
        }
    }
}

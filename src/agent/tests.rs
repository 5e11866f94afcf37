use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use super::action::{normalize_atom, validate_atom};
use super::planner::tokenize;
use super::*;
use crate::error::ErrorCode;

fn spec(name: &str, keywords: &[&str], pre: &[&str], eff: &[&str]) -> ActionSpec {
    ActionSpec {
        name: name.into(),
        description: format!("{name} action"),
        keywords: keywords.iter().map(|s| s.to_string()).collect(),
        tool_calls: vec![],
        preconditions: pre.iter().map(|s| s.to_string()).collect(),
        effects: eff.iter().map(|s| s.to_string()).collect(),
        expected_reward: None,
        has_handler: false,
        timeout_ms: None,
    }
}

fn set(words: &[&str]) -> HashSet<String> {
    words.iter().map(|s| s.to_string()).collect()
}

#[test]
fn atoms_are_validated_and_normalised() {
    assert!(validate_atom("authenticated(user)").is_ok());
    assert!(validate_atom("ready").is_ok());
    assert_eq!(
        validate_atom("bad atom(").unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(validate_atom("").unwrap_err().code, ErrorCode::InvalidInput);
    assert_eq!(normalize_atom(" p( a,b ) "), "p(a, b)");
}

#[test]
fn registry_registers_replaces_and_rejects() {
    let reg = ActionRegistry::new();
    assert!(!reg.register(spec("a", &["x"], &[], &[])).unwrap());
    assert!(reg.register(spec("a", &["y"], &[], &[])).unwrap());
    assert_eq!(reg.get("a").unwrap().keywords, vec!["y".to_string()]);
    assert_eq!(reg.get("zzz").unwrap_err().code, ErrorCode::UnknownAction);
    assert_eq!(
        reg.register(spec("  ", &[], &[], &[])).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    let mut bad = spec("b", &[], &[], &[]);
    bad.expected_reward = Some(f64::NAN);
    assert_eq!(
        reg.register(bad).unwrap_err().code,
        ErrorCode::InvalidReward
    );
    reg.unregister("a").unwrap();
    assert_eq!(
        reg.unregister("a").unwrap_err().code,
        ErrorCode::UnknownAction
    );
}

#[test]
fn relevance_ranks_keyword_matches_first() {
    let weather = Arc::new(spec("weather", &["weather", "forecast"], &[], &[]));
    let search = Arc::new(spec("search", &["search"], &[], &[]));
    let words = set(&tokenize("What's the weather forecast in Tokyo?")
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let planner = Planner::new(0.1, 3);
    let plan = planner.plan(&[search, weather], &words, &HashSet::new(), &|_: &str| {
        false
    });
    assert_eq!(plan.candidates.len(), 1);
    assert_eq!(plan.candidates[0].action.name, "weather");
    // Both keywords (0.75) and one of two description words (0.125).
    assert!((plan.candidates[0].relevance - 0.875).abs() < 1e-9);
}

#[test]
fn no_relevant_action_keeps_all_candidates() {
    let a = Arc::new(spec("a", &["alpha"], &[], &[]));
    let b = Arc::new(spec("b", &["beta"], &[], &[]));
    let plan =
        Planner::new(0.1, 3).plan(&[a, b], &set(&["gamma"]), &HashSet::new(), &|_: &str| false);
    assert_eq!(plan.candidates.len(), 2);
    assert!(plan.below_threshold.is_none());
}

#[test]
fn skip_mode_plans_nothing_and_names_the_closest_action() {
    let a = Arc::new(spec("a", &["alpha", "gamma"], &[], &[]));
    let b = Arc::new(spec("b", &["beta"], &[], &[]));
    let skip = Planner::new(0.5, 3).with_no_relevant(crate::agent::NoRelevantAction::Skip);
    let words = set(&["gamma"]);
    let plan = skip.plan(
        &[b.clone(), a.clone()],
        &words,
        &HashSet::new(),
        &|_: &str| false,
    );
    assert!(plan.candidates.is_empty());
    let best = plan.below_threshold.expect("the closest action");
    assert_eq!(best.action, "a");
    assert!((best.relevance - 0.375).abs() < 1e-9 && best.threshold == 0.5);
    // a chunk some action reaches is planned as in `choose` mode
    let plan = skip.plan(
        &[a, b],
        &set(&["alpha", "gamma"]),
        &HashSet::new(),
        &|_: &str| false,
    );
    assert_eq!(plan.candidates.len(), 1);
    assert!(plan.below_threshold.is_none());
}

#[test]
fn preconditions_are_chained_through_effects() {
    let login = Arc::new(spec("login", &["login"], &[], &["authenticated(user)"]));
    let pay = Arc::new(spec("pay", &["pay"], &["authenticated(user)"], &["paid"]));
    let planner = Planner::new(0.1, 3);
    let plan = planner.plan(
        &[login.clone(), pay.clone()],
        &set(&["pay"]),
        &HashSet::new(),
        &|_: &str| false,
    );
    assert_eq!(
        plan.candidates[0].plan,
        vec!["login".to_string(), "pay".to_string()]
    );
    // Once the fact holds, `pay` runs directly.
    let facts: BTreeSet<String> = ["authenticated(user)".to_string()].into();
    let plan = planner.plan(
        &[login, pay.clone()],
        &set(&["pay"]),
        &HashSet::new(),
        &|a: &str| facts.contains(a),
    );
    assert_eq!(plan.candidates[0].plan, vec!["pay".to_string()]);
    // Without a provider the action is blocked, naming the missing atom.
    let plan = planner.plan(&[pay], &set(&["pay"]), &HashSet::new(), &|_: &str| false);
    assert!(plan.candidates.is_empty());
    assert_eq!(plan.blocked[0].1, vec!["authenticated(user)".to_string()]);
}

#[test]
fn depth_limits_chains() {
    let a = Arc::new(spec("a", &[], &[], &["x"]));
    let b = Arc::new(spec("b", &[], &["x"], &["y"]));
    let c = Arc::new(spec("c", &["go"], &["y"], &[]));
    let all = [a, b, c];
    let deep = Planner::new(0.1, 3).plan(&all, &set(&["go"]), &HashSet::new(), &|_: &str| false);
    assert_eq!(deep.candidates[0].plan, vec!["a", "b", "c"]);
    let shallow = Planner::new(0.1, 2).plan(&all, &set(&["go"]), &HashSet::new(), &|_: &str| false);
    assert!(shallow.candidates.is_empty());
}

#[test]
fn rewards_follow_outcomes() {
    let ok = HandlerOutcome {
        success: true,
        ..HandlerOutcome::default()
    };
    let fail = HandlerOutcome {
        success: false,
        ..HandlerOutcome::default()
    };
    assert!((reward_for(&ok, 0.0, 1000.0).unwrap() - 1.0).abs() < 1e-12);
    assert!((reward_for(&fail, 0.0, 1000.0).unwrap() + 1.0).abs() < 1e-12);
    // Slow steps earn less.
    assert!(reward_for(&ok, 500.0, 1000.0).unwrap() < reward_for(&ok, 10.0, 1000.0).unwrap());
    let given = HandlerOutcome {
        success: true,
        reward: Some(0.25),
        ..HandlerOutcome::default()
    };
    assert!((reward_for(&given, 0.0, 1000.0).unwrap() - 0.25).abs() < 1e-12);
    let nan = HandlerOutcome {
        success: true,
        reward: Some(f64::NAN),
        ..HandlerOutcome::default()
    };
    assert_eq!(
        reward_for(&nan, 0.0, 1000.0).unwrap_err().code,
        ErrorCode::InvalidReward
    );
    let inf = HandlerOutcome {
        success: true,
        reward_invalid: Some("Infinity".into()),
        ..HandlerOutcome::default()
    };
    assert_eq!(
        reward_for(&inf, 0.0, 1000.0).unwrap_err().code,
        ErrorCode::InvalidReward
    );
}

#[test]
fn sessions_bound_history_and_apply_effects() {
    let s = Session::new("s".into(), SessionContext::default(), 3);
    for i in 0..5 {
        s.record(
            HistoryEntry {
                step_id: format!("{i}"),
                input: "x".into(),
                action: "a".into(),
                success: i % 2 == 0,
                reward: 1.0,
                timestamp: i,
            },
            if i % 2 == 0 {
                crate::agent::StepKind::Succeeded
            } else {
                crate::agent::StepKind::Failed
            },
            &serde_json::Value::Null,
            &["done(x)".to_string()],
        );
    }
    let h = s.history();
    assert_eq!(h.len(), 3);
    assert_eq!(h[0].step_id, "2");
    assert!(s.facts().contains("done(x)"));
    // The ledger is not bounded by the window.
    let prior = s.prior_steps();
    assert_eq!(prior.succeeded, ["a"]);
    assert_eq!(prior.failed, ["a"]);
    assert_eq!(prior.step_index, 5);
}

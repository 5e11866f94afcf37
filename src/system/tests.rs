use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::agent::{ActionSpec, HandlerOutcome, SessionContext};
use crate::error::ErrorCode;

fn engine() -> Engine {
    let cfg = SystemConfig {
        path: ":memory:".into(),
        seed: Some(7),
        ..SystemConfig::default()
    };
    Engine::open(cfg).unwrap()
}

fn action(name: &str, keywords: &[&str], handler: bool) -> ActionSpec {
    ActionSpec {
        name: name.into(),
        description: format!("{name} something"),
        keywords: keywords.iter().map(|s| s.to_string()).collect(),
        tool_calls: vec![],
        preconditions: vec![],
        effects: vec![],
        expected_reward: None,
        has_handler: handler,
        timeout_ms: None,
    }
}

#[test]
fn config_rejects_typos_and_ranges() {
    let e = SystemConfig::from_json(&json!({"learningrate": 0.1})).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidConfig);
    assert!(e.message.contains("learningRate"), "{}", e.message);
    let e = SystemConfig::from_json(&json!({"learningRate": -1})).unwrap_err();
    assert!(e.message.contains("learningRate"));
    let e = SystemConfig::from_json(&json!({"explorationRate": 2})).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidConfig);
    assert!(SystemConfig::from_json(&json!(null)).is_ok());
    assert!(SystemConfig::from_json(&json!([1])).is_err());
}

#[test]
fn builtin_step_runs_natively_and_learns() {
    let e = engine();
    e.register_action(action("weather", &["weather"], false))
        .unwrap();
    e.create_session("s", SessionContext::default()).unwrap();
    let Begun::Done(r) = e.begin("s", "What is the weather in Tokyo?").unwrap() else {
        panic!("a builtin action finishes natively")
    };
    assert_eq!(r.action.action_type, "weather");
    assert!(r.observation.success);
    assert!(r.learned);
    assert!(!r.verified, "no verifier: never a fake pass");
    assert_eq!(r.verification.decision, Verdict::Skipped);
    let stats = e.stats().unwrap();
    assert_eq!(stats.total_actions, 1);
    assert_eq!(stats.learning_iterations, 1);
}

#[test]
fn handler_steps_complete_and_rewards_move_predictions() {
    let e = engine();
    e.register_action(action("good", &["weather"], true))
        .unwrap();
    e.create_session("s", SessionContext::default()).unwrap();
    let Begun::Pending(p) = e.begin("s", "weather please").unwrap() else {
        panic!("handler step")
    };
    let before = p.action.expected_reward;
    let r = e
        .complete(
            &p.action_id,
            HandlerOutcome {
                success: true,
                ..HandlerOutcome::default()
            },
        )
        .unwrap();
    assert!(r.reward > 0.9);
    let Begun::Pending(p2) = e.begin("s", "weather please").unwrap() else {
        panic!()
    };
    assert!(
        p2.action.expected_reward > before,
        "prediction rose after a positive reward"
    );
    assert_eq!(
        e.complete(&p.action_id, HandlerOutcome::default())
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    e.complete(&p2.action_id, HandlerOutcome::default())
        .unwrap();
}

#[test]
fn invalid_inputs_have_codes() {
    let e = engine();
    e.create_session("s", SessionContext::default()).unwrap();
    assert_eq!(
        e.begin("s", "hello").unwrap_err().code,
        ErrorCode::UnknownAction
    );
    e.register_action(action("a", &["x"], false)).unwrap();
    assert_eq!(e.begin("s", "   ").unwrap_err().code, ErrorCode::EmptyChunk);
    assert_eq!(
        e.begin("nope", "hi").unwrap_err().code,
        ErrorCode::UnknownSession
    );
    let big = "x".repeat((1 << 20) + 1);
    assert_eq!(
        e.begin("s", &big).unwrap_err().code,
        ErrorCode::ChunkTooLarge
    );
    assert_eq!(
        e.feedback("act-999", 1.0).unwrap_err().code,
        ErrorCode::NotFound
    );
    let Begun::Done(r) = e.begin("s", "x marks").unwrap() else {
        panic!()
    };
    assert_eq!(
        e.feedback(&r.action_id, f64::INFINITY).unwrap_err().code,
        ErrorCode::InvalidReward
    );
    assert!(e.feedback(&r.action_id, 1.0).is_ok());
    e.close().unwrap();
    assert_eq!(e.begin("s", "x").unwrap_err().code, ErrorCode::Closed);
    assert_eq!(e.stats().unwrap_err().code, ErrorCode::Closed);
    e.close().unwrap();
}

#[test]
fn nan_handler_reward_is_rejected_but_recorded() {
    let e = engine();
    e.register_action(action("a", &["x"], true)).unwrap();
    e.create_session("s", SessionContext::default()).unwrap();
    let Begun::Pending(p) = e.begin("s", "x").unwrap() else {
        panic!()
    };
    let err = e
        .complete(
            &p.action_id,
            HandlerOutcome {
                success: true,
                reward: Some(f64::NAN),
                ..HandlerOutcome::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidReward);
    assert_eq!(e.stats().unwrap().learning_iterations, 0);
    assert_eq!(e.history("s").unwrap().len(), 1);
    assert!(!e.history("s").unwrap()[0].success);
}

struct DenyPay;
impl Verifier for DenyPay {
    fn verify(&self, r: VerifyRequest<'_>) -> Verification {
        if r.action.name == "pay" {
            Verification {
                decision: Verdict::Deny,
                reasons: vec!["payments need approval".into()],
                policy: None,
                details: Default::default(),
            }
        } else {
            Verification {
                decision: Verdict::Allow,
                reasons: vec![],
                policy: None,
                details: Default::default(),
            }
        }
    }
}

#[test]
fn denied_actions_are_not_executed() {
    let e = engine();
    e.set_verifier(Arc::new(DenyPay));
    e.register_action(action("pay", &["pay"], true)).unwrap();
    e.create_session("s", SessionContext::default()).unwrap();
    let Begun::Done(r) = e.begin("s", "pay the invoice").unwrap() else {
        panic!("a denied step never reaches its handler")
    };
    assert!(!r.observation.success);
    assert!(!r.verified);
    assert!(r.reward < 0.0);
    assert_eq!(e.stats().unwrap().denied_actions, 1);
}

#[test]
fn batches_stop_at_handler_steps() {
    let e = engine();
    e.register_action(action("note", &["note"], false)).unwrap();
    e.register_action(action("call", &["call"], true)).unwrap();
    e.create_session("s", SessionContext::default()).unwrap();
    let chunks = ["note one", "note two", "call me", "note three"];
    let p = e.process_batch("s", &chunks).unwrap();
    assert_eq!(p.results.len(), 2);
    assert_eq!(p.pending.as_ref().unwrap().action.action_type, "call");
}

#[test]
fn sessions_run_concurrently_without_cross_talk() {
    let e = Arc::new(engine());
    e.register_action(action("note", &["note"], false)).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                let id = format!("s{t}");
                e.create_session(&id, SessionContext::default()).unwrap();
                for i in 0..50 {
                    e.begin(&id, &format!("note {t} {i}")).unwrap();
                }
                e.history(&id).unwrap()
            })
        })
        .collect();
    for (t, th) in threads.into_iter().enumerate() {
        let h = th.join().unwrap();
        assert_eq!(h.len(), 20, "history window");
        assert!(h.iter().all(|x| x.input.starts_with(&format!("note {t} "))));
    }
    assert_eq!(e.stats().unwrap().total_actions, 400);
    assert_eq!(e.journal_count().unwrap(), 400);
}

#[test]
fn journal_persists_across_reopen() {
    let dir = std::env::temp_dir().join(format!("la-journal-{}", std::process::id()));
    let path = dir.join("store.db");
    let cfg = SystemConfig {
        path: path.to_string_lossy().into(),
        ..SystemConfig::default()
    };
    {
        let e = Engine::open(cfg.clone()).unwrap();
        e.register_action(action("note", &["note"], false)).unwrap();
        e.create_session("s", SessionContext::default()).unwrap();
        for i in 0..10 {
            e.begin("s", &format!("note {i}")).unwrap();
        }
        e.close().unwrap();
    }
    let e = Engine::open(cfg).unwrap();
    assert_eq!(e.journal_count().unwrap(), 10);
    e.close().unwrap();
    std::fs::write(
        dir.join("bad.db"),
        b"this is not a database, just text padding it out".repeat(100),
    )
    .unwrap();
    let bad = SystemConfig {
        path: dir.join("bad.db").to_string_lossy().into(),
        ..SystemConfig::default()
    };
    assert_eq!(
        Engine::open(bad).err().unwrap().code,
        crate::error::ErrorCode::StoreCorrupt
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn pipelined_batches_match_step_by_step() {
    let texts = [
        "note that Ada Lovelace met Alan Turing in London",
        "what is the weather in Paris on Monday",
        "note: Grace Hopper works at Acme Corp in Tokyo",
        "pay the invoice from Acme Corp",
    ];
    let mut chunks: Vec<String> = (0..300)
        .map(|i| format!("{} #{i}", texts[i % texts.len()]))
        .collect();
    chunks[150] = "call me about Berlin".into();
    let open = || {
        let e = engine();
        e.set_verifier(Arc::new(DenyPay));
        e.register_action(action("note", &["note"], false)).unwrap();
        e.register_action(action("weather", &["weather"], false))
            .unwrap();
        e.register_action(action("pay", &["pay"], false)).unwrap();
        e.register_action(action("call", &["call"], true)).unwrap();
        e.create_session("s", SessionContext::default()).unwrap();
        e
    };
    let stepwise = open();
    let mut one_by_one = Vec::new();
    let mut pending = None;
    for c in &chunks {
        match stepwise.begin("s", c).unwrap() {
            Begun::Done(r) => one_by_one.push(*r),
            Begun::Pending(p) => {
                pending = Some(*p);
                break;
            }
        }
    }
    let batched = open();
    assert!(chunks.len() >= PIPELINE_MIN_CHUNKS);
    let batch = batched.process_batch("s", &chunks).unwrap();
    assert_eq!(batch.results.len(), 150);
    assert_eq!(one_by_one.len(), 150);
    // Step ids differ between engines in their prefix only: the step counters match.
    let seq = |id: &str| id[id.len() - 10..].to_string();
    for (a, b) in one_by_one.iter().zip(&batch.results) {
        assert_eq!(seq(&a.action_id), seq(&b.action_id));
        assert_eq!(a.action.action_type, b.action.action_type);
        assert_eq!(a.action.parameters, b.action.parameters);
        assert_eq!(a.entities.len(), b.entities.len());
        assert_eq!(a.verification.decision, b.verification.decision);
        assert_eq!(a.observation.success, b.observation.success);
    }
    let (p, q) = (pending.unwrap(), batch.pending.unwrap());
    assert_eq!(p.action.action_type, "call");
    assert_eq!(seq(&p.action_id), seq(&q.action_id));
    // Chunks after the handler step were perceived ahead but never reached the graph.
    let (x, y) = (stepwise.stats().unwrap(), batched.stats().unwrap());
    assert_eq!(x.total_entities, y.total_entities);
    assert_eq!(x.total_relations, y.total_relations);
    assert_eq!(x.total_actions, y.total_actions);
    assert_eq!(x.denied_actions, y.denied_actions);
    assert!(y.denied_actions > 0);
    let (hx, hy) = (
        stepwise.history("s").unwrap(),
        batched.history("s").unwrap(),
    );
    assert_eq!(
        hx.iter().map(|h| (&h.action, &h.input)).collect::<Vec<_>>(),
        hy.iter().map(|h| (&h.action, &h.input)).collect::<Vec<_>>()
    );
}

#[test]
fn journal_rows_survive_a_drop_without_close() {
    let dir = std::env::temp_dir().join(format!(
        "la-journal-drop-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.db");
    let open = || {
        Engine::open(SystemConfig {
            path: path.to_string_lossy().into_owned(),
            seed: Some(7),
            ..SystemConfig::default()
        })
        .unwrap()
    };
    {
        let e = open();
        e.register_action(action("note", &["note"], false)).unwrap();
        e.create_session("s", SessionContext::default()).unwrap();
        let chunks: Vec<String> = (0..700).map(|i| format!("note {i}")).collect();
        // 700 rows: one group handed to the writer thread, 188 still buffered at the drop.
        assert_eq!(e.process_batch("s", &chunks).unwrap().results.len(), 700);
    }
    let e = open();
    assert_eq!(e.journal_count().unwrap(), 700);
    e.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn graph_facts_in_preconditions_follow_the_graph_and_expire() {
    // Facts of the knowledge graph reach preconditions as soon as the graph has them (no
    // proveTheorem call needed), and a relation known only through a temporal fact stops
    // holding when its validity ends.
    let e = engine();
    let mut board = action("board", &["board"], false);
    board.preconditions = vec![r#"ceo_of("person:ada_lovelace", "organization:acme_corp")"#.into()];
    e.register_action(board).unwrap();
    let mut hire = action("hire", &["hire"], false);
    hire.preconditions =
        vec![r#"works_at("person:ada_lovelace", "organization:acme_corp")"#.into()];
    e.register_action(hire).unwrap();
    e.create_session("s", SessionContext::default()).unwrap();
    let check = |name: &str| {
        e.verify_action(
            &ActionCheck {
                name: name.into(),
                ..ActionCheck::default()
            },
            &CheckContext {
                session_id: Some("s".into()),
                ..CheckContext::default()
            },
        )
        .unwrap()
        .decision
    };
    assert_eq!(check("hire"), Verdict::Deny, "nothing in the graph yet");
    e.begin("s", "Ada Lovelace works at Acme Corp.").unwrap();
    assert_eq!(check("hire"), Verdict::Skipped, "proved from the graph");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let graph = e.graph().unwrap();
    graph
        .add_fact(
            "person:ada_lovelace",
            "ceo_of",
            "organization:acme_corp",
            Some(now - 1000),
            Some(now + 400),
        )
        .unwrap();
    assert_eq!(check("board"), Verdict::Skipped, "valid now");
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(
        check("board"),
        Verdict::Deny,
        "the fact expired and was retracted"
    );
    assert_eq!(check("hire"), Verdict::Skipped, "untimed relations stay");
}

#[test]
fn rank_is_the_next_steps_distribution_and_changes_nothing() {
    let e = engine();
    e.register_action(action("read_file", &["file", "read"], false))
        .unwrap();
    e.register_action(action("delete_file", &["file", "delete"], false))
        .unwrap();
    e.load_policies(
        r#"@id("all") permit(principal, action, resource);
           @id("no-delete") forbid(principal, action == Action::"delete_file", resource);"#,
        None,
    )
    .unwrap();
    e.create_session("s", SessionContext::default()).unwrap();
    let chunk = "read or delete the file notes.txt";
    let before = e.stats().unwrap();
    let r = e.rank("s", chunk).unwrap();
    assert!(r.masked);
    assert_eq!(r.candidates.len(), 2);
    let total: f64 = r.candidates.iter().map(|c| c.probability).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    let delete = r
        .candidates
        .iter()
        .find(|c| c.action == "delete_file")
        .unwrap();
    assert_eq!(delete.decision, Verdict::Deny);
    let after = e.stats().unwrap();
    assert_eq!(after.total_actions, before.total_actions);
    assert_eq!(after.learning_iterations, before.learning_iterations);
    assert_eq!(after.total_entities, before.total_entities);
    assert_eq!(e.journal_count().unwrap(), 0);
    // The step draws from the ranked distribution.
    let Begun::Done(step) = e.begin("s", chunk).unwrap() else {
        panic!("built-in actions finish natively")
    };
    let ranked = r
        .candidates
        .iter()
        .find(|c| c.action == step.action.action_type)
        .unwrap();
    assert!((ranked.probability - step.propensity).abs() < 1e-9);
    assert_eq!(ranked.decision, step.verification.decision);
    assert_eq!(
        e.rank("nobody", chunk).unwrap_err().code,
        ErrorCode::UnknownSession
    );
    assert_eq!(e.rank("s", "").unwrap_err().code, ErrorCode::EmptyChunk);
}

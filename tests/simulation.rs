//! Engine-level simulations (no Node): conversations, knowledge accumulation, streaming,
//! concurrency, learning, graph scale, adaptation and memory. Every scenario asserts what the
//! engine did, with sizes that keep the whole file well under a minute in a debug build.
//!
//! Run with `cargo test --test simulation`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use lean_agentic_native::agent::{ActionSpec, HandlerOutcome, SessionContext};
use lean_agentic_native::knowledge::{Entity, EntityQuery, EntityType};
use lean_agentic_native::system::{Begun, Engine, StepResult, SystemConfig, Verdict};
use lean_agentic_native::ErrorCode;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn config(seed: u64) -> SystemConfig {
    SystemConfig {
        path: ":memory:".into(),
        seed: Some(seed),
        ..SystemConfig::default()
    }
}

fn engine(seed: u64) -> Engine {
    Engine::open(config(seed)).expect("open an in-memory engine")
}

fn action(name: &str, description: &str, keywords: &[&str], handler: bool) -> ActionSpec {
    ActionSpec {
        name: name.into(),
        description: description.into(),
        keywords: keywords.iter().map(|s| s.to_string()).collect(),
        tool_calls: vec![format!("{name}.call")],
        preconditions: vec![],
        effects: vec![],
        expected_reward: None,
        has_handler: handler,
        timeout_ms: None,
    }
}

/// Runs a chunk whose chosen action has no handler: it must finish natively.
fn run_builtin(e: &Engine, session: &str, chunk: &str) -> StepResult {
    match e.begin(session, chunk).expect("begin") {
        Begun::Done(r) => *r,
        Begun::Pending(p) => panic!(
            "{chunk:?}: a built-in action finishes natively, got a pending {}",
            p.action.action_type
        ),
    }
}

/// Runs a chunk whose candidates all have handlers; `judge(action, chunk)` is the handler's
/// success. Returns the finished step.
fn run_handled(
    e: &Engine,
    session: &str,
    chunk: &str,
    judge: impl Fn(&str, &str) -> bool,
) -> StepResult {
    match e.begin(session, chunk).expect("begin") {
        Begun::Pending(p) => {
            assert_eq!(p.action.parameters["text"], json!(chunk));
            let success = judge(&p.action.action_type, chunk);
            e.complete(
                &p.action_id,
                HandlerOutcome {
                    success,
                    result: json!({ "handledBy": p.action.action_type }),
                    ..HandlerOutcome::default()
                },
            )
            .expect("complete")
        }
        Begun::Done(r) => panic!(
            "{chunk:?}: every candidate has a handler, but the step finished natively as {}",
            r.action.action_type
        ),
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn ids_of_type(r: &StepResult, ty: &str) -> Vec<String> {
    r.entities
        .iter()
        .filter(|e| e.entity_type.as_str() == ty)
        .map(|e| e.name.clone())
        .collect()
}

fn query(ty: Option<&str>, prefix: Option<&str>, limit: usize) -> EntityQuery {
    EntityQuery {
        entity_type: ty.map(str::to_string),
        prefix: prefix.map(str::to_string),
        limit,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. A multi-turn travel conversation: intents pick the action, places are extracted and typed
// ---------------------------------------------------------------------------------------------

#[test]
fn weather_conversation_picks_intent_actions_and_extracts_places() {
    let e = engine(11);
    e.register_action(action(
        "get_weather",
        "Look up the weather forecast",
        &["weather", "forecast"],
        false,
    ))
    .unwrap();
    e.register_action(action(
        "search_flights",
        "Search airline flights",
        &["flights", "flight"],
        false,
    ))
    .unwrap();
    e.register_action(action(
        "small_talk",
        "Chat politely",
        &["hello", "thanks"],
        false,
    ))
    .unwrap();
    e.create_session("traveller", SessionContext::default())
        .unwrap();

    // (chunk, expected action, expected places in order)
    let turns: &[(&str, &str, &[&str])] = &[
        ("Hello! I am planning a trip.", "small_talk", &[]),
        (
            "What is the weather in Tokyo tomorrow?",
            "get_weather",
            &["Tokyo"],
        ),
        (
            "Find flights from Paris to Tokyo next Monday",
            "search_flights",
            &["Paris", "Tokyo"],
        ),
        ("And the forecast for Paris?", "get_weather", &["Paris"]),
        (
            "Is there a cheaper flight to Berlin?",
            "search_flights",
            &["Berlin"],
        ),
        ("Great, thanks a lot", "small_talk", &[]),
    ];
    let mut seen_ids = HashSet::new();
    for (chunk, want_action, want_places) in turns {
        let r = run_builtin(&e, "traveller", chunk);
        assert_eq!(r.action.action_type, *want_action, "{chunk:?}");
        assert_eq!(r.plan, vec![want_action.to_string()], "{chunk:?}");
        assert_eq!(r.action.tool_calls, vec![format!("{want_action}.call")]);
        assert!(
            r.observation.success,
            "{chunk:?}: relevant built-in succeeds"
        );
        // The built-in executor's reward is the relevance, minus a latency penalty of at most
        // 0.2 × latency/timeout (negligible here).
        let relevance = r.observation.result["relevance"]
            .as_f64()
            .expect("relevance");
        assert!(
            relevance > 0.0 && relevance <= 1.0,
            "{chunk:?}: {relevance}"
        );
        assert!(
            (r.reward - relevance).abs() < 1e-3,
            "{chunk:?}: reward {} for relevance {relevance}",
            r.reward
        );
        assert_eq!(r.observation.result["handledBy"], json!("builtin"));
        assert!(r.learned);
        // Only one action is relevant to each turn: it is chosen with certainty.
        assert_eq!(r.propensity, 1.0, "{chunk:?}");
        assert!(!r.explored);
        // No policies are loaded: the verifier says so instead of faking a pass.
        assert_eq!(r.verification.decision, Verdict::Skipped);
        assert!(!r.verified);
        // Places: typed `Place`, with stable ids, also grouped in the parameters.
        let places = ids_of_type(&r, "Place");
        assert_eq!(places, want_places.to_vec(), "{chunk:?}: {:?}", r.entities);
        for e in r
            .entities
            .iter()
            .filter(|e| e.entity_type == EntityType::Place)
        {
            assert_eq!(e.id, format!("place:{}", e.name.to_lowercase()));
            assert_eq!(&chunk[e.start..e.end], e.name);
        }
        let grouped = r.action.parameters["entities"]["Place"].clone();
        if want_places.is_empty() {
            assert!(grouped.is_null(), "{chunk:?}: {grouped}");
        } else {
            assert_eq!(grouped, json!(want_places), "{chunk:?}");
        }
        assert_eq!(r.action.parameters["text"], json!(chunk));
        assert!(
            seen_ids.insert(r.action_id.clone()),
            "action ids are unique"
        );
    }
    // The weather turn also found the date.
    let r = run_builtin(&e, "traveller", "Weather in Tokyo tomorrow please");
    assert_eq!(r.action.action_type, "get_weather");
    assert_eq!(ids_of_type(&r, "DateTime"), vec!["tomorrow".to_string()]);

    // The session's history is the conversation, in order.
    let history = e.history("traveller").unwrap();
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    let mut want: Vec<&str> = turns.iter().map(|t| t.1).collect();
    want.push("get_weather");
    assert_eq!(actions, want);
    assert_eq!(history[1].input, turns[1].0);
    assert!(history.iter().all(|h| h.success));

    // The same city in different turns is one node, mentioned every time.
    let g = e.graph().unwrap();
    let tokyo = g.entity("place:tokyo").expect("Tokyo is in the graph");
    assert_eq!(tokyo.entity_type, EntityType::Place);
    assert_eq!(tokyo.name, "Tokyo");
    assert_eq!(tokyo.mentions, 3);
    assert_eq!(g.entity("place:paris").unwrap().mentions, 2);
    let stats = e.stats().unwrap();
    assert_eq!(stats.total_actions, 7);
    assert_eq!(stats.successful_actions, 7);
    assert_eq!(stats.learning_iterations, 7);
    assert_eq!(stats.sessions, 1);
    e.close().unwrap();
    assert_eq!(e.stats().unwrap_err().code, ErrorCode::Closed);
}

// ---------------------------------------------------------------------------------------------
// 2. Knowledge accumulates across a conversation: typed entities, typed relations, paths
// ---------------------------------------------------------------------------------------------

#[test]
fn knowledge_accumulates_entities_and_typed_relations() {
    let e = engine(12);
    e.register_action(action("note", "Take a note", &["note"], false))
        .unwrap();
    e.create_session("kb", SessionContext::default()).unwrap();
    let chunks = [
        "Ada Lovelace works at Google.",
        "Google is based in London.",
        "Marie Curie lives in Paris.",
        "Paris is the capital of France.",
        "Ada Lovelace visited Paris.",
        "Alice Johnson joined Microsoft since 2019.",
        "Tokyo is in Japan.",
        "Satya Nadella visited Berlin.",
        "Ada Lovelace is a mathematician.",
    ];
    for c in chunks {
        run_builtin(&e, "kb", c);
    }
    let g = e.graph().unwrap();

    // Typed entities.
    let people: BTreeMap<String, String> = g
        .entities(&query(Some("Person"), None, 100))
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    for (id, name) in [
        ("person:ada_lovelace", "Ada Lovelace"),
        ("person:marie_curie", "Marie Curie"),
        ("person:alice_johnson", "Alice Johnson"),
        ("person:satya_nadella", "Satya Nadella"),
    ] {
        assert_eq!(people.get(id).map(String::as_str), Some(name), "{people:?}");
    }
    assert_eq!(people.len(), 4, "{people:?}");
    let places: HashSet<String> = g
        .entities(&query(Some("place"), None, 100))
        .into_iter()
        .map(|r| r.id)
        .collect();
    for id in [
        "place:paris",
        "place:london",
        "place:france",
        "place:tokyo",
        "place:japan",
        "place:berlin",
    ] {
        assert!(places.contains(id), "{id} in {places:?}");
    }
    let orgs: HashSet<String> = g
        .entities(&query(Some("Organization"), None, 100))
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        orgs,
        HashSet::from([
            "organization:google".to_string(),
            "organization:microsoft".to_string()
        ])
    );
    // Prefix queries, by name and by `type:name`.
    let pa: Vec<String> = g
        .entities(&query(None, Some("pa"), 10))
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(pa, vec!["place:paris".to_string()]);
    let ada = g.entities(&query(None, Some("person:ada"), 10));
    assert_eq!(ada.len(), 1);
    assert_eq!(ada[0].id, "person:ada_lovelace");
    assert_eq!(ada[0].mentions, 3);

    // Typed relations, in the right direction.
    let works = g
        .related("person:ada_lovelace", 1, Some("works_at"))
        .unwrap();
    assert_eq!(works.len(), 1, "{works:?}");
    assert_eq!(works[0].id, "organization:google");
    assert_eq!(works[0].entity_type, EntityType::Organization);
    assert_eq!(works[0].direction, "out");
    let employees = g
        .related("organization:google", 1, Some("works_at"))
        .unwrap();
    assert_eq!(employees[0].id, "person:ada_lovelace");
    assert_eq!(employees[0].direction, "in");
    let located = g
        .related("organization:google", 1, Some("located_in"))
        .unwrap();
    assert_eq!(
        located.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["place:london"]
    );
    let lives = g
        .related("person:marie_curie", 1, Some("lives_in"))
        .unwrap();
    assert_eq!(lives[0].id, "place:paris");
    let capital = g.related("place:paris", 1, Some("located_in")).unwrap();
    assert_eq!(
        capital.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["place:france"]
    );
    let visited = g
        .related("person:satya_nadella", 1, Some("visited"))
        .unwrap();
    assert_eq!(visited[0].id, "place:berlin");
    let is_a = g.related("person:ada_lovelace", 1, Some("is_a")).unwrap();
    assert_eq!(is_a[0].id, "concept:mathematician");
    assert_eq!(is_a[0].entity_type, EntityType::Concept);
    let joined = g
        .related("person:alice_johnson", 1, Some("works_at"))
        .unwrap();
    assert_eq!(joined[0].id, "organization:microsoft");
    // Two hops along any relation: Ada → Google → London.
    let two = g.related("person:ada_lovelace", 2, None).unwrap();
    let london = two
        .iter()
        .find(|r| r.id == "place:london")
        .expect("London within 2 hops");
    assert_eq!(london.depth, 2);
    assert_eq!(london.via, "organization:google");

    // Paths through the accumulated graph.
    assert_eq!(
        g.path("person:ada_lovelace", "place:france").unwrap(),
        Some(vec![
            "person:ada_lovelace".to_string(),
            "place:paris".to_string(),
            "place:france".to_string()
        ])
    );
    assert_eq!(
        g.path("person:marie_curie", "place:london")
            .unwrap()
            .map(|p| p.len()),
        Some(5),
        "Curie → Paris → Ada → Google → London"
    );
    assert_eq!(g.path("place:tokyo", "place:france").unwrap(), None);
    assert_eq!(
        g.path("place:tokyo", "place:nowhere").unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        g.related("person:nobody", 1, None).unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        g.related("place:tokyo", 0, None).unwrap_err().code,
        ErrorCode::InvalidInput
    );

    // The dated relation became a temporal fact.
    let facts = g.facts_at(1_700_000_000_000); // Nov 2023
    let fact = facts
        .iter()
        .find(|f| f.subject == "person:alice_johnson")
        .expect("a fact from 'since 2019'");
    assert_eq!(fact.relation, "works_at");
    assert_eq!(fact.object, "organization:microsoft");
    assert!(g
        .facts_at(1_500_000_000_000)
        .iter()
        .all(|f| f.subject != "person:alice_johnson"));

    let stats = e.stats().unwrap();
    let gs = g.stats();
    assert_eq!(stats.total_entities, gs.entities as u64);
    assert_eq!(stats.total_relations, gs.relations as u64);
    assert!(gs.relations >= 9, "{gs:?}");
    assert_eq!(gs.by_type.get("Person"), Some(&4));
    e.close().unwrap();
}

// ---------------------------------------------------------------------------------------------
// 3. High-frequency streaming: 10,000 messages through process_batch, in order, none lost
// ---------------------------------------------------------------------------------------------

#[test]
fn streaming_ten_thousand_messages_in_order() {
    const N: usize = 10_000;
    const BATCH: usize = 500;
    let e = engine(13);
    e.register_action(action(
        "ingest",
        "Ingest a sensor reading",
        &["reading"],
        false,
    ))
    .unwrap();
    e.register_action(action("alert", "Raise an alert", &["alert"], false))
        .unwrap();
    e.create_session("stream", SessionContext::default())
        .unwrap();
    let chunks: Vec<String> = (0..N)
        .map(|i| {
            if i % 10 == 0 {
                format!("alert from sensor {i}")
            } else {
                format!("reading {i} from sensor")
            }
        })
        .collect();
    let mut results: Vec<StepResult> = Vec::with_capacity(N);
    for batch in chunks.chunks(BATCH) {
        let progress = e.process_batch("stream", batch).unwrap();
        assert!(progress.pending.is_none(), "no action has a handler");
        assert_eq!(progress.results.len(), batch.len());
        results.extend(progress.results);
    }
    assert_eq!(results.len(), N);
    let mut last_id = String::new();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(
            r.action.parameters["text"],
            json!(chunks[i]),
            "result {i} is chunk {i}"
        );
        let want = if i % 10 == 0 { "alert" } else { "ingest" };
        assert_eq!(r.action.action_type, want, "chunk {i}");
        assert!(r.observation.success);
        // Step ids sort in step order.
        assert!(
            r.action_id > last_id,
            "action ids increase with input order"
        );
        last_id = r.action_id.clone();
    }
    let stats = e.stats().unwrap();
    assert_eq!(stats.total_actions, N as u64);
    assert_eq!(stats.successful_actions, N as u64);
    assert_eq!(stats.learning_iterations, N as u64);
    e.flush().unwrap();
    assert_eq!(e.journal_count().unwrap(), N as u64);
    // The history window keeps the latest steps, oldest first.
    let h = e.history("stream").unwrap();
    assert_eq!(h.len(), 20);
    assert_eq!(h.last().unwrap().input, chunks[N - 1]);
    assert_eq!(h[0].input, chunks[N - 20]);
    // A bad chunk anywhere rejects the whole batch up front, naming its index.
    let err = e
        .process_batch("stream", &["reading 1", "  ", "reading 2"])
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::EmptyChunk);
    assert!(err.message.contains("chunk 1"), "{}", err.message);
    assert_eq!(
        e.stats().unwrap().total_actions,
        N as u64,
        "nothing of it ran"
    );
    e.close().unwrap();
    assert_eq!(e.journal_count().unwrap_err().code, ErrorCode::Closed);
}

// ---------------------------------------------------------------------------------------------
// 4. 100 concurrent sessions on threads: no cross-talk
// ---------------------------------------------------------------------------------------------

#[test]
fn hundred_concurrent_sessions_do_not_cross_talk() {
    const SESSIONS: usize = 100;
    const STEPS: usize = 15;
    let e = Arc::new(engine(14));
    e.register_action(action(
        "get_weather",
        "Look up the weather",
        &["weather"],
        false,
    ))
    .unwrap();
    e.register_action(action(
        "search_flights",
        "Search flights",
        &["flights"],
        true,
    ))
    .unwrap();
    std::thread::scope(|scope| {
        for s in 0..SESSIONS {
            let e = Arc::clone(&e);
            scope.spawn(move || {
                let id = format!("user-{s}");
                e.create_session(
                    &id,
                    SessionContext {
                        preferences: serde_json::from_value(json!({ "user": id })).unwrap(),
                        ..SessionContext::default()
                    },
                )
                .unwrap();
                for k in 0..STEPS {
                    // Half the steps go through a handler (begin + complete), half natively.
                    if k % 2 == 0 {
                        let chunk = format!("weather for user-{s} step {k}");
                        let r = run_builtin(&e, &id, &chunk);
                        assert_eq!(r.session_id, id);
                        assert_eq!(r.action.parameters["text"], json!(chunk));
                    } else {
                        let chunk = format!("flights for user-{s} step {k}");
                        let r = run_handled(&e, &id, &chunk, |_, _| true);
                        assert_eq!(r.session_id, id);
                        assert_eq!(r.action.action_type, "search_flights");
                    }
                }
            });
        }
    });
    let mut all_steps = HashSet::new();
    for s in 0..SESSIONS {
        let id = format!("user-{s}");
        let h = e.history(&id).unwrap();
        assert_eq!(h.len(), STEPS, "{id}");
        for (k, entry) in h.iter().enumerate() {
            let kind = if k % 2 == 0 { "weather" } else { "flights" };
            assert_eq!(entry.input, format!("{kind} for user-{s} step {k}"), "{id}");
            let want = if k % 2 == 0 {
                "get_weather"
            } else {
                "search_flights"
            };
            assert_eq!(entry.action, want);
            assert!(entry.success);
            assert!(
                all_steps.insert(entry.step_id.clone()),
                "step ids are unique"
            );
        }
    }
    let stats = e.stats().unwrap();
    assert_eq!(stats.sessions, SESSIONS as u64);
    assert_eq!(stats.total_actions, (SESSIONS * STEPS) as u64);
    assert_eq!(stats.successful_actions, (SESSIONS * STEPS) as u64);
    e.flush().unwrap();
    assert_eq!(e.journal_count().unwrap(), (SESSIONS * STEPS) as u64);
    e.close().unwrap();
}

// ---------------------------------------------------------------------------------------------
// 5. Learning convergence against a reward that depends on the action and the chunk's intent
// ---------------------------------------------------------------------------------------------

const CITIES: [&str; 7] = ["Tokyo", "Paris", "Berlin", "Lima", "Cairo", "Oslo", "Rome"];
const DAYS: [&str; 4] = ["today", "tomorrow", "on Monday", "next week"];
/// (intent word in the chunk, the one action that serves it)
const INTENTS: [(&str, &str); 6] = [
    ("weather", "get_weather"),
    ("flights", "search_flights"),
    ("hotels", "book_hotel"),
    ("restaurants", "find_restaurant"),
    ("trains", "train_times"),
    ("museums", "museum_info"),
];

/// A travel request; returns the chunk and the index of its intent.
fn travel_chunk(i: usize, seed: usize) -> (String, usize) {
    // A fixed pseudo-random, roughly uniform sequence of intents.
    let intent = ((i as u64 * 2_654_435_761 + seed as u64 * 97) >> 7) as usize % INTENTS.len();
    let city = CITIES[(i * 5 + seed) % CITIES.len()];
    let day = DAYS[(i / 3) % DAYS.len()];
    (
        format!("Please help with {} in {city} {day}", INTENTS[intent].0),
        intent,
    )
}

/// Six services that all fit every travel request (same keywords); each succeeds only for
/// its own intent, so the learner must learn the mapping from outcomes.
fn register_travel_services(e: &Engine) {
    for (_, name) in INTENTS {
        e.register_action(action(
            name,
            "Answers a travel request",
            &["help", "please"],
            true,
        ))
        .unwrap();
    }
}

fn travel_judge(action: &str, chunk: &str) -> bool {
    INTENTS
        .iter()
        .any(|(word, name)| *name == action && chunk.contains(word))
}

#[test]
fn learning_converges_on_an_intent_dependent_reward() {
    const STEPS: usize = 800;
    for seed in [1u64, 2] {
        let e = engine(seed);
        register_travel_services(&e);
        e.create_session("learner", SessionContext::default())
            .unwrap();
        let mut rewards = Vec::with_capacity(STEPS);
        let mut explored = 0;
        let mut chosen_per_intent = [[0usize; 6]; 6];
        for i in 0..STEPS {
            let (chunk, intent) = travel_chunk(i, seed as usize);
            let r = run_handled(&e, "learner", &chunk, travel_judge);
            assert!(r.propensity > 0.0 && r.propensity <= 1.0);
            assert!(r.learned);
            assert_eq!(r.plan.len(), 1);
            // The reward is the outcome's (±1 minus a tiny latency penalty), not a constant.
            let right = r.action.action_type == INTENTS[intent].1;
            assert_eq!(r.observation.success, right);
            if right {
                assert!(r.reward > 0.9, "{}", r.reward);
            } else {
                assert!(r.reward < -0.9, "{}", r.reward);
            }
            explored += usize::from(r.explored);
            if i >= STEPS - 200 {
                let a = INTENTS
                    .iter()
                    .position(|x| x.1 == r.action.action_type)
                    .unwrap();
                chosen_per_intent[intent][a] += 1;
            }
            rewards.push(r.reward);
        }
        let first = mean(&rewards[..50]);
        let last = mean(&rewards[STEPS - 200..]);
        println!(
            "seed {seed}: mean reward first 50 {first:.3}, last 200 {last:.3}, explored {explored}, late choices per intent {chosen_per_intent:?}"
        );
        assert!(
            last >= first + 0.8 && last >= 0.6,
            "seed {seed}: mean reward rose from {first:.3} (first 50) to {last:.3} (last 200)"
        );
        // Late on, every intent is mostly served by its own action.
        for (intent, row) in chosen_per_intent.iter().enumerate() {
            let total: usize = row.iter().sum();
            assert!(
                total > 0 && row[intent] * 10 >= total * 7,
                "seed {seed}: intent {} served by {:?}",
                INTENTS[intent].0,
                row
            );
        }
        // Exploration keeps happening at roughly the configured rate (ε = 0.02 over 6
        // actions: about 13 of 800 steps).
        assert!(explored > 3 && explored < STEPS / 10, "explored {explored}");
        let stats = e.stats().unwrap();
        assert_eq!(stats.learning_iterations, STEPS as u64);
        assert_eq!(stats.total_actions, STEPS as u64);
        e.close().unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Knowledge-graph scaling: 100,000 entities through the graph API, then exact queries
// ---------------------------------------------------------------------------------------------

#[test]
fn knowledge_graph_scales_to_100k_entities() {
    const N: usize = 100_000;
    const PER_CHUNK: usize = 10;
    let e = engine(15);
    let g = e.graph().unwrap();
    let type_of = |i: usize| match i % 4 {
        0 => EntityType::Person,
        1 => EntityType::Place,
        2 => EntityType::Organization,
        _ => EntityType::Custom("Product".into()),
    };
    let mut new_total = 0;
    for chunk_start in (0..N).step_by(PER_CHUNK) {
        let mut text = String::new();
        let mut ents = Vec::with_capacity(PER_CHUNK);
        for i in chunk_start..chunk_start + PER_CHUNK {
            if !text.is_empty() {
                text.push_str(", ");
            }
            let name = format!("Widget{i:06}");
            let start = text.len();
            text.push_str(&name);
            ents.push(Entity::new(&name, type_of(i), start, text.len(), 0.9));
        }
        let report = g
            .ingest(&text, &ents, 1_700_000_000_000 + chunk_start as i64)
            .unwrap();
        new_total += report.new_entities;
    }
    assert_eq!(new_total, N);
    let stats = g.stats();
    assert_eq!(stats.entities, N);
    for ty in ["Person", "Place", "Organization", "Product"] {
        assert_eq!(
            stats.by_type.get(ty),
            Some(&(N / 4)),
            "{ty}: {:?}",
            stats.by_type
        );
    }
    assert_eq!(e.stats().unwrap().total_entities, N as u64);

    // Prefix: exactly the 100 names Widget000100..Widget000199, in name order.
    let hits = g.entities(&query(None, Some("Widget0001"), 1000));
    assert_eq!(hits.len(), 100);
    for (k, r) in hits.iter().enumerate() {
        assert_eq!(r.name, format!("Widget{:06}", 100 + k));
        assert_eq!(r.entity_type, type_of(100 + k));
        assert_eq!(r.mentions, 1);
    }
    // Prefix and type together.
    let places = g.entities(&query(Some("place"), Some("widget0001"), 1000));
    assert_eq!(places.len(), 25);
    assert!(places
        .iter()
        .all(|r| r.entity_type == EntityType::Place && r.id.starts_with("place:widget0001")));
    // (Custom type names match in any case: see `custom_types_match_in_any_case`.)
    let typed_prefix = g.entities(&query(None, Some("Product:widget00012"), 1000));
    let names: Vec<&str> = typed_prefix.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Widget000123", "Widget000127"]);
    // Type only, complete: every product, nothing else.
    let products = g.entities(&query(Some("Product"), None, N));
    assert_eq!(products.len(), N / 4);
    assert!(products
        .iter()
        .all(|r| r.entity_type == EntityType::Custom("Product".into())));
    // Limits hold.
    assert_eq!(g.entities(&query(Some("Person"), None, 7)).len(), 7);
    assert_eq!(g.entities(&query(None, Some("widget"), 50)).len(), 50);
    // No false hits.
    assert!(g.entities(&query(None, Some("Widget1"), 10)).is_empty());
    assert!(g.entities(&query(Some("Event"), None, 10)).is_empty());
    // Lookups and co-occurrence edges inside a chunk (not across chunks).
    let rec = g.entity("product:widget099999").unwrap();
    assert_eq!(rec.name, "Widget099999");
    assert!(rec.degree >= 1);
    let p = g
        .path("person:widget000000", "product:widget000003")
        .unwrap();
    assert_eq!(p.map(|p| p.len()), Some(2));
    assert_eq!(
        g.path("person:widget000000", "person:widget000020")
            .unwrap(),
        None
    );
    e.close().unwrap();
}

// ---------------------------------------------------------------------------------------------
// 7. Adaptation: the best action changes mid-stream and the learner recovers
// ---------------------------------------------------------------------------------------------

#[test]
fn learner_recovers_after_a_context_switch() {
    const BEFORE: usize = 300;
    const AFTER: usize = 400;
    let cfg = SystemConfig {
        learner: Some(json!({
            "exploration": { "strategy": "epsilonGreedy", "epsilon": 0.1 },
            "driftDetection": true,
        })),
        ..config(21)
    };
    let e = Engine::open(cfg).unwrap();
    let kw = ["order", "status"];
    e.register_action(action(
        "primary_api",
        "Check order status via the primary API",
        &kw,
        true,
    ))
    .unwrap();
    e.register_action(action(
        "backup_api",
        "Check order status via the backup API",
        &kw,
        true,
    ))
    .unwrap();
    e.create_session("ops", SessionContext::default()).unwrap();
    let mut success = Vec::with_capacity(BEFORE + AFTER);
    for i in 0..BEFORE + AFTER {
        let good = if i < BEFORE {
            "primary_api"
        } else {
            "backup_api"
        };
        let chunk = format!(
            "What is the status of order {}?",
            ["A", "B", "C", "D"][i % 4]
        );
        let r = run_handled(&e, "ops", &chunk, |a, _| a == good);
        success.push(f64::from(u8::from(r.observation.success)));
    }
    let before_end = mean(&success[BEFORE - 100..BEFORE]);
    let just_after = mean(&success[BEFORE..BEFORE + 20]);
    let failures_after = success[BEFORE..].iter().filter(|s| **s == 0.0).count();
    let recovered = mean(&success[BEFORE + AFTER - 150..]);
    assert!(
        before_end >= 0.85,
        "learned the first world: {before_end:.3}"
    );
    // The switch is real: the formerly best action is chosen and fails right after it.
    assert_eq!(
        success[BEFORE], 0.0,
        "the first step after the switch fails"
    );
    assert!(
        failures_after >= 2,
        "failures after the switch: {failures_after}"
    );
    println!(
        "switch: success before {before_end:.3}, first 20 after {just_after:.3}, last 150 {recovered:.3}"
    );
    assert!(
        recovered >= 0.8,
        "recovered after the switch: last 150 success {recovered:.3} (before {before_end:.3}, just after {just_after:.3})"
    );
    e.close().unwrap();
}

// ---------------------------------------------------------------------------------------------
// 8. Memory: RSS growth per 10,000 messages is bounded and levels off
// ---------------------------------------------------------------------------------------------

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kb * 1024
}

/// The measurement itself. It runs in a child process (see `memory_growth_is_bounded`) so the
/// other tests of this file, running on parallel threads, do not disturb the RSS readings.
#[test]
#[ignore = "run by memory_growth_is_bounded in a child process"]
fn memory_growth_child() {
    const ROUND: usize = 10_000;
    const BATCH: usize = 1_000;
    let dir = std::env::temp_dir().join(format!("la-sim-mem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A file-backed store: the journal goes to disk, so what stays in memory is the engine's.
    let e = Engine::open(SystemConfig {
        path: dir.join("store.db").to_string_lossy().into_owned(),
        seed: Some(31),
        ..SystemConfig::default()
    })
    .unwrap();
    e.register_action(action(
        "get_weather",
        "Look up the weather",
        &["weather"],
        false,
    ))
    .unwrap();
    e.register_action(action(
        "search_flights",
        "Search flights",
        &["flights"],
        false,
    ))
    .unwrap();
    e.create_session("mem", SessionContext::default()).unwrap();
    // A bounded vocabulary: after warm-up the graph stops growing.
    let cities = [
        "Tokyo", "Paris", "Berlin", "Lima", "Cairo", "Oslo", "Rome", "Madrid",
    ];
    let days = ["today", "tomorrow", "on Monday", "on Friday"];
    let chunk = |i: usize| {
        let city = cities[i % cities.len()];
        let day = days[(i / cities.len()) % days.len()];
        if i.is_multiple_of(3) {
            format!("Find flights to {city} {day}")
        } else {
            format!("What is the weather in {city} {day}?")
        }
    };
    let mut next = 0usize;
    let mut run_round = |e: &Engine| {
        for _ in 0..ROUND / BATCH {
            let batch: Vec<String> = (next..next + BATCH).map(chunk).collect();
            next += BATCH;
            let p = e.process_batch("mem", &batch).unwrap();
            assert_eq!(p.results.len(), BATCH);
        }
        e.flush().unwrap();
    };
    // Warm-up: fills the feedback window (10,000 steps), the graph and the allocator's pools.
    run_round(&e);
    let entities_after_warmup = e.stats().unwrap().total_entities;
    let mut readings = vec![rss_bytes()];
    for _ in 0..3 {
        run_round(&e);
        readings.push(rss_bytes());
    }
    let growth: Vec<i64> = readings
        .windows(2)
        .map(|w| w[1] as i64 - w[0] as i64)
        .collect();
    let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
    println!(
        "RSS after warm-up {:.1} MiB; growth per 10k messages: {:?} MiB",
        mib(readings[0] as i64),
        growth
            .iter()
            .map(|g| format!("{:.2}", mib(*g)))
            .collect::<Vec<_>>()
    );
    let stats = e.stats().unwrap();
    assert_eq!(stats.total_actions, 4 * ROUND as u64);
    assert_eq!(
        stats.total_entities, entities_after_warmup,
        "bounded vocabulary, bounded graph"
    );
    assert_eq!(e.journal_count().unwrap(), 4 * ROUND as u64);
    const LIMIT: i64 = 64 << 20;
    for (round, g) in growth.iter().enumerate() {
        assert!(
            *g < LIMIT,
            "round {round}: RSS grew {:.1} MiB per 10k messages",
            mib(*g)
        );
    }
    // No leak: what the engine legitimately keeps is bounded (feedback window, history window,
    // a graph over a fixed vocabulary, a journal buffer flushed to disk), so after warm-up the
    // rounds must not each add a steady amount. Allow 2 MiB per round (≈ 200 bytes per message)
    // for allocator noise: measured totals are about 0–1.5 MiB. (With a `:memory:` store the
    // journal's rows stay in RAM, ≈ 2 MiB per 10k messages — legitimate, hence the file store.)
    const NOISE: i64 = 2 << 20;
    let total = readings[3] as i64 - readings[0] as i64;
    assert!(
        total < 3 * NOISE,
        "RSS kept growing after warm-up: {:.2} MiB over 30k messages ({:?})",
        mib(total),
        growth
    );
    e.close().unwrap();
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn memory_growth_is_bounded() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "memory_growth_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("run the memory child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "memory child failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran the measurement:\n{stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// Known engine bug (reported, not fixed here): custom entity types are matched case-sensitively
// in queries, although `EntityQuery::entity_type` is documented as "any case". Built-in types
// work in any case because `EntityType::parse` maps them to the built-in variant; a custom
// name parses to `Custom("product")`, whose `as_str()` is looked up verbatim in the type
// interner that holds "Product" (src/knowledge/graph.rs, `entities`, the `wanted_type` and
// `type_filter` lookups).
// ---------------------------------------------------------------------------------------------

#[test]
fn custom_types_match_in_any_case() {
    let e = engine(16);
    let g = e.graph().unwrap();
    let text = "Widget Pro";
    let ent = Entity::new(
        text,
        EntityType::Custom("Product".into()),
        0,
        text.len(),
        0.9,
    );
    g.ingest(text, &[ent], 1).unwrap();
    assert_eq!(g.entities(&query(Some("Product"), None, 10)).len(), 1);
    assert_eq!(
        g.entities(&query(Some("product"), None, 10)).len(),
        1,
        "type in lower case"
    );
    assert_eq!(
        g.entities(&query(None, Some("product:widget"), 10)).len(),
        1,
        "id prefix"
    );
}

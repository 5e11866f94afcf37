//! Times `process_batch_json` (the engine plus the result JSON the Node binding hands to JS)
//! with Cedar verification on and off, on one session, without Node, with the policies and
//! entities of `benches/bench.mjs`: the engine's share of the JS-visible batch numbers.
//!
//!     cargo run --release --example verified_batch [-- <messages>]
//!
//! It also times 100 sessions on 4 threads (the libuv pool's size); `LA_HOP_THREADS=1` runs
//! each single-session slice on a new thread, as slices land on any libuv worker in Node.

use std::time::Instant;

use lean_agentic_native::agent::{ActionSpec, SessionContext};
use lean_agentic_native::system::{Engine, ResultDetail, SystemConfig};

const TEXTS: [&str; 6] = [
    "What is the weather in Tokyo on Monday?",
    "Find flights from Paris to Berlin next week",
    "Note that Ada Lovelace works at Acme Corp",
    "Will it rain in London tomorrow afternoon?",
    "Book a table for two in Rome on Friday",
    "Remind me to call Dr. Jane Smith at 3pm",
];

const POLICIES: &str = r#"
@id("weather") permit(principal, action == Action::"get_weather", resource);
@id("flights") permit(principal in Role::"travel", action in Action::"travel_ops", resource);
@id("notes") permit(principal, action == Action::"take_note", resource) when { context.stepIndex >= 0 };
@id("no-suspended") forbid(principal is Agent, action, resource) when { principal.suspended };
"#;

const ENTITIES: &str = r#"[
  { "uid": { "type": "Role", "id": "travel" }, "attrs": {}, "parents": [] },
  { "uid": { "type": "Agent", "id": "bench-agent" }, "attrs": { "suspended": false }, "parents": [{ "type": "Role", "id": "travel" }] },
  { "uid": { "type": "Action", "id": "travel_ops" }, "attrs": {}, "parents": [] },
  { "uid": { "type": "Action", "id": "search_flights" }, "attrs": {}, "parents": [{ "type": "Action", "id": "travel_ops" }] },
  { "uid": { "type": "Action", "id": "book_table" }, "attrs": {}, "parents": [{ "type": "Action", "id": "travel_ops" }] }
]"#;

fn action(name: &str, description: &str, keywords: &[&str]) -> ActionSpec {
    ActionSpec {
        keywords: keywords.iter().map(|s| s.to_string()).collect(),
        ..ActionSpec::named(name, description)
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    // LA_HOP_THREADS=1 runs every slice on a new thread (see BENCHMARKS.md).
    let hop_threads = std::env::var_os("LA_HOP_THREADS").is_some();
    for verification in [true, false] {
        let e = Engine::open(SystemConfig {
            path: ":memory:".into(),
            seed: Some(1),
            enable_formal_verification: verification,
            ..SystemConfig::default()
        })
        .expect("engine");
        e.load_policies(POLICIES, None).expect("policies");
        e.set_entities(ENTITIES).expect("entities");
        e.register_action(action(
            "get_weather",
            "Weather forecast for a city",
            &["weather", "rain"],
        ))
        .expect("action");
        e.register_action(action(
            "search_flights",
            "Search flights",
            &["flights", "flight"],
        ))
        .expect("action");
        e.register_action(action("take_note", "Take a note", &["note", "remind"]))
            .expect("action");
        e.register_action(action(
            "book_table",
            "Book a restaurant table",
            &["book", "table"],
        ))
        .expect("action");
        let ctx: SessionContext =
            serde_json::from_str(r#"{"agentId":"bench-agent"}"#).expect("context");
        e.create_session("s", ctx).expect("session");
        let chunks: Vec<String> = (0..n)
            .map(|i| format!("{} #{i}", TEXTS[i % TEXTS.len()]))
            .collect();
        e.process_batch("s", &chunks[..200]).expect("warm-up");
        if std::env::var_os("SHOW_ONE").is_some() {
            println!(
                "{}",
                e.process_batch_json("s", &chunks[..1], ResultDetail::Full)
                    .expect("one")
            );
        }
        for (detail, name) in [
            (ResultDetail::Full, "full"),
            (ResultDetail::Full, "full"),
            (ResultDetail::Summary, "summary"),
            (ResultDetail::Summary, "summary"),
        ] {
            let t = Instant::now();
            // In slices of 2048, as the Node binding's processBatch pipelines them.
            let mut bytes = 0;
            for slice in chunks.chunks(2048) {
                if hop_threads {
                    // Each slice on a new thread, as slices land on any libuv worker in Node.
                    bytes += std::thread::scope(|sc| {
                        sc.spawn(|| e.process_batch_json("s", slice, detail).expect("batch"))
                            .join()
                            .expect("slice thread")
                            .len()
                    });
                } else {
                    bytes += e
                        .process_batch_json("s", slice, detail)
                        .expect("batch")
                        .len();
                }
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "verification {verification}, detail {name}: engine + result JSON {:.0} msg/s ({:.2} µs/msg, {} bytes/msg)",
                n as f64 / secs,
                secs * 1e6 / n as f64,
                bytes / n
            );
        }
        // 100 sessions of n/100 chunks each, spread over as many threads as Node's libuv pool
        // (4): the shape of the Node benchmark's concurrent-sessions measure.
        let sessions = 100;
        for i in 0..sessions {
            let ctx: SessionContext =
                serde_json::from_str(r#"{"agentId":"bench-agent"}"#).expect("context");
            e.create_session(&format!("c{i}"), ctx).expect("session");
        }
        let per = &chunks[..n / sessions];
        for detail in [ResultDetail::Full, ResultDetail::Summary] {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let t = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..4 {
                    scope.spawn(|| loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= sessions {
                            break;
                        }
                        e.process_batch_json(&format!("c{i}"), per, detail)
                            .expect("batch");
                    });
                }
            });
            let secs = t.elapsed().as_secs_f64();
            println!(
                "verification {verification}, detail {detail:?}, {sessions} sessions on 4 threads: {:.0} msg/s",
                (per.len() * sessions) as f64 / secs
            );
        }
    }
}

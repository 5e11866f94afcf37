//! Criterion groups `agentic_loop`, `end_to_end` and `concurrent_sessions`: the engine's loop
//! measured without Node. Inputs are built outside the timed closures.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lean_agentic_native::agent::{ActionSpec, SessionContext};
use lean_agentic_native::system::{Begun, Engine, SystemConfig};

const TEXTS: [&str; 4] = [
    "What is the weather in Tokyo on Monday?",
    "Find flights from Paris to Berlin next week",
    "Note that Ada Lovelace works at Acme Corp",
    "Will it rain in London tomorrow afternoon?",
];

fn action(name: &str, keywords: &[&str]) -> ActionSpec {
    ActionSpec {
        keywords: keywords.iter().map(|s| s.to_string()).collect(),
        ..ActionSpec::named(name, format!("{name} for the user"))
    }
}

fn engine() -> Arc<Engine> {
    let e = Engine::open(SystemConfig {
        path: ":memory:".into(),
        seed: Some(1),
        ..SystemConfig::default()
    })
    .unwrap();
    e.register_action(action("get_weather", &["weather", "rain"]))
        .unwrap();
    e.register_action(action("search_flights", &["flights", "flight"]))
        .unwrap();
    e.register_action(action("take_note", &["note"])).unwrap();
    Arc::new(e)
}

fn agentic_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("agentic_loop");
    let e = engine();
    e.create_session("s", SessionContext::default()).unwrap();
    let mut i = 0usize;
    g.bench_function("plan_select_execute_learn", |b| {
        b.iter(|| {
            i += 1;
            match e.begin("s", TEXTS[i % TEXTS.len()]).unwrap() {
                Begun::Done(r) => r.reward,
                Begun::Pending(_) => unreachable!("no handlers registered"),
            }
        })
    });
    g.finish();
}

fn end_to_end(c: &mut Criterion) {
    let mut g = c.benchmark_group("end_to_end");
    for n in [10usize, 100, 500] {
        let chunks: Vec<String> = (0..n)
            .map(|i| format!("{} #{i}", TEXTS[i % TEXTS.len()]))
            .collect();
        let e = engine();
        e.create_session("s", SessionContext::default()).unwrap();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &chunks, |b, chunks| {
            b.iter(|| e.process_batch("s", chunks).unwrap().results.len())
        });
    }
    g.finish();
}

fn concurrent_sessions(c: &mut Criterion) {
    let mut g = c.benchmark_group("concurrent_sessions");
    g.sample_size(10);
    let per_session = 100usize;
    for sessions in [1usize, 10, 50, 100] {
        let e = engine();
        let ids: Vec<String> = (0..sessions).map(|i| format!("s{i}")).collect();
        for id in &ids {
            e.create_session(id, SessionContext::default()).unwrap();
        }
        let chunks: Vec<String> = (0..per_session)
            .map(|i| TEXTS[i % TEXTS.len()].to_string())
            .collect();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        g.throughput(Throughput::Elements((sessions * per_session) as u64));
        g.bench_with_input(BenchmarkId::from_parameter(sessions), &sessions, |b, _| {
            b.iter(|| {
                rt.block_on(async {
                    let tasks: Vec<_> = ids
                        .iter()
                        .map(|id| {
                            let (e, id, chunks) = (e.clone(), id.clone(), chunks.clone());
                            tokio::task::spawn_blocking(move || {
                                e.process_batch(&id, &chunks).unwrap().results.len()
                            })
                        })
                        .collect();
                    let mut total = 0;
                    for t in tasks {
                        total += t.await.unwrap();
                    }
                    total
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, agentic_loop, end_to_end, concurrent_sessions);
criterion_main!(benches);

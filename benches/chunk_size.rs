//! Criterion group `chunk_size`: the cost of one chunk as its size grows from 1 KB to 1 MB, to
//! show the slope (linear: time ÷ size stays flat; Criterion reports throughput in bytes/s).
//!
//! Three texts, each repeated to the size: `"12 "` (a number every 3 bytes — the input that
//! took 112 s per megabyte when overlap resolution was quadratic), `"Tokyo "` (a dictionary hit
//! every 6 bytes) and a realistic two-sentence paragraph (every entity kind). Two measures per
//! text and size: `extract_ingest` (entity extraction and knowledge-graph ingest) and `step` (a
//! whole engine step: perception, graph, plan, choice, learning; no handler, no policies).
//!
//! `cargo bench --bench chunk_size` (add `-- --quick` for a shorter run).

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lean_agentic_native::agent::{ActionSpec, SessionContext};
use lean_agentic_native::knowledge::{EntityExtractor, KnowledgeGraph};
use lean_agentic_native::system::{Begun, Engine, SystemConfig};

const KB: usize = 1024;
const SIZES: [usize; 6] = [KB, 4 * KB, 16 * KB, 64 * KB, 256 * KB, 1024 * KB];

const TEXTS: [(&str, &str); 3] = [
    ("numbers", "12 "),
    ("one_name", "Tokyo "),
    (
        "realistic",
        "Ada Lovelace met Grace Hopper at the Web Summit 2025 in Lisbon on March 3, 2025. \
She works at Acme Corp and said the $1,200 budget ran 15% over plan; mail ada@acme.example or see Tokyo notes. ",
    ),
];

/// `unit` repeated to just under `bytes`.
fn repeat_to(unit: &str, bytes: usize) -> String {
    unit.repeat((bytes / unit.len()).max(1))
}

fn engine() -> Arc<Engine> {
    let e = Engine::open(SystemConfig {
        path: ":memory:".into(),
        seed: Some(1),
        max_chunk_bytes: 2 * 1024 * KB,
        ..SystemConfig::default()
    })
    .expect("engine opens");
    e.register_action(ActionSpec {
        keywords: vec!["note".into()],
        ..ActionSpec::named("take_note", "Take a note of what was said")
    })
    .expect("action registers");
    e.create_session("s", SessionContext::default())
        .expect("session");
    Arc::new(e)
}

fn chunk_size(c: &mut Criterion) {
    let extractor = EntityExtractor::new().expect("gazetteer");
    let graph = KnowledgeGraph::new();
    let engine = engine();
    let mut g = c.benchmark_group("chunk_size");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    for (name, unit) in TEXTS {
        for size in SIZES {
            let text = repeat_to(unit, size);
            g.throughput(Throughput::Bytes(text.len() as u64));
            let mut t = 0i64;
            g.bench_with_input(
                BenchmarkId::new(format!("extract_ingest/{name}"), size / KB),
                &text,
                |b, text| {
                    b.iter(|| {
                        t += 1;
                        let es = extractor.extract(text);
                        graph.ingest(text, &es, t).expect("ingest")
                    })
                },
            );
            g.bench_with_input(
                BenchmarkId::new(format!("step/{name}"), size / KB),
                &text,
                |b, text| {
                    b.iter(|| match engine.begin("s", text).expect("step") {
                        Begun::Done(r) => r.reward,
                        Begun::Pending(_) => unreachable!("no handlers registered"),
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, chunk_size);
criterion_main!(benches);

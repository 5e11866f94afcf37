//! Hot-path benchmarks of the knowledge area: extraction + graph update of one realistic
//! 200-byte chunk (target ≤ 5 µs p50) and a neighbour query (target ≤ 1 µs).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use lean_agentic_native::knowledge::{Entity, EntityExtractor, EntityType, KnowledgeGraph};

const CHUNK: &str = "Ada Lovelace met Grace Hopper at the Web Summit 2025 in Lisbon on March 3, 2025. \
She works at Acme Corp and said the $1,200 budget ran 15% over plan; mail ada@acme.example or see Tokyo notes.";

fn populated_graph(extractor: &EntityExtractor) -> KnowledgeGraph {
    let graph = KnowledgeGraph::new();
    // 10,000 background entities in chains, plus the chunk's own entities.
    for i in 0..10_000 {
        let a = Entity::new(
            &format!("Background Topic {i}"),
            EntityType::Concept,
            0,
            0,
            0.5,
        );
        let b = Entity::new(
            &format!("Background Topic {}", i + 1),
            EntityType::Concept,
            0,
            0,
            0.5,
        );
        graph.ingest("", &[a, b], i).expect("valid entities");
    }
    graph
        .ingest(CHUNK, &extractor.extract(CHUNK), 10_000)
        .expect("valid chunk");
    graph
}

fn bench(c: &mut Criterion) {
    let extractor = EntityExtractor::new().expect("gazetteer");
    let graph = populated_graph(&extractor);
    assert!(
        CHUNK.len() >= 180 && CHUNK.len() <= 220,
        "chunk is {} bytes",
        CHUNK.len()
    );
    let mut group = c.benchmark_group("knowledge_graph");
    group.bench_function("extract_200b", |b| {
        b.iter(|| black_box(extractor.extract(black_box(CHUNK))))
    });
    let entities = extractor.extract(CHUNK);
    let mut t = 20_000i64;
    group.bench_function("ingest_200b", |b| {
        b.iter(|| {
            t += 1;
            black_box(
                graph
                    .ingest(CHUNK, black_box(&entities), t)
                    .expect("ingest"),
            )
        })
    });
    group.bench_function("extract_and_ingest_200b", |b| {
        b.iter(|| {
            t += 1;
            let es = extractor.extract(black_box(CHUNK));
            black_box(graph.ingest(CHUNK, &es, t).expect("ingest"))
        })
    });
    group.bench_function("neighbours", |b| {
        b.iter(|| {
            black_box(
                graph
                    .neighbours(black_box("person:ada_lovelace"), None)
                    .expect("known"),
            )
        })
    });
    group.bench_function("related_depth1", |b| {
        b.iter(|| {
            black_box(
                graph
                    .related(black_box("person:ada_lovelace"), 1, None)
                    .expect("known"),
            )
        })
    });
    group.bench_function("neighbour_count", |b| {
        b.iter(|| {
            black_box(
                graph
                    .neighbour_count(black_box("person:ada_lovelace"))
                    .expect("known"),
            )
        })
    });
    group.bench_function("entity_lookup", |b| {
        b.iter(|| black_box(graph.entity(black_box("place:lisbon"))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

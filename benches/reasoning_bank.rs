//! Benchmarks of the reasoning bank: retrieval over 10k and 100k memories, and the import of a
//! 10k-memory agentic-flow database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use lean_agentic_native::memory::{
    BankConfig, HashEmbedder, ReasoningBank, RetrieveOptions, Store, AGENTIC_FLOW_SCHEMA,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};

const WORDS: &[&str] = &[
    "retry",
    "cache",
    "deploy",
    "schema",
    "migration",
    "timeout",
    "backoff",
    "index",
    "query",
    "token",
    "parser",
    "socket",
    "thread",
    "lock",
    "queue",
    "worker",
    "build",
    "test",
    "lint",
    "config",
    "secret",
    "auth",
    "login",
    "session",
    "cookie",
    "header",
    "proxy",
    "route",
    "error",
    "panic",
    "memory",
    "disk",
    "network",
    "latency",
    "batch",
    "stream",
    "file",
    "upload",
    "image",
    "resize",
    "email",
    "invoice",
    "report",
];

fn sentence(rng: &mut SmallRng, n: usize) -> String {
    (0..n)
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes an agentic-flow database of `n` hash-embedded memories, the way agentic-flow lays it out.
fn make_agentic_flow_db(path: &str, n: usize) {
    let _ = std::fs::remove_file(path);
    let mut conn = Connection::open(path).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.execute_batch(AGENTIC_FLOW_SCHEMA).expect("schema");
    let tx = conn.transaction().expect("tx");
    let mut rng = SmallRng::seed_from_u64(42);
    let embedder = HashEmbedder;
    for i in 0..n {
        let title = sentence(&mut rng, 4);
        let content = sentence(&mut rng, 20);
        let domain = ["web", "db", "ops"][i % 3];
        let data = serde_json::json!({
            "title": title, "description": "", "content": content,
            "source": {"task_id": format!("t{i}"), "agent_id": "bench", "outcome": if i % 3 == 0 { "Failure" } else { "Success" }, "evidence": []},
            "tags": [], "domain": domain, "created_at": "2025-01-01T00:00:00.000Z", "confidence": 0.5, "n_uses": 0
        });
        let conf: f64 = rng.gen_range(0.3..1.0);
        tx.execute(
            "INSERT OR REPLACE INTO patterns (id, type, pattern_data, confidence, usage_count, created_at)
             VALUES (?1, 'reasoning_memory', ?2, ?3, 0, datetime('now', ?4))",
            params![format!("mem-{i}"), data.to_string(), conf, format!("-{} days", rng.gen_range(0..90))],
        )
        .expect("pattern");
        let v = embedder.embed(&format!("{title}\n\n{content}"));
        let blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        tx.execute(
            "INSERT OR REPLACE INTO pattern_embeddings (id, model, dims, vector) VALUES (?1, 'lean-hash-384', 384, ?2)",
            params![format!("mem-{i}"), blob],
        )
        .expect("embedding");
    }
    tx.commit().expect("commit");
}

fn open_bank(path: &str, max: usize) -> ReasoningBank {
    let store = Arc::new(Store::open(path).expect("store"));
    let cfg = BankConfig {
        max_memories: max,
        ..Default::default()
    };
    ReasoningBank::open(store, cfg).expect("bank")
}

fn percentiles(bank: &ReasoningBank, label: &str, opts: &RetrieveOptions) {
    let mut rng = SmallRng::seed_from_u64(9);
    let mut times: Vec<Duration> = (0..300)
        .map(|_| {
            let q = sentence(&mut rng, 8);
            let t = Instant::now();
            let r = bank.retrieve(&q, opts).expect("retrieve");
            assert_eq!(r.len(), 5);
            t.elapsed()
        })
        .collect();
    times.sort();
    eprintln!(
        "{label}: p50 {:?}  p90 {:?}  p99 {:?}  (kernel {:?})",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() * 99 / 100],
        bank.kernel()
    );
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("la-memory-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut group = c.benchmark_group("reasoning_bank");
    group.sample_size(30);

    for n in [10_000usize, 100_000] {
        let path = dir
            .join(format!("af-{n}.db"))
            .to_string_lossy()
            .into_owned();
        let t = Instant::now();
        make_agentic_flow_db(&path, n);
        eprintln!(
            "built agentic-flow db with {n} memories in {:?}",
            t.elapsed()
        );
        let t = Instant::now();
        let bank = open_bank(&path, n * 2);
        eprintln!(
            "opened bank over {n} memories (load matrix + index FTS) in {:?}",
            t.elapsed()
        );
        let t = Instant::now();
        drop(bank);
        let bank = open_bank(&path, n * 2);
        eprintln!(
            "re-opened bank over {n} memories (load matrix only) in {:?}",
            t.elapsed()
        );
        let mmr = RetrieveOptions {
            k: 5,
            ..Default::default()
        };
        let top_k = RetrieveOptions {
            k: 5,
            mmr_lambda: 1.0,
            ..Default::default()
        };
        percentiles(
            &bank,
            &format!("retrieve k=5 over {n} (agentic-flow MMR, lambda 0.1)"),
            &mmr,
        );
        percentiles(
            &bank,
            &format!("retrieve k=5 over {n} (plain top-k, lambda 1.0)"),
            &top_k,
        );
        let mut rng = SmallRng::seed_from_u64(5);
        group.bench_function(format!("retrieve_k5_{n}"), |b| {
            b.iter(|| {
                bank.retrieve(&sentence(&mut rng, 8), &mmr)
                    .expect("retrieve")
            })
        });
        group.bench_function(format!("retrieve_k5_topk_{n}"), |b| {
            b.iter(|| {
                bank.retrieve(&sentence(&mut rng, 8), &top_k)
                    .expect("retrieve")
            })
        });
    }

    let source = dir.join("af-10000.db").to_string_lossy().into_owned();
    let mut round = 0;
    let t = Instant::now();
    {
        let target = dir.join("import-probe.db").to_string_lossy().into_owned();
        let bank = open_bank(&target, 20_000);
        let report = bank.import_agentic_flow(&source).expect("import");
        eprintln!(
            "import of {} memories into a fresh store: {:?}",
            report.memories,
            t.elapsed()
        );
    }
    group.sample_size(10);
    group.bench_function("import_agentic_flow_10k", |b| {
        b.iter_batched(
            || {
                round += 1;
                let target = dir
                    .join(format!("import-{round}.db"))
                    .to_string_lossy()
                    .into_owned();
                open_bank(&target, 20_000)
            },
            |bank| bank.import_agentic_flow(&source).expect("import"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Benchmarks of the reasoning bank: retrieval over 10k and 100k memories (exact), over 1M
//! memories (approximate IVF index, with its recall@10 against the exact search), and the
//! import of a 10k-memory agentic-flow database.
//!
//! The 1M case writes a ~2 GB database and needs ~3 GB of RAM; set `LA_BENCH_SKIP_1M=1` to
//! skip it.

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

/// Latent dimension of the synthetic "sentence-embedding-like" vectors of the 1M case.
const LATENT: usize = 32;

/// Structured unit vectors as in `../shared/reference/vector-search.md`: `normalise(W·z + noise)`
/// with a 32-dimensional latent `z`, closer to real embeddings than independent noise.
struct Structured {
    w: Vec<f32>,
    dims: usize,
}

impl Structured {
    fn new(dims: usize, rng: &mut SmallRng) -> Structured {
        Structured {
            w: (0..dims * LATENT)
                .map(|_| rng.gen_range(-1.0..1.0))
                .collect(),
            dims,
        }
    }

    fn sample(&self, rng: &mut SmallRng) -> Vec<f32> {
        let z: Vec<f32> = (0..LATENT).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let v: Vec<f32> = (0..self.dims)
            .map(|i| {
                let row = &self.w[i * LATENT..(i + 1) * LATENT];
                row.iter().zip(&z).map(|(a, b)| a * b).sum::<f32>() + rng.gen_range(-1.0..1.0)
            })
            .collect();
        lean_agentic_native::memory::normalize(&v)
    }
}

/// Writes `n` memories with structured caller embeddings, laid out as agentic-flow does.
fn make_structured_db(path: &str, n: usize, gen: &Structured) {
    let _ = std::fs::remove_file(path);
    let mut conn = Connection::open(path).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.execute_batch(AGENTIC_FLOW_SCHEMA).expect("schema");
    let mut rng = SmallRng::seed_from_u64(77);
    let tx = conn.transaction().expect("tx");
    {
        let mut pattern = tx
            .prepare(
                "INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at)
                 VALUES (?1, 'reasoning_memory', ?2, ?3, 0, datetime('now', ?4))",
            )
            .expect("prepare");
        let mut embedding = tx
            .prepare("INSERT INTO pattern_embeddings (id, model, dims, vector) VALUES (?1, 'external', ?2, ?3)")
            .expect("prepare");
        for i in 0..n {
            let title = sentence(&mut rng, 4);
            let data = serde_json::json!({
                "title": title, "description": "", "content": sentence(&mut rng, 10),
                "source": {"task_id": format!("t{i}"), "agent_id": "bench", "outcome": "Success", "evidence": []},
                "tags": [], "domain": "bench", "created_at": "2025-01-01T00:00:00.000Z", "confidence": 0.5, "n_uses": 0
            });
            let conf: f64 = rng.gen_range(0.3..1.0);
            pattern
                .execute(params![
                    format!("mem-{i}"),
                    data.to_string(),
                    conf,
                    format!("-{} days", rng.gen_range(0..90))
                ])
                .expect("pattern");
            let blob: Vec<u8> = gen
                .sample(&mut rng)
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect();
            embedding
                .execute(params![format!("mem-{i}"), gen.dims as i64, blob])
                .expect("embedding");
        }
    }
    tx.commit().expect("commit");
}

fn p(times: &mut [Duration], q: f64) -> Duration {
    times.sort();
    times[((times.len() as f64 * q) as usize).min(times.len() - 1)]
}

/// 1M memories: training/loading of the approximate index, its latency and recall@10.
fn bench_million(c: &mut Criterion) {
    if std::env::var_os("LA_BENCH_SKIP_1M").is_some() {
        eprintln!("LA_BENCH_SKIP_1M set: skipping the 1M-memory case");
        return;
    }
    let n: usize = std::env::var("LA_BENCH_1M_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("la-memory-bench-1m-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("af-1m.db").to_string_lossy().into_owned();
    let mut rng = SmallRng::seed_from_u64(2026);
    let gen = Structured::new(384, &mut rng);
    let t = Instant::now();
    make_structured_db(&path, n, &gen);
    eprintln!(
        "built a database of {n} structured memories in {:?}",
        t.elapsed()
    );
    let cfg = |probes: usize| BankConfig {
        max_memories: n * 2,
        record_usage: false,
        log_metrics: false,
        ann_candidates: probes,
        ..Default::default()
    };
    let open = |probes: usize| {
        let store = Arc::new(Store::open(&path).expect("store"));
        ReasoningBank::open(store, cfg(probes)).expect("bank")
    };
    let t = Instant::now();
    let bank = open(1000);
    eprintln!(
        "opened the bank (load matrix + index FTS) in {:?}",
        t.elapsed()
    );
    let queries: Vec<Vec<f32>> = (0..200).map(|_| gen.sample(&mut rng)).collect();
    let opts = |q: &Vec<f32>, k: usize, lambda: f64, exact: bool| RetrieveOptions {
        k,
        embedding: Some(q.clone()),
        mmr_lambda: lambda,
        exact,
        ..Default::default()
    };
    let t = Instant::now();
    bank.retrieve("", &opts(&queries[0], 5, 0.1, false))
        .expect("retrieve");
    eprintln!(
        "first approximate retrieve (trains + saves the sketch side file) took {:?}",
        t.elapsed()
    );
    drop(bank);
    for probes in [1000usize, 500, 2000] {
        let t = Instant::now();
        let bank = open(probes);
        bank.retrieve("", &opts(&queries[0], 5, 0.1, false))
            .expect("retrieve");
        let reopen = t.elapsed();
        assert!(bank.search_info().last_retrieve_approximate);
        let mut hits = 0;
        let mut exact_times = Vec::new();
        let mut topk_times = Vec::new();
        let mut mmr_times = Vec::new();
        for q in &queries {
            let t = Instant::now();
            let exact: Vec<String> = bank
                .retrieve("", &opts(q, 10, 1.0, true))
                .expect("exact")
                .into_iter()
                .map(|r| r.memory.id)
                .collect();
            exact_times.push(t.elapsed());
            let t = Instant::now();
            let approx: Vec<String> = bank
                .retrieve("", &opts(q, 10, 1.0, false))
                .expect("approx")
                .into_iter()
                .map(|r| r.memory.id)
                .collect();
            topk_times.push(t.elapsed());
            hits += approx.iter().filter(|id| exact.contains(id)).count();
            let t = Instant::now();
            bank.retrieve("", &opts(q, 5, 0.1, false)).expect("mmr");
            mmr_times.push(t.elapsed());
        }
        eprintln!(
            "{n} memories, annCandidates {}: reopen + load side file {:?}; recall@10 {:.3}; \
             approximate k=5 MMR p50 {:?} p99 {:?}; approximate top-10 p50 {:?}; exact top-10 p50 {:?}",
            probes,
            reopen,
            hits as f64 / (10 * queries.len()) as f64,
            p(&mut mmr_times, 0.5),
            p(&mut mmr_times, 0.99),
            p(&mut topk_times, 0.5),
            p(&mut exact_times, 0.5),
        );
    }
    let bank = open(1000);
    let mut group = c.benchmark_group("reasoning_bank");
    group.sample_size(30);
    let mut i = 0;
    group.bench_function("retrieve_k5_1000000_ann", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            bank.retrieve("", &opts(&queries[i], 5, 0.1, false))
                .expect("retrieve")
        })
    });
    group.finish();
    drop(bank);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench, bench_million);
criterion_main!(benches);

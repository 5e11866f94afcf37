//! Tests of the store and the reasoning bank.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};
use serde_json::json;

use super::clock::{iso_datetime, parse_datetime, sqlite_datetime};
use super::retrieve::select;
use super::simd::{scalar_dot_f32, scalar_dot_i8};
use super::vector_index::RowMeta;
use super::*;
use crate::error::ErrorCode;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh temporary directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "la-memory-test-{}-{}-{}",
            std::process::id(),
            n,
            now_ms()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bank_at(path: &str, cfg: BankConfig) -> ReasoningBank {
    let store = Arc::new(Store::open(path).expect("open store"));
    ReasoningBank::open(store, cfg).expect("open bank")
}

fn mem_bank() -> ReasoningBank {
    bank_at(":memory:", BankConfig::default())
}

fn memory(title: &str, content: &str) -> MemoryInput {
    MemoryInput {
        title: title.to_string(),
        description: format!("about {title}"),
        content: content.to_string(),
        confidence: Some(0.8),
        ..Default::default()
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Vectors `normalise(W·z + noise)` with a 32-dim latent, like real embeddings.
struct Structured {
    w: Vec<f32>,
    dims: usize,
}

impl Structured {
    fn new(rng: &mut SmallRng, dims: usize) -> Structured {
        Structured {
            w: (0..dims * 32)
                .map(|_| rng.gen_range(-1.0f32..1.0))
                .collect(),
            dims,
        }
    }
    fn sample(&self, rng: &mut SmallRng) -> Vec<f32> {
        let z: Vec<f32> = (0..32).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let v: Vec<f32> = (0..self.dims)
            .map(|i| {
                (0..32).map(|j| self.w[i * 32 + j] * z[j]).sum::<f32>()
                    + rng.gen_range(-0.5f32..0.5)
            })
            .collect();
        normalize(&v)
    }
}

// ---------- clock ----------

#[test]
fn timestamps_format_and_parse() {
    let ms = 1_764_292_345_678; // 2025-11-28T01:12:25.678Z
    assert_eq!(iso_datetime(ms), "2025-11-28T01:12:25.678Z");
    assert_eq!(sqlite_datetime(ms), "2025-11-28 01:12:25");
    assert_eq!(parse_datetime(&iso_datetime(ms)), Some(ms));
    assert_eq!(parse_datetime("2025-11-28 01:12:25"), Some(ms - 678));
    assert_eq!(parse_datetime("1970-01-01"), Some(0));
    assert_eq!(
        parse_datetime("2024-02-29 00:00:00")
            .map(sqlite_datetime)
            .as_deref(),
        Some("2024-02-29 00:00:00")
    );
    assert_eq!(parse_datetime("yesterday"), None);
    assert_eq!(parse_datetime("2025-13-01 00:00:00"), None);
}

// ---------- embedder ----------

#[test]
fn hash_embedder_is_deterministic_unit_and_lexical() {
    let e = HashEmbedder;
    let a = e.embed("Retry the HTTP request with exponential backoff when the server returns 503");
    let b = e.embed(
        "retry the http request with exponential back-off when the server returns a 503 error",
    );
    let c = e.embed("Paint the kitchen walls green before the guests arrive on Sunday");
    assert_eq!(a.len(), HASH_DIMS);
    assert_eq!(
        a,
        e.embed("Retry the HTTP request with exponential backoff when the server returns 503")
    );
    let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    let near = cosine(&a, &b);
    let far = cosine(&a, &c);
    assert!(near > 0.5, "near-duplicates: {near}");
    assert!(far.abs() < 0.2, "unrelated: {far}");
    assert!(e.embed("  ... !!! ").iter().all(|x| *x == 0.0));
}

// ---------- SIMD ----------

#[test]
fn simd_and_scalar_kernels_agree_bit_for_bit() {
    let mut rng = SmallRng::seed_from_u64(7);
    let detected = Kernel::detect();
    for len in [1usize, 7, 8, 31, 32, 33, 384, 385, 1000] {
        let a: Vec<f32> = (0..len).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let b: Vec<f32> = (0..len).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let ai: Vec<i8> = (0..len).map(|_| rng.gen_range(-127i8..=127)).collect();
        let bi: Vec<i8> = (0..len).map(|_| rng.gen_range(-127i8..=127)).collect();
        assert_eq!(
            detected.dot_f32(&a, &b).to_bits(),
            scalar_dot_f32(&a, &b).to_bits(),
            "f32 len {len}"
        );
        assert_eq!(
            detected.dot_i8(&ai, &bi),
            scalar_dot_i8(&ai, &bi),
            "i8 len {len}"
        );
        let rows: Vec<u32> = vec![0];
        let (mut fast, mut slow) = ([0i32], [0i32]);
        detected.dot_i8_rows(&ai, &bi, len, &rows, &mut fast);
        Kernel::Scalar.dot_i8_rows(&ai, &bi, len, &rows, &mut slow);
        assert_eq!(fast, slow);
        let exact: i32 = ai
            .iter()
            .zip(&bi)
            .map(|(x, y)| i32::from(*x) * i32::from(*y))
            .sum();
        assert_eq!(Kernel::Scalar.dot_i8(&ai, &bi), exact);
        let exact_f: f64 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        assert!((f64::from(Kernel::Scalar.dot_f32(&a, &b)) - exact_f).abs() < 1e-3);
    }
}

fn random_index(
    rng: &mut SmallRng,
    n: usize,
    dims: usize,
    now: i64,
) -> (VectorIndex, Vec<Vec<f32>>) {
    let gen = Structured::new(rng, dims);
    let mut index = VectorIndex::new();
    let mut vectors = Vec::new();
    for i in 0..n {
        let v = gen.sample(rng);
        let meta = RowMeta {
            confidence: rng.gen_range(0.1..1.0),
            usage_count: rng.gen_range(0..5),
            created_ms: now - rng.gen_range(0..200) * 86_400_000 - rng.gen_range(0..86_400_000),
            domain: Some(Arc::from(["web", "db", "ops"][i % 3])),
            agent: Some(Arc::from(["a1", "a2"][i % 2])),
            outcome: if i % 4 == 0 {
                MemoryOutcome::Failure
            } else {
                MemoryOutcome::Success
            },
        };
        index.upsert(&format!("m{i}"), &v, meta).expect("upsert");
        vectors.push(v);
    }
    (index, vectors)
}

/// Straightforward agentic-flow retrieval over index rows: score all, sort, MMR.
fn brute_force(
    index: &VectorIndex,
    vectors: &[Vec<f32>],
    query: &[f32],
    opts: &RetrieveOptions,
    now: i64,
) -> Vec<String> {
    let mut cands: Vec<(usize, f64)> = Vec::new();
    for row in 0..index.len() {
        let m = index.meta(row);
        if m.confidence < opts.min_confidence
            || opts
                .domain
                .as_deref()
                .is_some_and(|d| m.domain.as_deref() != Some(d))
        {
            continue;
        }
        let i: usize = index.id(row)[1..].parse().expect("id");
        let age = ((now - m.created_ms) / 86_400_000) as f64;
        let score = opts.weights.similarity * cosine(query, &vectors[i])
            + opts.weights.recency * (-age / opts.half_life_days).exp()
            + opts.weights.reliability * m.confidence.min(1.0);
        cands.push((row, score));
    }
    mmr(cands, opts.k, opts.mmr_lambda, |a, b| {
        cosine(index.unit(a), index.unit(b))
    })
    .into_iter()
    .map(|r| index.id(r).to_string())
    .collect()
}

/// agentic-flow's `mmrSelection` on `(key, score)` pairs already in candidate order.
fn mmr<K: Copy>(
    mut remaining: Vec<(K, f64)>,
    k: usize,
    lambda: f64,
    cos: impl Fn(K, K) -> f64,
) -> Vec<K> {
    remaining.sort_by(|a, b| b.1.total_cmp(&a.1));
    if k >= remaining.len() {
        return remaining.into_iter().map(|c| c.0).collect();
    }
    let mut selected: Vec<K> = Vec::new();
    while selected.len() < k && !remaining.is_empty() {
        let mut best = 0;
        let mut best_score = f64::NEG_INFINITY;
        for (i, (key, score)) in remaining.iter().enumerate() {
            let mut max_sim = 0f64;
            for s in &selected {
                max_sim = max_sim.max(cos(*key, *s));
            }
            let v = lambda * score - (1.0 - lambda) * max_sim;
            if v > best_score {
                best_score = v;
                best = i;
            }
        }
        selected.push(remaining.remove(best).0);
    }
    selected
}

#[test]
fn select_matches_brute_force_agentic_flow_with_both_kernels() {
    let mut rng = SmallRng::seed_from_u64(11);
    let now = now_ms();
    let (index, vectors) = random_index(&mut rng, 1500, 64, now);
    let gen = Structured::new(&mut SmallRng::seed_from_u64(12), 64);
    for q in 0..12 {
        let query = if q % 2 == 0 {
            vectors[q * 37].clone()
        } else {
            gen.sample(&mut rng)
        };
        for (k, lambda, domain) in [
            (3, 0.1, None),
            (5, 0.1, Some("db")),
            (10, 1.0, None),
            (4, 0.5, Some("web")),
        ] {
            let opts = RetrieveOptions {
                k,
                mmr_lambda: lambda,
                domain: domain.map(str::to_string),
                ..Default::default()
            };
            let expected = brute_force(&index, &vectors, &query, &opts, now);
            for kernel in [Kernel::Scalar, Kernel::detect()] {
                let got: Vec<String> = select(&index, kernel, &query, &opts, now, None)
                    .iter()
                    .map(|s| index.id(s.row).to_string())
                    .collect();
                assert_eq!(
                    got, expected,
                    "query {q} k {k} lambda {lambda} kernel {kernel:?}"
                );
            }
        }
    }
}

#[test]
fn select_stays_exact_when_scans_are_split_across_threads() {
    // 40,000 rows: past the size at which pass 1 and the MMR scans run on several threads.
    let mut rng = SmallRng::seed_from_u64(21);
    let now = now_ms();
    let (index, vectors) = random_index(&mut rng, 40_000, 32, now);
    for q in 0..3 {
        let query = vectors[q * 977].clone();
        for (k, lambda) in [(4, 0.1), (8, 1.0)] {
            let opts = RetrieveOptions {
                k,
                mmr_lambda: lambda,
                ..Default::default()
            };
            let expected = brute_force(&index, &vectors, &query, &opts, now);
            let got: Vec<String> = select(&index, Kernel::detect(), &query, &opts, now, None)
                .iter()
                .map(|s| index.id(s.row).to_string())
                .collect();
            assert_eq!(got, expected, "query {q} k {k} lambda {lambda}");
        }
    }
}

#[test]
fn select_is_exact_on_correlated_hash_embeddings() {
    // Texts over a tiny vocabulary: every pair is positively correlated, the hardest case for
    // the MMR bounds (every candidate must be compared with every pick).
    let words = [
        "retry", "cache", "deploy", "schema", "timeout", "backoff", "index", "query", "token",
        "parser", "socket", "queue",
    ];
    let mut rng = SmallRng::seed_from_u64(21);
    let now = now_ms();
    let e = HashEmbedder;
    let mut index = VectorIndex::new();
    let mut vectors = Vec::new();
    for i in 0..4000 {
        let text: Vec<&str> = (0..10)
            .map(|_| words[rng.gen_range(0..words.len())])
            .collect();
        let v = e.embed(&text.join(" "));
        let meta = RowMeta {
            confidence: rng.gen_range(0.3..1.0),
            usage_count: 0,
            created_ms: now - rng.gen_range(0..90) * 86_400_000,
            domain: None,
            agent: None,
            outcome: MemoryOutcome::Success,
        };
        index.upsert(&format!("m{i}"), &v, meta).expect("upsert");
        vectors.push(v);
    }
    for q in 0..4 {
        let text: Vec<&str> = (0..6)
            .map(|_| words[rng.gen_range(0..words.len())])
            .collect();
        let query = e.embed(&text.join(" "));
        let opts = RetrieveOptions {
            k: 6,
            ..Default::default()
        };
        let expected = brute_force(&index, &vectors, &query, &opts, now);
        let got: Vec<String> = select(&index, Kernel::detect(), &query, &opts, now, None)
            .iter()
            .map(|s| index.id(s.row).to_string())
            .collect();
        assert_eq!(got, expected, "query {q}");
    }
}

// ---------- store ----------

#[test]
fn store_opens_in_memory_and_creates_parent_dirs() {
    let dir = TempDir::new();
    let path = dir.file("a/b/c/memory.db");
    let store = Store::open(&path).expect("open");
    assert_eq!(store.path(), path);
    let (mode, fk): (String, i64) = store
        .with_conn(|c| {
            Ok((
                c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
            ))
        })
        .expect("pragmas");
    assert_eq!(mode, "wal");
    assert_eq!(fk, 1);
    store.checkpoint().expect("checkpoint");
    let tables: Vec<String> = store
        .with_conn(|c| {
            let mut s =
                c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
            let r = s
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<Vec<String>, _>>()?;
            Ok(r)
        })
        .expect("tables");
    for t in [
        "patterns",
        "pattern_embeddings",
        "pattern_links",
        "task_trajectories",
        "matts_runs",
        "consolidation_runs",
        "metrics_log",
        "la_learnings",
        "la_fts",
        "la_meta",
    ] {
        assert!(tables.iter().any(|x| x == t), "missing table {t}");
    }
    Store::open(":memory:").expect("in-memory");
    assert_eq!(
        Store::open("").expect_err("empty").code,
        ErrorCode::InvalidInput
    );
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<ReasoningBank>();
}

#[test]
fn a_file_another_sqlite_library_holds_is_refused_and_a_held_file_is_guarded() {
    let dir = TempDir::new();
    let path = dir.file("held.db");
    Store::open(&path).expect("create").close().expect("close");
    // A descriptor the engine's registry does not know: in an app, agentic-flow's
    // better-sqlite3 connection.
    let other = std::fs::File::open(&path).expect("open");
    if cfg!(target_os = "linux") {
        let e = Store::open(&path).expect_err("held by another library");
        assert_eq!(e.code, ErrorCode::StoreInUse);
        assert!(e.message.contains(&path) && e.message.contains("syncWithAgenticFlow"));
        let bank = mem_bank();
        for e in [
            bank.export_agentic_flow(&path).expect_err("export"),
            bank.import_agentic_flow(&path).expect_err("import"),
        ] {
            assert_eq!(e.code, ErrorCode::StoreInUse);
        }
    }
    drop(other);
    let store = Store::open(&path).expect("free again");
    // The engine's own second connection to a file it holds is safe (one library).
    let second = Store::open(&path).expect("second store on the same file");
    second.close().expect("close");
    #[cfg(target_os = "linux")]
    {
        // Another library closing the file would take EXCLUSIVE (a POSIX write lock on the
        // SHARED range) to checkpoint and delete the WAL: the guard makes that fail, in this
        // process too.
        use std::os::fd::AsRawFd;
        let probe = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("probe");
        let exclusive = |fd: i32| {
            // SAFETY: zeroed `flock` is valid; fields set below; `fd` is open.
            let mut fl: libc::flock = unsafe { std::mem::zeroed() };
            fl.l_type = libc::F_WRLCK as libc::c_short;
            fl.l_whence = libc::SEEK_SET as libc::c_short;
            fl.l_start = 0x4000_0002;
            fl.l_len = 510;
            // SAFETY: as above.
            unsafe { libc::fcntl(fd, libc::F_SETLK, &fl) }
        };
        assert_eq!(
            exclusive(probe.as_raw_fd()),
            -1,
            "EXCLUSIVE refused while held"
        );
        store.close().expect("close");
        assert_eq!(exclusive(probe.as_raw_fd()), 0, "free once released");
    }
    #[cfg(not(target_os = "linux"))]
    store.close().expect("close");
    // Closing leaves the WAL (empty) and -shm in place: deleting them is only safe for a
    // file's last user, which a connection cannot know about another library.
    assert_eq!(
        std::fs::metadata(format!("{path}-wal")).expect("wal").len(),
        0
    );
    assert!(std::path::Path::new(&format!("{path}-shm")).exists());
}

#[test]
fn corrupt_truncated_or_foreign_files_are_store_corrupt() {
    let dir = TempDir::new();
    let garbage = dir.file("garbage.db");
    std::fs::write(
        &garbage,
        b"this is not a database, just some text that is long enough",
    )
    .expect("write");
    let e = Store::open(&garbage).expect_err("garbage");
    assert_eq!(e.code, ErrorCode::StoreCorrupt);
    assert!(e.message.contains(&garbage), "{}", e.message);

    let truncated = dir.file("truncated.db");
    {
        let bank = bank_at(&truncated, BankConfig::default());
        for i in 0..300 {
            bank.store(memory(
                &format!("memory number {i}"),
                &"long content ".repeat(40),
            ))
            .expect("store");
        }
        bank.backing_store().checkpoint().expect("checkpoint");
    }
    let len = std::fs::metadata(&truncated).expect("meta").len();
    assert!(len > 100_000, "{len}");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .expect("open");
    f.set_len(len / 2).expect("truncate");
    drop(f);
    let _ = std::fs::remove_file(format!("{truncated}-wal"));
    let _ = std::fs::remove_file(format!("{truncated}-shm"));
    let e = Store::open(&truncated).expect_err("truncated");
    assert_eq!(e.code, ErrorCode::StoreCorrupt, "{}", e.message);
    assert!(e.message.contains("truncated.db"));

    let header_only = dir.file("short.db");
    std::fs::write(&header_only, b"SQLite format").expect("write");
    assert_eq!(
        Store::open(&header_only).expect_err("short").code,
        ErrorCode::StoreCorrupt
    );
}

// ---------- agentic-flow compatibility ----------

/// agentic-flow's schema exactly as its migrations create it (no IF NOT EXISTS).
fn exact_agentic_flow_schema() -> String {
    AGENTIC_FLOW_SCHEMA.replace("IF NOT EXISTS ", "")
}

/// Inserts a memory the way agentic-flow's `upsertMemory` + `upsertEmbedding` do.
fn agentic_flow_upsert(
    conn: &Connection,
    id: &str,
    title: &str,
    domain: &str,
    outcome: &str,
    confidence: f64,
    vector: &[f32],
) {
    let data = json!({
        "title": title, "description": format!("desc {title}"), "content": format!("content of {title}"),
        "source": {"task_id": format!("t-{id}"), "agent_id": "agent-x", "outcome": outcome, "evidence": []},
        "tags": ["x"], "domain": domain, "created_at": "2025-01-01T00:00:00.000Z", "confidence": confidence, "n_uses": 0
    });
    conn.execute(
        "INSERT OR REPLACE INTO patterns (id, type, pattern_data, confidence, usage_count, created_at) VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
        params![id, "reasoning_memory", data.to_string(), confidence, 0],
    )
    .expect("insert pattern");
    let blob: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    conn.execute(
        "INSERT OR REPLACE INTO pattern_embeddings (id, model, dims, vector, created_at) VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)",
        params![id, "Xenova/all-MiniLM-L6-v2", vector.len() as i64, blob],
    )
    .expect("insert embedding");
}

/// agentic-flow's `retrieveMemories`, reimplemented over its own SQL.
fn agentic_flow_retrieve(
    conn: &Connection,
    query: &[f32],
    k: usize,
    domain: Option<&str>,
) -> Vec<String> {
    let mut sql = "SELECT p.id, p.confidence, pe.vector as embedding,
        CAST((julianday('now') - julianday(p.created_at)) AS INTEGER) as age_days
        FROM patterns p JOIN pattern_embeddings pe ON p.id = pe.id
        WHERE p.type = 'reasoning_memory' AND p.confidence >= ?"
        .to_string();
    if domain.is_some() {
        sql += " AND json_extract(p.pattern_data, '$.domain') = ?";
    }
    sql += " ORDER BY p.confidence DESC, p.usage_count DESC";
    let mut stmt = conn.prepare(&sql).expect("prepare");
    let map = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, f64, Vec<u8>, i64)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    };
    let rows: Vec<(String, f64, Vec<u8>, i64)> = match domain {
        Some(d) => stmt
            .query_map(params![0.3, d], map)
            .expect("q")
            .collect::<std::result::Result<_, _>>()
            .expect("rows"),
        None => stmt
            .query_map(params![0.3], map)
            .expect("q")
            .collect::<std::result::Result<_, _>>()
            .expect("rows"),
    };
    let vecs: Vec<Vec<f32>> = rows
        .iter()
        .map(|r| {
            r.2.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
        .collect();
    let scored: Vec<(usize, f64)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                i,
                0.65 * cosine(query, &vecs[i])
                    + 0.15 * (-(r.3 as f64) / 45.0).exp()
                    + 0.20 * r.1.min(1.0),
            )
        })
        .collect();
    mmr(scored, k, 0.1, |a, b| cosine(&vecs[a], &vecs[b]))
        .into_iter()
        .map(|i| rows[i].0.clone())
        .collect()
}

#[test]
fn agentic_flow_database_is_used_in_place_and_retrieval_matches_its_algorithm() {
    let dir = TempDir::new();
    let path = dir.file(".swarm/memory.db");
    std::fs::create_dir_all(dir.0.join(".swarm")).expect("dir");
    let mut rng = SmallRng::seed_from_u64(3);
    let gen = Structured::new(&mut rng, 384);
    let af = Connection::open(&path).expect("af open");
    af.pragma_update(None, "journal_mode", "WAL").expect("wal");
    af.pragma_update(None, "foreign_keys", "ON").expect("fk");
    af.execute_batch(&exact_agentic_flow_schema())
        .expect("schema");
    let mut vectors = Vec::new();
    for i in 0..400 {
        let v = gen.sample(&mut rng);
        let conf = rng.gen_range(0.1..1.0);
        let outcome = if i % 3 == 0 { "Failure" } else { "Success" };
        agentic_flow_upsert(
            &af,
            &format!("af-{i}"),
            &format!("strategy {i} alpha"),
            ["web", "db"][i % 2],
            outcome,
            conf,
            &v,
        );
        vectors.push(v);
    }
    // back-date rows so recency matters
    af.execute(
        "UPDATE patterns SET created_at = datetime('now', '-' || (abs(random()) % 120) || ' days')",
        [],
    )
    .expect("backdate");

    // A connection the store's registry does not know counts as another SQLite library in this
    // process (see `file_claims`): close it before the store opens the file, reopen it after.
    drop(af);
    let store = Arc::new(Store::open(&path).expect("open in place"));
    let af = Connection::open(&path).expect("af reopen");
    let cfg = BankConfig {
        record_usage: false,
        ..Default::default()
    };
    let bank = ReasoningBank::open(store, cfg).expect("bank");
    assert_eq!(bank.count().expect("count").memories, 400);
    for q in 0..10 {
        let query = gen.sample(&mut rng);
        for (k, domain) in [(3, None), (5, Some("db")), (3, Some("web"))] {
            let expected = agentic_flow_retrieve(&af, &query, k, domain);
            let opts = RetrieveOptions {
                k,
                domain: domain.map(str::to_string),
                embedding: Some(query.clone()),
                ..Default::default()
            };
            let got: Vec<String> = bank
                .retrieve("", &opts)
                .expect("retrieve")
                .into_iter()
                .map(|r| r.memory.id)
                .collect();
            assert_eq!(got, expected, "query {q} k {k} domain {domain:?}");
        }
    }
    // rows written by agentic-flow are searchable by text
    let hits = bank
        .query("strategy 17", &QueryOptions::default())
        .expect("query");
    assert!(hits.iter().any(|h| h.id == "af-17"), "{hits:?}");
    // a write by agentic-flow after open is seen (its INSERT OR REPLACE drops the embedding
    // until it re-upserts it, as agentic-flow does)
    let fresh = gen.sample(&mut rng);
    agentic_flow_upsert(
        &af,
        "af-new",
        "brand new zebra memory",
        "web",
        "Success",
        0.99,
        &fresh,
    );
    let opts = RetrieveOptions {
        k: 1,
        mmr_lambda: 1.0,
        embedding: Some(fresh.clone()),
        ..Default::default()
    };
    assert_eq!(
        bank.retrieve("", &opts).expect("retrieve")[0].memory.id,
        "af-new"
    );
    let hits = bank
        .query("zebra", &QueryOptions::default())
        .expect("query");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "af-new");
    // our writes stay readable by agentic-flow's own query
    let rec = bank
        .store(MemoryInput {
            id: Some("ours-1".into()),
            embedding: Some(gen.sample(&mut rng)),
            domain: Some("web".into()),
            ..memory("our memory", "x")
        })
        .expect("store");
    let (ty, data): (String, String) = af
        .query_row(
            "SELECT type, pattern_data FROM patterns WHERE id = 'ours-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert_eq!(ty, "reasoning_memory");
    let data: serde_json::Value = serde_json::from_str(&data).expect("json");
    assert_eq!(data["title"], "our memory");
    assert_eq!(data["source"]["outcome"], "Success");
    assert_eq!(data["domain"], "web");
    assert!(data["created_at"]
        .as_str()
        .and_then(parse_datetime)
        .is_some());
    assert!(parse_datetime(&rec.created_at).is_some() && rec.created_at.len() == 19);
}

#[test]
fn retrieval_counts_usage_and_logs_metrics_like_agentic_flow() {
    let bank = mem_bank();
    for i in 0..6 {
        bank.store(memory(
            &format!("deploy step {i}"),
            &format!("run the migration script number {i} before deploying"),
        ))
        .expect("store");
    }
    let got = bank
        .retrieve(
            "run the migration before deploying",
            &RetrieveOptions::default(),
        )
        .expect("retrieve");
    assert_eq!(got.len(), 3);
    for r in &got {
        assert_eq!(r.memory.usage_count, 1);
        assert!(r.memory.last_used.is_some());
        let c = r.components;
        assert!(
            (r.score - (0.65 * c.similarity + 0.15 * c.recency + 0.20 * c.reliability)).abs()
                < 1e-9
        );
        assert!((c.reliability - 0.8).abs() < 1e-9);
        assert!((c.recency - 1.0).abs() < 1e-9);
    }
    let logged: i64 = bank
        .backing_store()
        .with_conn(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM metrics_log WHERE metric_name = 'rb.retrieve.latency_ms'",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("metrics");
    assert_eq!(logged, 1);
    let quiet = bank_at(
        ":memory:",
        BankConfig {
            record_usage: false,
            ..Default::default()
        },
    );
    quiet.store(memory("x", "y")).expect("store");
    let got = quiet
        .retrieve("x", &RetrieveOptions::default())
        .expect("retrieve");
    assert_eq!(got[0].memory.usage_count, 0);
    // confidence filter
    let low = quiet
        .store(MemoryInput {
            confidence: Some(0.1),
            ..memory("lowconf", "lowconf")
        })
        .expect("store");
    let got = quiet
        .retrieve(
            "lowconf",
            &RetrieveOptions {
                k: 5,
                ..Default::default()
            },
        )
        .expect("retrieve");
    assert!(got.iter().all(|r| r.memory.id != low.id));
    // bad options
    assert_eq!(
        quiet
            .retrieve(
                "x",
                &RetrieveOptions {
                    k: 0,
                    ..Default::default()
                }
            )
            .expect_err("k")
            .code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        quiet
            .retrieve("  ", &RetrieveOptions::default())
            .expect_err("empty")
            .code,
        ErrorCode::InvalidInput
    );
    let nan = RetrieveOptions {
        embedding: Some(vec![f32::NAN; HASH_DIMS]),
        ..Default::default()
    };
    assert_eq!(
        quiet.retrieve("x", &nan).expect_err("nan").code,
        ErrorCode::InvalidInput
    );
}

// ---------- upsert ----------

#[test]
fn upsert_keeps_created_at_usage_and_embedding() {
    let dir = TempDir::new();
    let bank = bank_at(&dir.file("m.db"), BankConfig::default());
    let v: Vec<f32> = (0..16).map(|i| i as f32 + 1.0).collect();
    bank.store(MemoryInput {
        id: Some("keep".into()),
        embedding: Some(v.clone()),
        ..memory("title one", "content one")
    })
    .expect("store");
    let iso_of = |bank: &ReasoningBank| -> String {
        let data: String = bank
            .backing_store()
            .with_conn(|c| {
                Ok(c.query_row(
                    "SELECT pattern_data FROM patterns WHERE id = 'keep'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .expect("data");
        let data: serde_json::Value = serde_json::from_str(&data).expect("json");
        data["created_at"].as_str().expect("iso").to_string()
    };
    let first_iso = iso_of(&bank);
    assert!(parse_datetime(&first_iso).is_some());
    bank.backing_store()
        .with_conn(|c| {
            c.execute("UPDATE patterns SET created_at = '2024-01-02 03:04:05', usage_count = 7 WHERE id = 'keep'", [])?;
            Ok(())
        })
        .expect("backdate");
    let second = bank
        .store(MemoryInput {
            id: Some("keep".into()),
            ..memory("title two", "content two")
        })
        .expect("re-store");
    assert_eq!(second.created_at, "2024-01-02 03:04:05");
    assert_eq!(second.usage_count, 7);
    assert_eq!(second.title, "title two");
    assert_eq!(second.embedding_model.as_deref(), Some(EXTERNAL_MODEL));
    assert_eq!(second.embedding_dims, Some(16));
    let blob: Vec<u8> = bank
        .backing_store()
        .with_conn(|c| {
            Ok(c.query_row(
                "SELECT vector FROM pattern_embeddings WHERE id = 'keep'",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("blob");
    let stored: Vec<f32> = blob
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(stored, v);
    assert_eq!(iso_of(&bank), first_iso);
    assert_eq!(bank.count().expect("count").memories, 1);
    // still retrievable with its vector
    let got = bank
        .retrieve(
            "",
            &RetrieveOptions {
                embedding: Some(v.clone()),
                k: 1,
                ..Default::default()
            },
        )
        .expect("retrieve");
    assert_eq!(got[0].memory.id, "keep");
    assert!((got[0].components.similarity - 1.0).abs() < 1e-5);
    // a hash-embedded memory gets a new embedding when its text changes, keeping the row
    let h = bank_at(":memory:", BankConfig::default());
    h.store(MemoryInput {
        id: Some("h".into()),
        ..memory("apples", "red apples in the orchard")
    })
    .expect("store");
    h.store(MemoryInput {
        id: Some("h".into()),
        ..memory("submarine", "yellow submarine under the sea")
    })
    .expect("store");
    let got = h
        .retrieve(
            "yellow submarine under the sea",
            &RetrieveOptions {
                k: 1,
                ..Default::default()
            },
        )
        .expect("retrieve");
    assert!(got[0].components.similarity > 0.5);
    assert!(
        h.get("h")
            .expect("get")
            .expect("some")
            .embedding_model
            .as_deref()
            == Some(HASH_MODEL)
    );
    assert!(h.delete("h").expect("delete"));
    assert!(!h.delete("h").expect("delete again"));
    assert!(h.get("h").expect("get").is_none());
    assert!(h
        .retrieve("yellow submarine", &RetrieveOptions::default())
        .expect("retrieve")
        .is_empty());
}

#[test]
fn mixing_embedding_dimensions_is_rejected() {
    let bank = mem_bank();
    bank.store(MemoryInput {
        embedding: Some(vec![0.5; 8]),
        ..memory("a", "a")
    })
    .expect("store 8");
    let e = bank
        .store(MemoryInput {
            embedding: Some(vec![0.5; 16]),
            ..memory("b", "b")
        })
        .expect_err("16");
    assert_eq!(e.code, ErrorCode::EmbeddingDims);
    assert_eq!(
        bank.store(memory("c", "c")).expect_err("hash").code,
        ErrorCode::EmbeddingDims
    );
    assert_eq!(
        bank.retrieve("text", &RetrieveOptions::default())
            .expect_err("query")
            .code,
        ErrorCode::EmbeddingDims
    );
    let opts = RetrieveOptions {
        embedding: Some(vec![0.5; 3]),
        ..Default::default()
    };
    assert_eq!(
        bank.retrieve("", &opts).expect_err("query dims").code,
        ErrorCode::EmbeddingDims
    );
    assert_eq!(bank.count().expect("count").memories, 1);
    let e = bank
        .store(MemoryInput {
            embedding: Some(vec![f32::INFINITY; 8]),
            ..memory("d", "d")
        })
        .expect_err("inf");
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert_eq!(
        bank.store(memory(" ", "x")).expect_err("title").code,
        ErrorCode::InvalidInput
    );
    let e = bank
        .store(MemoryInput {
            confidence: Some(f64::NAN),
            ..memory("x", "x")
        })
        .expect_err("nan conf");
    assert_eq!(e.code, ErrorCode::InvalidInput);
}

// ---------- learnings ----------

#[test]
fn learnings_store_validate_and_count() {
    let bank = mem_bank();
    let l = bank
        .store_learning(LearningInput {
            pattern: "cache the parsed config between calls".into(),
            outcome: "success".into(),
            reward: 0.9,
            context: Some(json!({"tool": "parser"})),
            session: Some("s1".into()),
            action: Some("cache".into()),
            ..Default::default()
        })
        .expect("learning");
    assert_eq!(bank.get_learning(&l.id).expect("get"), Some(l.clone()));
    let e = bank
        .store_learning(LearningInput {
            pattern: "p".into(),
            outcome: "o".into(),
            reward: f64::NAN,
            ..Default::default()
        })
        .expect_err("nan");
    assert_eq!(e.code, ErrorCode::InvalidReward);
    let e = bank
        .store_learning(LearningInput {
            pattern: "p".into(),
            outcome: "o".into(),
            reward: f64::INFINITY,
            ..Default::default()
        })
        .expect_err("inf");
    assert_eq!(e.code, ErrorCode::InvalidReward);
    assert_eq!(
        bank.count().expect("count"),
        BankCounts {
            memories: 0,
            learnings: 1
        }
    );
    assert!(bank.delete(&l.id).expect("delete"));
    assert_eq!(bank.count().expect("count").learnings, 0);
    assert!(bank
        .query("parsed config", &QueryOptions::default())
        .expect("q")
        .is_empty());
}

// ---------- full-text search ----------

#[test]
fn full_text_query_is_safe_with_hostile_input_and_filters() {
    let bank = mem_bank();
    let m = bank
        .store(memory("foo handling", "how to handle foo AND bar safely"))
        .expect("store");
    bank.store(memory("unrelated", "nothing to see"))
        .expect("store");
    let l = bank
        .store_learning(LearningInput {
            pattern: "foo needs a retry".into(),
            outcome: "success".into(),
            reward: 5.0,
            ..Default::default()
        })
        .expect("learning");
    for hostile in [
        "\"foo AND (",
        "*",
        "\"",
        "'",
        "foo\"bar",
        "NEAR(foo",
        "title:foo",
        "foo OR",
        "-foo",
        "^foo",
        "(((",
        "AND",
        "foo*",
        "🙂 foo",
    ] {
        let r = bank.query(hostile, &QueryOptions::default());
        assert!(r.is_ok(), "{hostile}: {r:?}");
    }
    assert!(bank
        .query("*", &QueryOptions::default())
        .expect("star")
        .is_empty());
    let hits = bank
        .query("\"foo AND (", &QueryOptions::default())
        .expect("q");
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert!(
        ids.contains(&m.id.as_str()) && ids.contains(&l.id.as_str()),
        "{hits:?}"
    );
    assert!(!hits.iter().any(|h| h.title == "unrelated"));
    let by_reward = bank
        .query(
            "foo",
            &QueryOptions {
                order: QueryOrder::Reward,
                ..Default::default()
            },
        )
        .expect("reward");
    assert_eq!(by_reward[0].id, l.id);
    assert_eq!(by_reward[0].kind, "learning");
    assert_eq!(by_reward[0].value, Some(5.0));
    let future = bank
        .query(
            "foo",
            &QueryOptions {
                since_ms: Some(now_ms() + 60_000),
                ..Default::default()
            },
        )
        .expect("since");
    assert!(future.is_empty());
    assert_eq!(
        bank.query("   ", &QueryOptions::default())
            .expect_err("empty")
            .code,
        ErrorCode::InvalidInput
    );
    // update re-indexes, delete un-indexes
    bank.store(MemoryInput {
        id: Some(m.id.clone()),
        ..memory("renamed", "quux only")
    })
    .expect("update");
    assert!(!bank
        .query("bar", &QueryOptions::default())
        .expect("q")
        .iter()
        .any(|h| h.id == m.id));
    assert!(bank
        .query("quux", &QueryOptions::default())
        .expect("q")
        .iter()
        .any(|h| h.id == m.id));
    bank.delete(&m.id).expect("delete");
    assert!(bank
        .query("quux", &QueryOptions::default())
        .expect("q")
        .is_empty());
}

// ---------- JSON ----------

#[test]
fn json_round_trip_loses_nothing_and_reports_bad_paths() {
    let bank = mem_bank();
    bank.store(MemoryInput {
        id: Some("m1".into()),
        title: "t".into(),
        description: "d".into(),
        content: "c".into(),
        outcome: MemoryOutcome::Failure,
        task_id: Some("task".into()),
        agent_id: Some("agent".into()),
        evidence: vec![json!({"step": 1}), json!("log line")],
        tags: vec!["a".into(), "b".into()],
        domain: Some("web".into()),
        confidence: Some(0.7),
        embedding: None,
    })
    .expect("store");
    bank.store(MemoryInput {
        id: Some("m2".into()),
        ..memory("second memory", "with content")
    })
    .expect("store");
    bank.store_learning(LearningInput {
        id: Some("l1".into()),
        pattern: "p".into(),
        outcome: "ok".into(),
        reward: -0.25,
        context: Some(json!({"k": [1, 2]})),
        session: Some("s".into()),
        action: None,
    })
    .expect("learning");
    bank.backing_store()
        .with_conn(|c| {
            c.execute("INSERT INTO pattern_links (src_id, dst_id, relation, weight) VALUES ('m1', 'm2', 'refines', 0.5)", [])?;
            c.execute("UPDATE patterns SET usage_count = 3, last_used = '2025-02-03 04:05:06' WHERE id = 'm1'", [])?;
            Ok(())
        })
        .expect("link");
    let doc = bank.export_json().expect("export");
    assert_eq!(doc["memories"].as_array().map(Vec::len), Some(2));
    assert_eq!(doc["learnings"].as_array().map(Vec::len), Some(1));
    let other = mem_bank();
    let report = other.import_json(&doc).expect("import");
    assert_eq!(
        (
            report.memories,
            report.embeddings,
            report.learnings,
            report.links
        ),
        (2, 2, 1, 1)
    );
    assert_eq!(other.export_json().expect("export"), doc);
    // idempotent
    other.import_json(&doc).expect("again");
    assert_eq!(other.export_json().expect("export"), doc);
    assert_eq!(
        other.count().expect("count"),
        BankCounts {
            memories: 2,
            learnings: 1
        }
    );
    let got = other.get("m1").expect("get").expect("m1");
    assert_eq!(
        got.source.evidence,
        vec![json!({"step": 1}), json!("log line")]
    );
    assert_eq!(got.usage_count, 3);

    let mut bad = doc.clone();
    bad["memories"][1]["embedding"]["vector"][5] = json!("x");
    let e = other.import_json(&bad).expect_err("bad vector");
    assert_eq!(e.code, ErrorCode::InvalidJson);
    assert!(
        e.message.contains("$.memories[1].embedding.vector[5]"),
        "{}",
        e.message
    );
    let mut bad = doc.clone();
    bad["learnings"][0]["reward"] = json!(null);
    let e = other.import_json(&bad).expect_err("bad reward");
    assert!(e.message.contains("$.learnings[0].reward"), "{}", e.message);
    assert_eq!(
        other.import_json(&json!([1, 2])).expect_err("array").code,
        ErrorCode::InvalidJson
    );
    let e = other
        .import_json(&json!({"memories": [{"id": "x", "patternData": {"title": 3}}]}))
        .expect_err("title");
    assert!(
        e.message.contains("$.memories[0].patternData.title"),
        "{}",
        e.message
    );
}

// ---------- agentic-flow import/export ----------

/// `(id, created_at, pattern_data, confidence, usage_count, vector)` of every pattern.
type RawRow = (String, String, String, f64, i64, Option<Vec<u8>>);

fn raw_rows(path: &str) -> Vec<RawRow> {
    let c = Connection::open(path).expect("open");
    let mut s = c
        .prepare(
            "SELECT p.id, p.created_at, p.pattern_data, p.confidence, p.usage_count, e.vector FROM patterns p
             LEFT JOIN pattern_embeddings e ON e.id = p.id ORDER BY p.id",
        )
        .expect("prepare");
    let rows = s
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .expect("query")
        .collect::<std::result::Result<Vec<_>, _>>()
        .expect("rows");
    rows
}

#[test]
fn agentic_flow_import_export_is_idempotent_and_preserves_rows() {
    let dir = TempDir::new();
    let ours = dir.file("ours.db");
    let theirs = dir.file("af/.swarm/memory.db");
    let bank = bank_at(&ours, BankConfig::default());
    for i in 0..25 {
        bank.store(MemoryInput {
            id: Some(format!("id-{i:02}")),
            ..memory(&format!("memory {i}"), &format!("content {i}"))
        })
        .expect("store");
    }
    bank.backing_store()
        .with_conn(|c| {
            c.execute("UPDATE patterns SET created_at = '2023-05-06 07:08:09' WHERE id = 'id-03'", [])?;
            c.execute("INSERT INTO pattern_links (src_id, dst_id, relation, weight) VALUES ('id-01', 'id-02', 'entails', 0.9)", [])?;
            Ok(())
        })
        .expect("tweak");
    let r1 = bank.export_agentic_flow(&theirs).expect("export");
    assert_eq!((r1.memories, r1.embeddings, r1.links), (25, 25, 1));
    let after_first = raw_rows(&theirs);
    bank.export_agentic_flow(&theirs).expect("export again");
    assert_eq!(raw_rows(&theirs), after_first);
    assert_eq!(raw_rows(&ours), after_first);
    assert!(after_first
        .iter()
        .any(|r| r.0 == "id-03" && r.1 == "2023-05-06 07:08:09"));

    let fresh = bank_at(&dir.file("fresh.db"), BankConfig::default());
    let r = fresh.import_agentic_flow(&theirs).expect("import");
    assert_eq!((r.memories, r.embeddings, r.links), (25, 25, 1));
    fresh.import_agentic_flow(&theirs).expect("import again");
    assert_eq!(raw_rows(&dir.file("fresh.db")), after_first);
    assert_eq!(fresh.count().expect("count").memories, 25);
    assert_eq!(
        fresh.links_from("id-01", "entails").expect("links"),
        vec![("id-02".to_string(), 0.9)]
    );
    let hits = fresh
        .query("content 7", &QueryOptions::default())
        .expect("fts");
    assert!(hits.iter().any(|h| h.id == "id-07"));
    let got = fresh
        .retrieve(
            "memory 7 content 7",
            &RetrieveOptions {
                k: 1,
                mmr_lambda: 1.0,
                ..Default::default()
            },
        )
        .expect("retrieve");
    assert_eq!(got[0].memory.id, "id-07");
    assert_eq!(
        fresh
            .import_agentic_flow(&dir.file("missing.db"))
            .expect_err("missing")
            .code,
        ErrorCode::NotFound
    );
    let cwd = std::path::Path::new("/work/project");
    assert_eq!(
        resolve_agentic_flow_db_path(Some("/tmp/some/where.db"), cwd),
        "/tmp/some/where.db"
    );
    assert_eq!(
        resolve_agentic_flow_db_path(Some("  "), cwd),
        "/work/project/.swarm/memory.db"
    );
    assert_eq!(
        resolve_agentic_flow_db_path(None, cwd),
        "/work/project/.swarm/memory.db"
    );
    if std::env::var("CLAUDE_FLOW_DB_PATH").is_err() {
        assert!(default_agentic_flow_db_path().ends_with(".swarm/memory.db"));
    }
}

// ---------- eviction ----------

#[test]
fn eviction_keeps_high_value_items() {
    let cfg = BankConfig {
        max_memories: 20,
        max_learnings: 10,
        ..Default::default()
    };
    let bank = bank_at(":memory:", cfg);
    let mut precious = Vec::new();
    for i in 0..10 {
        let r = bank
            .store(MemoryInput {
                confidence: Some(0.95),
                ..memory(&format!("precious {i}"), "keep me")
            })
            .expect("store");
        precious.push(r.id);
    }
    for i in 0..40 {
        bank.store(MemoryInput {
            confidence: Some(0.05 + (i as f64) * 0.001),
            ..memory(&format!("filler {i}"), "evict me")
        })
        .expect("store");
        assert!(bank.count().expect("count").memories <= 20);
    }
    for id in &precious {
        assert!(bank.get(id).expect("get").is_some(), "{id} was evicted");
    }
    for i in 0..30 {
        bank.store_learning(LearningInput {
            pattern: format!("learning {i}"),
            outcome: "x".into(),
            reward: if i < 5 { 10.0 } else { -10.0 },
            id: Some(format!("l{i}")),
            ..Default::default()
        })
        .expect("learning");
    }
    assert!(bank.count().expect("count").learnings <= 10);
    for i in 0..5 {
        assert!(bank.get_learning(&format!("l{i}")).expect("get").is_some());
    }
    assert_eq!(
        BankConfig {
            max_memories: 0,
            ..Default::default()
        }
        .validate()
        .expect_err("cap")
        .code,
        ErrorCode::InvalidConfig
    );
    assert_eq!(
        BankConfig::from_json(&json!({"maxMemorys": 3}))
            .expect_err("typo")
            .code,
        ErrorCode::InvalidConfig
    );
    assert_eq!(
        BankConfig::from_json(&json!({"maxMemories": 3}))
            .expect("ok")
            .max_memories,
        3
    );
}

#[test]
fn memory_input_refuses_a_null_confidence() {
    // JSON.stringify turns NaN and Infinity into null: that must not read as "absent" (0.5).
    let e = serde_json::from_str::<MemoryInput>(r#"{"title":"t","confidence":null}"#)
        .expect_err("null confidence");
    assert!(e.to_string().contains("NaN"), "{e}");
    let absent: MemoryInput = serde_json::from_str(r#"{"title":"t"}"#).expect("absent");
    assert_eq!(absent.confidence, None);
    let bank = mem_bank();
    for c in [f64::NAN, f64::INFINITY, -5.0, 1.5] {
        let e = bank
            .store(MemoryInput {
                confidence: Some(c),
                ..memory("bad", "confidence")
            })
            .expect_err("bad confidence");
        assert_eq!(e.code, ErrorCode::InvalidInput);
    }
    assert_eq!(bank.count().expect("count").memories, 0);
}

/// Writes `ids` into the file at `path` the way agentic-flow does (its own connection with
/// foreign keys on, `INSERT OR REPLACE`, no ownership record), with `created_at` set to
/// `created` (an SQL expression).
fn foreign_rows(path: &str, ids: &[String], confidence: f64, created: &str) {
    let c = Connection::open(path).expect("foreign connection");
    c.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy");
    c.pragma_update(None, "foreign_keys", "ON").expect("fk");
    for (i, id) in ids.iter().enumerate() {
        let mut v = vec![0f32; 384];
        v[i % 384] = 1.0;
        agentic_flow_upsert(
            &c,
            id,
            &format!("foreign {id}"),
            "af",
            "Success",
            confidence,
            &v,
        );
        c.execute(
            &format!("UPDATE patterns SET created_at = {created} WHERE id = ?1"),
            [id],
        )
        .expect("created_at");
    }
}

#[test]
fn eviction_deletes_only_what_the_engine_wrote_unless_asked_and_reports_it() {
    let dir = TempDir::new();
    let path = dir.file("shared.db");
    let cfg = BankConfig {
        max_memories: 10,
        evict_to_fraction: 0.5,
        ..Default::default()
    };
    let bank = bank_at(&path, cfg.clone());
    let foreign: Vec<String> = (0..30).map(|i| format!("af-{i:02}")).collect();
    foreign_rows(&path, &foreign, 0.01, "CURRENT_TIMESTAMP"); // lowest value of all
    for i in 0..10 {
        bank.store(MemoryInput {
            id: Some(format!("own-{i}")),
            confidence: Some(0.2 + i as f64 / 20.0),
            ..memory(&format!("own {i}"), "mine")
        })
        .expect("store");
    }
    assert!(bank.take_evictions().is_empty(), "at the cap, not over it");
    let last = bank
        .store(MemoryInput {
            id: Some("just-stored".into()),
            confidence: Some(0.0),
            ..memory("just stored", "lowest value")
        })
        .expect("store");
    assert!(
        bank.get(&last.id).expect("get").is_some(),
        "never its own victim"
    );
    let runs = bank.take_evictions();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(
        (
            run.kind,
            run.mode,
            run.cause,
            run.count,
            run.remaining,
            run.cap
        ),
        (
            EvictedKind::Memory,
            EvictMode::Own,
            EvictionCause::Store,
            6,
            5,
            10
        )
    );
    assert_eq!(
        run.ids,
        (0..6).map(|i| format!("own-{i}")).collect::<Vec<_>>(),
        "lowest value first, own rows only"
    );
    assert!(bank.take_evictions().is_empty(), "taken once");
    let stats = bank.stats().expect("stats");
    assert_eq!(
        (
            stats.memories,
            stats.own_memories,
            stats.evicted_memories,
            stats.evictions
        ),
        (35, 5, 6, 1)
    );
    assert_eq!(stats.last_eviction.as_ref(), Some(run));
    for id in &foreign {
        assert!(
            bank.get(id).expect("get").is_some(),
            "{id} was another writer's"
        );
    }

    // Ownership lives in the file: a second bank (another process, in effect) knows it, and
    // agentic-flow replacing one of our rows (INSERT OR REPLACE) makes it its own.
    foreign_rows(&path, &["own-9".to_string()], 0.9, "CURRENT_TIMESTAMP");
    drop(bank);
    let again = bank_at(&path, cfg.clone());
    assert_eq!(again.stats().expect("stats").own_memories, 4);

    // evict: all — every row may go; an unreadable created_at counts as age 0 (recency 1), as
    // agentic-flow's julianday() makes it, so such rows are not preferred victims.
    let all_path = dir.file("all.db");
    let all = bank_at(
        &all_path,
        BankConfig {
            max_memories: 20,
            evict_to_fraction: 0.55,
            evict: EvictMode::All,
            ..Default::default()
        },
    );
    let undated: Vec<String> = (0..10).map(|i| format!("undated-{i}")).collect();
    let old: Vec<String> = (0..10).map(|i| format!("old-{i}")).collect();
    foreign_rows(&all_path, &undated, 0.5, "'sometime last spring'");
    foreign_rows(&all_path, &old, 0.5, "datetime('now', '-400 days')");
    all.store(memory("pushes it over", "x")).expect("store");
    let runs = all.take_evictions();
    assert_eq!(runs.len(), 1);
    let mut gone = runs[0].ids.clone();
    gone.sort();
    assert_eq!(
        gone, old,
        "21 rows down to 11: the old ones go, the undated stay"
    );
    assert_eq!(runs[0].mode, EvictMode::All);
    assert_eq!(all.count().expect("count").memories, 11);

    // evict: none — nothing is deleted; the caps are only reported.
    let none = bank_at(
        ":memory:",
        BankConfig {
            max_memories: 2,
            max_learnings: 2,
            evict: EvictMode::None,
            ..Default::default()
        },
    );
    for i in 0..5 {
        none.store(memory(&format!("kept {i}"), "x"))
            .expect("store");
        none.store_learning(LearningInput {
            pattern: format!("learning {i}"),
            outcome: "ok".into(),
            reward: -1.0,
            ..Default::default()
        })
        .expect("learning");
    }
    assert!(none.take_evictions().is_empty());
    let s = none.stats().expect("stats");
    assert_eq!((s.memories, s.learnings, s.evictions), (5, 5, 0));
    assert_eq!(
        BankConfig::from_json(&json!({"evict": "everything"}))
            .expect_err("bad mode")
            .code,
        ErrorCode::InvalidConfig
    );
    assert_eq!(
        BankConfig::from_json(&json!({"evict": "all"}))
            .expect("ok")
            .evict,
        EvictMode::All
    );
}

#[test]
fn imports_mark_the_rows_they_create_as_the_engines_and_report_evictions() {
    let src = mem_bank();
    for i in 0..12 {
        src.store(MemoryInput {
            id: Some(format!("m-{i:02}")),
            confidence: Some(0.2 + i as f64 / 20.0),
            ..memory(&format!("m {i}"), "x")
        })
        .expect("store");
    }
    let doc = src.export_json().expect("export");
    let dst = bank_at(
        ":memory:",
        BankConfig {
            max_memories: 8,
            evict_to_fraction: 0.5,
            ..Default::default()
        },
    );
    let report = dst.import_json(&doc).expect("import");
    assert_eq!((report.memories, report.evicted), (12, 8));
    let runs = dst.take_evictions();
    assert_eq!(runs[0].cause, EvictionCause::ImportJson);
    assert_eq!(
        runs[0].ids,
        (0..8).map(|i| format!("m-{i:02}")).collect::<Vec<_>>()
    );
    assert_eq!(dst.stats().expect("stats").own_memories, 4);
}

// ---------- consolidation ----------

#[test]
fn consolidate_links_duplicates_and_contradictions_and_prunes() {
    let bank = mem_bank();
    let text = "always run the database migration before restarting the api server";
    let a = bank.store(memory("migrations first", text)).expect("a");
    let b = bank.store(memory("migrations first", text)).expect("b");
    let fail = bank
        .store(MemoryInput {
            outcome: MemoryOutcome::Failure,
            ..memory("migrations first", &format!("{text} failed"))
        })
        .expect("fail");
    let other = bank
        .store(memory("coffee", "brew coffee with freshly ground beans"))
        .expect("other");
    let doc = json!({"memories": [{
        "id": "old", "patternData": {"title": "stale", "content": "old and unused"},
        "confidence": 0.1, "usageCount": 0, "createdAt": "2020-01-01 00:00:00"
    }]});
    bank.import_json(&doc).expect("import old");
    let report = bank.consolidate().expect("consolidate");
    // the imported memory has no embedding: it is pruned but not compared
    assert_eq!(report.items_processed, 4);
    assert!(report.duplicates_found >= 1);
    assert!(report.contradictions_found >= 2, "{report:?}");
    assert_eq!(report.items_pruned, 1);
    assert!(bank.get("old").expect("get").is_none());
    assert_eq!(
        bank.links_from(&b.id, "duplicate_of")
            .expect("dup")
            .iter()
            .map(|x| x.0.clone())
            .collect::<Vec<_>>(),
        vec![a.id.clone()]
    );
    let contra_a = bank.links_from(&fail.id, "contradicts").expect("contra");
    assert!(contra_a.iter().any(|x| x.0 == a.id), "{contra_a:?}");
    assert!(bank
        .links_from(&other.id, "duplicate_of")
        .expect("none")
        .is_empty());
    let runs: i64 = bank
        .backing_store()
        .with_conn(
            |c| Ok(c.query_row("SELECT count(*) FROM consolidation_runs", [], |r| r.get(0))?),
        )
        .expect("runs");
    assert_eq!(runs, 1);
    // running again finds the same links without duplicating rows
    bank.consolidate().expect("again");
    let links: i64 = bank
        .backing_store()
        .with_conn(|c| Ok(c.query_row("SELECT count(*) FROM pattern_links", [], |r| r.get(0))?))
        .expect("links");
    assert_eq!(
        links as usize,
        report.duplicates_found + report.contradictions_found
    );
}

// ---------- concurrency ----------

#[test]
fn two_stores_on_one_file_writing_concurrently_lose_nothing() {
    let dir = TempDir::new();
    let path = dir.file("shared.db");
    let a = Arc::new(bank_at(&path, BankConfig::default()));
    let b = Arc::new(bank_at(&path, BankConfig::default()));
    let threads: Vec<_> = [("a", a.clone()), ("b", b.clone())]
        .into_iter()
        .map(|(name, bank)| {
            std::thread::spawn(move || {
                for i in 0..150 {
                    bank.store(MemoryInput {
                        id: Some(format!("{name}-{i}")),
                        ..memory(&format!("{name} memory {i}"), "shared file content")
                    })
                    .expect("store");
                    bank.store_learning(LearningInput {
                        pattern: format!("{name} learning {i}"),
                        outcome: "ok".into(),
                        reward: 1.0,
                        ..Default::default()
                    })
                    .expect("learning");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(
        a.count().expect("count"),
        BankCounts {
            memories: 300,
            learnings: 300
        }
    );
    assert_eq!(
        b.count().expect("count"),
        BankCounts {
            memories: 300,
            learnings: 300
        }
    );
    // each bank sees the other's memories in retrieval and search
    let opts = RetrieveOptions {
        k: 1,
        mmr_lambda: 1.0,
        min_confidence: 0.0,
        ..Default::default()
    };
    assert_eq!(
        a.retrieve("b memory 77 about b memory 77 shared file content", &opts)
            .expect("r")[0]
            .memory
            .id,
        "b-77"
    );
    assert_eq!(
        b.retrieve("a memory 12 about a memory 12 shared file content", &opts)
            .expect("r")[0]
            .memory
            .id,
        "a-12"
    );
    let hits = a
        .query(
            "learning",
            &QueryOptions {
                limit: 1000,
                ..Default::default()
            },
        )
        .expect("q");
    assert_eq!(hits.len(), 300);
}

#[test]
fn two_banks_sharing_one_store_see_each_others_writes() {
    let store = Arc::new(Store::open(":memory:").expect("store"));
    let a = ReasoningBank::open(store.clone(), BankConfig::default()).expect("a");
    let b = ReasoningBank::open(store, BankConfig::default()).expect("b");
    let opts = RetrieveOptions {
        k: 1,
        mmr_lambda: 1.0,
        ..Default::default()
    };
    assert!(b.retrieve("kangaroo", &opts).expect("empty").is_empty());
    let m = a
        .store(memory("kangaroo facts", "kangaroos hop across the outback"))
        .expect("store");
    let got = b.retrieve("kangaroo facts", &opts).expect("retrieve");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].memory.id, m.id);
    assert_eq!(
        b.query("outback", &QueryOptions::default())
            .expect("fts")
            .len(),
        1
    );
    assert!(b.delete(&m.id).expect("delete"));
    assert!(a
        .retrieve("kangaroo facts", &opts)
        .expect("retrieve")
        .is_empty());
    assert_eq!(a.count().expect("count").memories, 0);
}

#[test]
fn approximate_index_past_the_threshold_stays_in_step_and_survives_reopen_and_damage() {
    let dir = TempDir::new();
    let path = dir.file("ann.db");
    let side = format!("{path}.ann");
    let cfg = BankConfig {
        ann_threshold: 2_000,
        ann_candidates: 200,
        record_usage: false,
        log_metrics: false,
        ..Default::default()
    };
    let mut rng = SmallRng::seed_from_u64(11);
    let gen = Structured::new(&mut rng, 64);
    let vectors: Vec<Vec<f32>> = (0..2_400).map(|_| gen.sample(&mut rng)).collect();
    let bank = bank_at(&path, cfg.clone());
    let put = |bank: &ReasoningBank, i: usize| {
        bank.store(MemoryInput {
            id: Some(format!("m{i}")),
            embedding: Some(vectors[i].clone()),
            confidence: Some(0.3 + (i % 7) as f64 / 10.0),
            ..memory(&format!("memory {i}"), "structured")
        })
        .expect("store");
    };
    for i in 0..1_999 {
        put(&bank, i);
    }
    let query = |q: &[f32], k: usize, exact: bool| RetrieveOptions {
        k,
        embedding: Some(q.to_vec()),
        mmr_lambda: 1.0,
        exact,
        ..Default::default()
    };
    bank.retrieve("", &query(&vectors[0], 5, false)).unwrap();
    assert!(
        !bank.search_info().last_retrieve_approximate,
        "below the threshold the scan is exact"
    );
    assert!(!std::path::Path::new(&side).exists());
    for i in 1_999..2_200 {
        put(&bank, i);
    }
    let ids = |r: Vec<Retrieved>| r.into_iter().map(|m| m.memory.id).collect::<Vec<_>>();
    let recall = |bank: &ReasoningBank| {
        let mut hits = 0;
        for q in vectors.iter().step_by(50).take(40) {
            let exact = ids(bank.retrieve("", &query(q, 10, true)).unwrap());
            assert!(!bank.search_info().last_retrieve_approximate);
            let approx = ids(bank.retrieve("", &query(q, 10, false)).unwrap());
            assert!(bank.search_info().last_retrieve_approximate);
            hits += approx.iter().filter(|id| exact.contains(id)).count();
        }
        hits as f64 / 400.0
    };
    let r = recall(&bank);
    assert!(r >= 0.9, "recall@10 {r}");
    assert!(
        std::path::Path::new(&side).exists(),
        "trained index saved beside the store"
    );
    // Inserts and deletes after training are searched; deleted rows never come back.
    for i in 2_200..2_400 {
        put(&bank, i);
    }
    for i in (0..2_400).step_by(4) {
        assert!(bank.delete(&format!("m{i}")).unwrap());
    }
    for i in (2_201..2_400).step_by(4) {
        let got = ids(bank.retrieve("", &query(&vectors[i], 3, false)).unwrap());
        assert_eq!(
            got[0],
            format!("m{i}"),
            "a memory inserted after training is its own best match"
        );
    }
    for q in vectors.iter().step_by(97) {
        let got = ids(bank.retrieve("", &query(q, 20, false)).unwrap());
        assert!(
            got.iter()
                .all(|id| id[1..].parse::<usize>().unwrap() % 4 != 0),
            "{got:?}"
        );
    }
    let before = recall(&bank);
    assert!(before >= 0.9, "recall@10 after changes {before}");
    drop(bank);
    // Reopen: the side file is loaded and reconciled; the same answers come back.
    let bank = bank_at(&path, cfg.clone());
    assert!((recall(&bank) - before).abs() < 1e-9);
    drop(bank);
    // A damaged side file is ignored: below the threshold (1,800 < 2,000) the search is
    // exact again; past it the index is trained anew and the side file replaced.
    let mut bytes = std::fs::read(&side).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&side, &bytes).unwrap();
    let bank = bank_at(&path, cfg.clone());
    bank.retrieve("", &query(&vectors[1], 5, false)).unwrap();
    assert!(!bank.search_info().last_retrieve_approximate);
    drop(bank);
    let bank = bank_at(
        &path,
        BankConfig {
            ann_threshold: 1_500,
            ..cfg
        },
    );
    assert!(recall(&bank) >= 0.9);
    drop(bank);
    assert_ne!(
        std::fs::read(&side).unwrap(),
        bytes,
        "the damaged side file was replaced"
    );
}

#[test]
fn an_unwritable_side_file_never_fails_retrieval() {
    let dir = TempDir::new();
    let path = dir.file("ro.db");
    // A directory where the side file should go: writing it (rename) fails.
    std::fs::create_dir_all(format!("{path}.ann")).unwrap();
    let cfg = BankConfig {
        ann_threshold: 50,
        ann_candidates: 20,
        ..Default::default()
    };
    let bank = bank_at(&path, cfg);
    for i in 0..80 {
        bank.store(memory(
            &format!("memory {i}"),
            &format!("content number {i} about retries"),
        ))
        .unwrap();
    }
    let got = bank
        .retrieve(
            "retries",
            &RetrieveOptions {
                k: 3,
                ..Default::default()
            },
        )
        .expect("retrieval works without its side file");
    assert_eq!(got.len(), 3);
    let info = bank.search_info();
    assert!(info.last_retrieve_approximate && info.approximate_index);
    assert!(info.side_file_error.is_some(), "{info:?}");
    assert!(
        bank.flush_index().is_err(),
        "an explicit flush reports the failure"
    );
    bank.store(memory("one more", "after the failure")).unwrap();
    assert!(bank.delete("nope").is_ok());
}

#[test]
fn a_url_is_never_taken_for_a_store_file() {
    let dir = std::env::temp_dir().join(format!("la-url-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for url in [
        "postgresql://agent:secret@db:5432/bank",
        "postgres://localhost/bank",
        "file:///tmp/x.db",
        "S3+v2.x-y://bucket/key",
    ] {
        let Err(e) = Store::open(url) else {
            panic!("{url} was opened as a file")
        };
        assert_eq!(e.code, ErrorCode::InvalidConfig, "{url}: {}", e.message);
        assert!(!e.message.contains("secret"), "{}", e.message);
    }
    // Not URLs: a colon in a name, a drive-like prefix, `://` after a path separator.
    for name in ["store:1.db", "c:data.db", "a/b://c.db"] {
        let path = dir.join(name);
        let p = path.to_str().unwrap();
        assert!(Store::open(p).is_ok(), "{p} is a file name");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

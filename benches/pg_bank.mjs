// The reasoning bank on PostgreSQL + pgvector against the embedded SQLite bank, side by side in
// one run (issue #20): batched write throughput, and retrieval k=5 (default MMR) and plain top-10
// at each size, for
//
// - pg-index: PostgreSQL, candidates from the bank's index — HNSW over the cosine below 100,000
//             memories, the IVF index over the score itself from there (built by the bulk load
//             at the end; `ivfProbes` lists scanned) — scored natively (0.65 cosine + 0.15
//             recency + 0.20 confidence, MMR);
// - pg-exact: PostgreSQL, `exact: true`: every row to the native scorer (what exactness costs
//             when the vectors live in the database);
// - sqlite:   the embedded bank (exact int8/f32 scan below annThreshold, the calibrated sketch
//             index above it; annThreshold is left at its default, 200,000).
//
// Recall@10 is measured on plain top-10 (mmrLambda 1) against the SQLite bank's exact answer
// (`exact: true`) on the same data. Vectors: 384-d, a mixture of 2,000 Gaussian centres plus
// per-dimension noise of the same scale (clustered like real embedding sets, full rank), each
// row normalised; queries drawn the same way; confidence and age vary per row. Modes are
// measured alternately per query, so machine noise hits them alike.
//
//   LEAN_AGENTIC_PG_URL=postgresql://… node benches/pg_bank.mjs [--rows 10000,100000]
//     [--queries 200] [--exact-queries 20] [--batch 1000] [--extra 20000] [--bulk-only | --pg-only]
//
// (`npm run bench:pg` starts a local server when no URL is given.) Writes bench-results-pg.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { mixture } from './vectors.mjs';

const require = createRequire(import.meta.url);
const { LeanAgenticSystem, migrateBank } = require('../dist/index.js');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const SIZES = arg('rows', '10000,100000').split(',').map(Number);
const QUERIES = Number(arg('queries', 200));
const EXACT_QUERIES = Number(arg('exact-queries', 20));
const BATCH = Number(arg('batch', 1000));
// --extra: memories written into the loaded, indexed bank after the queries (0: none).
const EXTRA = Number(arg('extra', 20000));
// --bulk-only: skip the row-by-row PostgreSQL load (HNSW maintained per row: ~45 min at 1M here);
// the rows reach PostgreSQL by the migration only, and the queries run on that schema.
const BULK_ONLY = process.argv.includes('--bulk-only');
// --pg-only: no SQLite bank (loading 1M rows into it takes ~35 min here): PostgreSQL is loaded
// with `bank.bulkLoad` (rows, then one index build), and recall is measured against the
// PostgreSQL bank's own `exact: true` on the first --exact-queries queries.
const PG_ONLY = process.argv.includes('--pg-only');
const URL_ = process.env.LEAN_AGENTIC_PG_URL;
const DIMS = 384;
const DAY = 86_400_000;
if (!URL_) {
  console.error('pg_bank: set LEAN_AGENTIC_PG_URL (or run `npm run bench:pg`, which starts a local server)');
  process.exit(2);
}

/** Rows as plain arrays of f32 values (what `importJson` documents hold). */
function rowsOf(seed) {
  const next = mixture(seed, DIMS);
  return () => Array.from(next(), (x) => Math.fround(x));
}

const pct = (a, p) => a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))];
const stat = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return { p50_ms: pct(s, 50), p99_ms: pct(s, 99), n: s.length };
};

/** Batches of `BATCH` memories as importJson documents (ids, confidence, age, embeddings). */
function* batches(rows, next, prefix = 'm') {
  const now = Date.now();
  for (let start = 0; start < rows; start += BATCH) {
    const memories = [];
    for (let i = start; i < Math.min(rows, start + BATCH); i++) {
      const created = new Date(now - (i % 120) * DAY - 60_000).toISOString().replace('T', ' ').slice(0, 19);
      memories.push({
        id: `${prefix}${i}`,
        type: 'reasoning_memory',
        patternData: { title: `memory ${i}`, description: '', content: `content ${i}`, source: { outcome: 'Success', evidence: [] }, tags: [], domain: ['web', 'db', 'ops'][i % 3] },
        confidence: 0.3 + (i % 7) / 10,
        usageCount: 0,
        createdAt: created,
        lastUsed: null,
        embedding: { model: 'bench', dims: DIMS, vector: next(), createdAt: created },
      });
    }
    yield { format: 'lean-agentic-memory', version: 1, memories };
  }
}

/**
 * Batched writes into the loaded bank with its index maintained on every insert (HNSW below
 * 100,000 memories, IVF from there): `EXTRA` new memories in `BATCH`-row transactions, through
 * `importJson` (JSON from JS) and through `migrateBank` from a SQLite file (native, no JSON).
 */
async function writesWithIndex(pg, next, schema, dir) {
  const t = performance.now();
  for (const doc of batches(EXTRA, next, 'x')) pg.bank.importJson(doc);
  const ms = performance.now() - t;
  const r = { memories: EXTRA, batch: BATCH, import_json_per_s: EXTRA / (ms / 1000), load: os.loadavg()[0] };
  const file = path.join(dir, `extra-${schema}.db`);
  const lite = await LeanAgenticSystem.open({ path: file, bank: { maxMemories: EXTRA + 1000, evict: 'none', recordUsage: false } });
  for (const doc of batches(EXTRA, next, 'y')) lite.bank.importJson(doc);
  await lite.close();
  const t2 = performance.now();
  migrateBank({ from: file, to: { url: URL_, pgSchema: schema }, batchSize: BATCH });
  r.migrate_per_s = EXTRA / ((performance.now() - t2) / 1000);
  r.load_migrate = os.loadavg()[0];
  console.log(`  + ${EXTRA} memories into the indexed bank, ${BATCH}/transaction: importJson ${Math.round(r.import_json_per_s)}/s, migrate ${Math.round(r.migrate_per_s)}/s (load ${r.load_migrate.toFixed(2)})`);
  return r;
}

async function measurePgOnly(rows, dir) {
  const schema = `bench_${rows}_${process.pid}_pg`;
  const pg = await LeanAgenticSystem.open({ path: ':memory:', bank: { url: URL_, pgSchema: schema, recordUsage: false } });
  const next = rowsOf(20261206);
  const out = { rows, mode: 'pg-only' };
  let loadMs = 0;
  const t = performance.now();
  const buildMs = pg.bank.bulkLoad(() => {
    for (const doc of batches(rows, next)) pg.bank.importJson(doc);
    loadMs = performance.now() - t;
  });
  out.write = { batch: BATCH, bulk_rows_per_s: rows / (loadMs / 1000), bulk_index_build_ms: buildMs, bulk_memories_per_s: rows / ((performance.now() - t) / 1000), load: os.loadavg()[0] };
  console.log(`${rows} rows: bulkLoad rows ${Math.round(out.write.bulk_rows_per_s)}/s, index build ${(buildMs / 1000).toFixed(1)} s, overall ${Math.round(out.write.bulk_memories_per_s)}/s (load ${out.write.load.toFixed(2)})`);
  const queries = Array.from({ length: QUERIES }, () => next());
  for (let i = 0; i < 5; i++) pg.bank.retrieve('', { embedding: queries[i], k: 5 });
  for (const [label, opts] of [['k5_mmr', { k: 5 }], ['top10', { k: 10, mmrLambda: 1 }]]) {
    const times = { 'pg-index': [], 'pg-exact': [] };
    let hits = 0;
    let total = 0;
    for (let qi = 0; qi < queries.length; qi++) {
      let s = performance.now();
      const a = pg.bank.retrieve('', { embedding: queries[qi], ...opts });
      times['pg-index'].push(performance.now() - s);
      if (qi < EXACT_QUERIES) {
        s = performance.now();
        const truth = pg.bank.retrieve('', { embedding: queries[qi], ...opts, exact: true });
        times['pg-exact'].push(performance.now() - s);
        const ids = new Set(truth.map((r) => r.memory.id));
        hits += a.filter((r) => ids.has(r.memory.id)).length;
        total += truth.length;
      }
    }
    out[label] = { 'pg-index': stat(times['pg-index']), 'pg-exact': stat(times['pg-exact']), pg_index_recall: hits / total, recall_queries: Math.min(EXACT_QUERIES, queries.length), load: os.loadavg()[0] };
    const r = out[label];
    console.log(
      `${rows} rows ${label}: pg-index p50 ${r['pg-index'].p50_ms.toFixed(2)} p99 ${r['pg-index'].p99_ms.toFixed(2)} ms (recall ${r.pg_index_recall.toFixed(3)} over ${r.recall_queries} queries) | ` +
        `pg-exact p50 ${r['pg-exact'].p50_ms.toFixed(1)} ms | load ${r.load.toFixed(2)}`,
    );
  }
  out.index = pg.bank.searchInfo();
  if (EXTRA > 0) out.write.with_index = await writesWithIndex(pg, next, schema, dir);
  await pg.close();
  return out;
}

async function measure(rows, dir) {
  if (PG_ONLY) return measurePgOnly(rows, dir);
  const schema = `bench_${rows}_${process.pid}`;
  let pg = BULK_ONLY ? null : await LeanAgenticSystem.open({ path: ':memory:', bank: { url: URL_, pgSchema: schema, recordUsage: false } });
  let lite = await LeanAgenticSystem.open({ path: path.join(dir, `${rows}.db`), bank: { maxMemories: rows + 1000, evict: 'none', recordUsage: false } });
  const out = { rows };
  // Writes: the same batches into both stores, timed separately.
  let pgMs = 0;
  let liteMs = 0;
  const next = rowsOf(20261206);
  for (const doc of batches(rows, next)) {
    const json = doc; // the same object for both
    let t = performance.now();
    if (pg) pg.bank.importJson(json);
    pgMs += performance.now() - t;
    t = performance.now();
    lite.bank.importJson(json);
    liteMs += performance.now() - t;
  }
  out.write = {
    batch: BATCH,
    pg_memories_per_s: pg ? rows / (pgMs / 1000) : null,
    sqlite_memories_per_s: rows / (liteMs / 1000),
    load: os.loadavg()[0],
  };
  console.log(`${rows} rows: batched writes (${BATCH}/transaction) PostgreSQL ${pg ? Math.round(out.write.pg_memories_per_s) : '(skipped)'}/s, SQLite ${Math.round(out.write.sqlite_memories_per_s)}/s`);
  // Bulk: the SQLite bank migrated into an empty PostgreSQL schema (`lean-agentic migrate`):
  // rows first, then one index build.
  await lite.close();
  let t = performance.now();
  const moved = migrateBank({ from: path.join(dir, `${rows}.db`), to: { url: URL_, pgSchema: `${schema}_bulk` }, batchSize: BATCH });
  const bulkMs = performance.now() - t;
  out.write.bulk_memories_per_s = rows / (bulkMs / 1000);
  out.write.bulk_index_build_ms = moved.indexBuildMs;
  console.log(`${rows} rows: migrate into an empty schema ${Math.round(out.write.bulk_memories_per_s)}/s (index build ${(moved.indexBuildMs / 1000).toFixed(1)} s of ${(bulkMs / 1000).toFixed(1)} s)`);
  lite = await LeanAgenticSystem.open({ path: path.join(dir, `${rows}.db`), bank: { maxMemories: rows + 1000, evict: 'none', recordUsage: false } });
  pg ??= await LeanAgenticSystem.open({ path: ':memory:', bank: { url: URL_, pgSchema: `${schema}_bulk`, recordUsage: false } });
  const queries = Array.from({ length: QUERIES }, () => next());
  // Warm-up (and the SQLite bank's first load of its matrix).
  for (let i = 0; i < 5; i++) {
    pg.bank.retrieve('', { embedding: queries[i], k: 5 });
    lite.bank.retrieve('', { embedding: queries[i], k: 5 });
  }
  for (const [label, opts] of [['k5_mmr', { k: 5 }], ['top10', { k: 10, mmrLambda: 1 }]]) {
    const t = { 'pg-index': [], 'pg-exact': [], sqlite: [] };
    let hits = 0;
    let agree = 0;
    let total = 0;
    for (let qi = 0; qi < queries.length; qi++) {
      const q = queries[qi];
      let s = performance.now();
      const truth = lite.bank.retrieve('', { embedding: q, ...opts, exact: true });
      s = performance.now();
      const a = pg.bank.retrieve('', { embedding: q, ...opts });
      t['pg-index'].push(performance.now() - s);
      s = performance.now();
      lite.bank.retrieve('', { embedding: q, ...opts });
      t.sqlite.push(performance.now() - s);
      if (qi < EXACT_QUERIES) {
        s = performance.now();
        const e = pg.bank.retrieve('', { embedding: q, ...opts, exact: true });
        t['pg-exact'].push(performance.now() - s);
        agree += e.every((r, i) => r.memory.id === truth[i]?.memory.id && r.score === truth[i].score) ? 1 : 0;
      }
      const ids = new Set(truth.map((r) => r.memory.id));
      hits += a.filter((r) => ids.has(r.memory.id)).length;
      total += truth.length;
    }
    out[label] = {
      'pg-index': stat(t['pg-index']),
      'pg-exact': stat(t['pg-exact']),
      sqlite: stat(t.sqlite),
      // recall@k of the HNSW path against the exact answer (for MMR: the share of the exact
      // picks it returns).
      pg_index_recall: hits / total,
      // pg-exact returned exactly the SQLite bank's ids and scores on this many queries.
      pg_exact_identical: `${agree}/${Math.min(EXACT_QUERIES, queries.length)}`,
      load: os.loadavg()[0],
    };
    const f = (x) => x.toFixed(2);
    const r = out[label];
    console.log(
      `${rows} rows ${label}: pg-index p50 ${f(r['pg-index'].p50_ms)} p99 ${f(r['pg-index'].p99_ms)} ms (recall ${r.pg_index_recall.toFixed(3)}) | ` +
        `pg-exact p50 ${f(r['pg-exact'].p50_ms)} p99 ${f(r['pg-exact'].p99_ms)} ms (identical to SQLite ${r.pg_exact_identical}) | ` +
        `sqlite p50 ${f(r.sqlite.p50_ms)} p99 ${f(r.sqlite.p99_ms)} ms | load ${r.load.toFixed(2)}`,
    );
  }
  out.sqlite_search = lite.bank.searchInfo();
  out.index = pg.bank.searchInfo();
  if (EXTRA > 0) out.write.with_index = await writesWithIndex(pg, next, BULK_ONLY ? `${schema}_bulk` : schema, dir);
  await pg.close();
  await lite.close();
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-pgbench-'));
const results = { queries: QUERIES, exact_queries: EXACT_QUERIES, load_at_start: os.loadavg()[0], cpus: os.cpus().length, runs: [] };
try {
  for (const rows of SIZES) results.runs.push(await measure(rows, dir));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
results.load_at_end = os.loadavg()[0];
fs.writeFileSync('bench-results-pg.json', JSON.stringify(results, null, 2));
console.log(`load ${results.load_at_start.toFixed(2)} → ${results.load_at_end.toFixed(2)} (${results.cpus} CPUs); bench-results-pg.json`);

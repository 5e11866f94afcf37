// The reasoning bank's approximate path against its exact scan on three kinds of 384-d vectors,
// stored with caller embeddings (issue #20, "the single-machine approximate index, on realistic
// vectors"):
//
// - lowrank:  normalise(W·z + 0.1·noise), z a 32-d Gaussian latent — the data the sketch index
//             was first measured on (any 64-direction projection captures it);
// - fullrank: isotropic 384-d Gaussian — no structure at all, the worst case for any index;
// - mixture:  2,000 Gaussian centres, each row a centre plus noise of the same norm (per-dimension
//             σ = 1): clustered like real embedding sets, but full rank.
//
// Queries are drawn like the rows (a fresh latent / Gaussian / a centre plus noise). For each
// data set: p50/p99 of `retrieve` with `exact: true` and with the approximate index forced
// (`annThreshold` below the row count), plain top-10 (`mmrLambda: 1`) and the default k=5 with
// MMR, measured alternately (exact, approximate, exact, …) so machine noise hits both; recall@10
// of the approximate plain top-10 against the exact one (for k=5 with MMR: the share of the exact
// answer the approximate one returns), and the candidate count the index's calibration chose
// (`searchInfo().candidatesInUse`; none when the index cannot rank the data and retrieval scans
// exactly).
//
//   node benches/ann_vectors.mjs [--rows 100000] [--queries 200] [--data lowrank,fullrank,mixture]
//
// Writes bench-results-ann.json. Needs a release build (`npm run build:native`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { gaussian, mixture, normalise } from './vectors.mjs';

const require = createRequire(import.meta.url);
const { LeanAgenticSystem } = require('../dist/index.js');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const ROWS = Number(arg('rows', 100_000));
const QUERIES = Number(arg('queries', 200));
const DATA = arg('data', 'lowrank,fullrank,mixture').split(',');
const DIMS = 384;

/** A generator of rows (and queries, drawn the same way) for one kind of data. */
function source(kind, seed) {
  const g = gaussian(seed);
  if (kind === 'fullrank') return () => normalise(Float32Array.from({ length: DIMS }, g));
  if (kind === 'lowrank') {
    const latent = 32;
    const w = Float32Array.from({ length: DIMS * latent }, g);
    return () => {
      const z = Float32Array.from({ length: latent }, g);
      const v = new Float32Array(DIMS);
      for (let i = 0; i < DIMS; i++) {
        let s = 0;
        for (let j = 0; j < latent; j++) s += w[i * latent + j] * z[j];
        v[i] = s + 0.1 * g();
      }
      return normalise(v);
    };
  }
  if (kind === 'mixture') return mixture(seed, DIMS);
  throw new Error(`unknown data ${kind}`);
}

const pct = (a, p) => a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))];

async function measure(kind, dir) {
  const file = path.join(dir, `${kind}.db`);
  const next = source(kind, 20261206);
  let sys = await LeanAgenticSystem.open({ path: file, bank: { maxMemories: ROWS + 1000, recordUsage: false } });
  const t0 = performance.now();
  for (let i = 0; i < ROWS; i++) sys.bank.store({ id: `m${i}`, title: `memory ${i}`, confidence: 0.3 + (i % 7) / 10, embedding: next() });
  const storeS = (performance.now() - t0) / 1000;
  await sys.close();
  // Reopen with the approximate index forced on; the first approximate retrieve trains it.
  sys = await LeanAgenticSystem.open({ path: file, bank: { maxMemories: ROWS + 1000, annThreshold: Math.floor(ROWS / 2), recordUsage: false } });
  const queries = Array.from({ length: QUERIES }, () => next());
  const t1 = performance.now();
  sys.bank.retrieve('', { embedding: queries[0], k: 5 });
  const trainMs = performance.now() - t1;
  const out = { data: kind, rows: ROWS, store_s: storeS, first_approximate_retrieve_ms: trainMs };
  for (const [label, opts] of [['top10', { k: 10, mmrLambda: 1 }], ['k5_mmr', { k: 5 }]]) {
    const times = { exact: [], approximate: [] };
    let hits = 0;
    let approximateTaken = 0;
    let scoreExact = 0;
    let scoreApprox = 0;
    for (let i = 0; i < 10; i++) {
      sys.bank.retrieve('', { embedding: queries[i], ...opts, exact: true });
      sys.bank.retrieve('', { embedding: queries[i], ...opts });
    }
    for (const q of queries) {
      let t = performance.now();
      const exact = sys.bank.retrieve('', { embedding: q, ...opts, exact: true });
      times.exact.push(performance.now() - t);
      t = performance.now();
      const approx = sys.bank.retrieve('', { embedding: q, ...opts });
      times.approximate.push(performance.now() - t);
      if (sys.bank.searchInfo().lastRetrieveApproximate) approximateTaken++;
      const ids = new Set(exact.map((r) => r.memory.id));
      for (const r of exact) scoreExact += r.score;
      for (const r of approx) scoreApprox += r.score;
      hits += approx.filter((r) => ids.has(r.memory.id)).length / exact.length;
    }
    for (const k of ['exact', 'approximate']) times[k].sort((a, b) => a - b);
    out[label] = {
      exact: { p50_ms: pct(times.exact, 50), p99_ms: pct(times.exact, 99) },
      approximate: { p50_ms: pct(times.approximate, 50), p99_ms: pct(times.approximate, 99) },
      recall: hits / queries.length,
      approximate_share: approximateTaken / queries.length,
      // Mean relevance score of what the approximate path returned over the exact path's.
      score_ratio: scoreApprox / scoreExact,
    };
  }
  const info = sys.bank.searchInfo();
  out.candidates_in_use = info.candidatesInUse;
  out.calibrated_recall = info.calibratedRecall;
  await sys.close();
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-ann-'));
const results = { rows: ROWS, queries: QUERIES, load_at_start: os.loadavg()[0], cpus: os.cpus().length, runs: [] };
try {
  for (const kind of DATA) {
    const r = await measure(kind, dir);
    results.runs.push(r);
    const f = (x) => x.toFixed(2);
    console.log(
      `${kind.padEnd(8)} ${ROWS} rows  store ${r.store_s.toFixed(1)} s  train ${r.first_approximate_retrieve_ms.toFixed(0)} ms  ` +
        `top10 exact ${f(r.top10.exact.p50_ms)}/${f(r.top10.exact.p99_ms)} approx ${f(r.top10.approximate.p50_ms)}/${f(r.top10.approximate.p99_ms)} recall ${r.top10.recall.toFixed(3)}  ` +
        `k5+MMR exact ${f(r.k5_mmr.exact.p50_ms)} approx ${f(r.k5_mmr.approximate.p50_ms)} agreement ${r.k5_mmr.recall.toFixed(3)} score ratio ${r.k5_mmr.score_ratio.toFixed(3)}  ` +
        `candidates ${r.candidates_in_use ?? 'none (exact)'} calibrated recall ${r.calibrated_recall?.toFixed(3)} approximate share ${r.top10.approximate_share}`,
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
results.load_at_end = os.loadavg()[0];
fs.writeFileSync('bench-results-ann.json', JSON.stringify(results, null, 2));
console.log(`load ${results.load_at_start.toFixed(2)} → ${results.load_at_end.toFixed(2)} (${results.cpus} CPUs); bench-results-ann.json`);

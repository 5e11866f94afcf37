// The approximate index calibrates itself (issue #20): on data its projection cannot rank
// (isotropic full-rank vectors) retrieval scans exactly instead of losing recall silently; on
// data it ranks, it searches approximately with a candidate count sized for recall@10 0.95.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMemory, prng } from './helpers.mjs';

// Four times the sketch's 64 directions (with 64 dimensions the sketch would be the whole vector).
const DIMS = 256;

function gaussian(rand) {
  return () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
}

async function bankOf(rows) {
  const sys = await openMemory({ bank: { maxMemories: 10_000, annThreshold: 2000, annCandidates: 50, recordUsage: false } });
  rows.forEach((v, i) => sys.bank.store({ id: `m${i}`, title: `m${i}`, embedding: v }));
  return sys;
}

function recallAgainstExact(sys, queries) {
  let hits = 0;
  let approximate = 0;
  for (const q of queries) {
    const exact = new Set(sys.bank.retrieve('', { embedding: q, k: 10, mmrLambda: 1, exact: true }).map((r) => r.memory.id));
    const got = sys.bank.retrieve('', { embedding: q, k: 10, mmrLambda: 1 });
    approximate += sys.bank.searchInfo().lastRetrieveApproximate ? 1 : 0;
    hits += got.filter((r) => exact.has(r.memory.id)).length;
  }
  return { recall: hits / (10 * queries.length), approximate };
}

test('isotropic vectors: the calibration finds the projection cannot rank them, and retrieval scans exactly', async (t) => {
  const g = gaussian(prng(7));
  const row = () => Array.from({ length: DIMS }, g);
  const sys = await bankOf(Array.from({ length: 4000 }, row));
  t.after(() => sys.close());
  const queries = Array.from({ length: 30 }, row);
  const { recall, approximate } = recallAgainstExact(sys, queries);
  const info = sys.bank.searchInfo();
  assert.equal(info.approximateIndex, true, 'the index was trained');
  assert.equal(info.candidatesInUse, null, 'and judged unable to rank this data');
  assert.ok(info.calibratedRecall < 0.95, `calibrated recall ${info.calibratedRecall}`);
  assert.equal(approximate, 0, 'every query scanned exactly');
  assert.equal(recall, 1);
});

test('low-rank vectors: approximate search with a calibrated candidate count keeps recall', async (t) => {
  const g = gaussian(prng(8));
  const latent = 4;
  const w = Array.from({ length: DIMS * latent }, g);
  const row = () => {
    const z = Array.from({ length: latent }, g);
    return Array.from({ length: DIMS }, (_, i) => z.reduce((s, zj, j) => s + w[i * latent + j] * zj, 0) + 0.05 * g());
  };
  const sys = await bankOf(Array.from({ length: 4000 }, row));
  t.after(() => sys.close());
  const { recall, approximate } = recallAgainstExact(sys, Array.from({ length: 30 }, row));
  const info = sys.bank.searchInfo();
  assert.ok(info.candidatesInUse >= 50, `candidates ${info.candidatesInUse}`);
  assert.ok(info.calibratedRecall >= 0.95, `calibrated recall ${info.calibratedRecall}`);
  assert.equal(approximate, 30, 'every query searched approximately');
  assert.ok(recall >= 0.9, `recall@10 ${recall}`);
});

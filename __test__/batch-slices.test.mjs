// Large batches run as native slices with the next slice queued before the current one ends:
// a slice that stops at a handler step (or another batch on the same session running in
// between) must never let a later slice run out of order, lose a chunk or run one twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { openMemory, registerNoteAndCall } from './helpers.mjs';

const require = createRequire(import.meta.url);

async function open(seen) {
  const sys = await openMemory();
  registerNoteAndCall(sys, seen);
  return sys;
}

test('handler steps inside queued slices: every chunk once, in order', async () => {
  const seen = [];
  const sys = await open(seen);
  const ctx = sys.createContext('slices');
  // Slices hold 2048 chunks: stops inside the first slice (the second already queued), near a
  // slice's end, right at a boundary, and at the very last chunk.
  const calls = new Set([100, 2047, 2100, 4196, 5000, 6999]);
  const chunks = Array.from({ length: 7000 }, (_, i) => (calls.has(i) ? `call number ${i}` : `note number ${i}`));
  const results = await sys.processBatch(chunks, ctx);
  assert.equal(results.length, chunks.length);
  results.forEach((r, i) => assert.equal(r.action.parameters.text, chunks[i], `result ${i} in order`));
  assert.deepEqual(seen, [...calls].sort((a, b) => a - b).map((i) => `call number ${i}`));
  assert.equal((await sys.stats()).totalActions, chunks.length, 'no step ran twice');
  const ids = results.map((r) => Number(r.actionId.slice(4)));
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'steps ran in input order');
  await sys.close();
});

test('two batches on one session at once: each complete and in order', async () => {
  const sys = await open([]);
  const ctx = sys.createContext('shared');
  const a = Array.from({ length: 5000 }, (_, i) => `note a ${i}`);
  const b = Array.from({ length: 5000 }, (_, i) => `note b ${i}`);
  const [ra, rb] = await Promise.all([
    sys.processBatch(a, ctx, { detail: 'full' }),
    sys.processBatch(b, ctx, { detail: 'full' }),
  ]);
  ra.forEach((r, i) => assert.equal(r.action.parameters.text, a[i]));
  rb.forEach((r, i) => assert.equal(r.action.parameters.text, b[i]));
  assert.equal((await sys.stats()).totalActions, a.length + b.length);
  for (const rs of [ra, rb]) {
    const ids = rs.map((r) => Number(r.actionId.slice(4)));
    assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'each batch in its own order');
  }
  await sys.close();
});

test('a slice ticket needs both parts', async () => {
  const { NativeSystem } = require('../index.js');
  const nat = NativeSystem.open(JSON.stringify({ path: ':memory:' }));
  nat.createSession('s', null);
  assert.throws(() => nat.processBatchAsync('s', ['note'], null, 1, null), /ERR_INVALID_INPUT/);
  assert.throws(() => nat.processBatchAsync('s', ['note'], null, 1.5, 0), /ERR_INVALID_INPUT/);
  assert.throws(() => nat.processBatchAsync('s', ['note'], null, -1, 0), /ERR_INVALID_INPUT/);
  await nat.close?.();
});

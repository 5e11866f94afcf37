// Large chunks: a step over a big chunk reports at most 1,000 entities (the graph gets them all),
// runs off the JS thread, and a 1 MB chunk is one step in seconds, not minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMemory } from './helpers.mjs';

async function system() {
  const sys = await openMemory();
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  return { sys, ctx: sys.createContext('s') };
}

/** Runs `fn` and counts how often a 1 ms interval timer fired meanwhile (0: the JS thread was blocked). */
async function ticksDuring(fn) {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const value = await fn();
    return { ticks, value };
  } finally {
    clearInterval(timer);
  }
}

test('a step reports at most 1,000 entities and says when there were more; the graph gets them all', async () => {
  const { sys, ctx } = await system();
  const r = await sys.processChunk('Tokyo '.repeat(5000), ctx);
  assert.equal(r.entities.length, 1000);
  assert.equal(r.entitiesTruncated, true);
  assert.equal(r.action.parameters.entities.Place.length, 1000, 'the parameters hold the same first 1,000');
  assert.equal(sys.knowledge.entity('place:tokyo').mentions, 5000, 'every mention reached the graph');
  const small = await sys.processChunk('Tokyo and Paris', ctx);
  assert.equal(small.entities.length, 2);
  assert.equal('entitiesTruncated' in small, false, 'absent when nothing was left out');
  // A handler sees the capped view too, and a batch's full results carry the flag.
  let seen = -1;
  sys.registerAction({
    name: 'note',
    description: 'Take a note',
    keywords: ['note'],
    handler: (action) => {
      seen = action.entities.length;
      return { success: true };
    },
  });
  const [h] = await sys.processBatch(['note ' + 'Paris '.repeat(3000)], ctx);
  assert.equal(h.action.actionType, 'note');
  assert.equal(seen, 1000);
  assert.equal(h.entities.length, 1000);
  assert.equal(h.entitiesTruncated, true);
  await sys.close();
});

test('a large chunk runs off the JS thread: timers fire while its step runs', async () => {
  const { sys, ctx } = await system();
  // 300 KB: the quadratic extractor took ~40 s on it here (debug build), blocking every timer.
  const chunk = '12 '.repeat(100_000);
  const one = await ticksDuring(() => sys.processChunk(chunk, ctx));
  assert.ok(one.ticks > 0, 'processChunk blocked the JS thread');
  assert.equal(one.value.entities.length, 1000);
  const batch = await ticksDuring(() => sys.processBatch([chunk, 'note this'], ctx));
  assert.equal(batch.value.length, 2);
  assert.ok(batch.ticks > 0, 'processBatch of large chunks blocked the JS thread');
  await sys.close();
});

test('a 1 MB chunk is one step in seconds (it took minutes when extraction was quadratic)', async () => {
  const { sys, ctx } = await system();
  const chunk = '12 '.repeat(349_525); // 1,048,575 bytes: just under the default maxChunkBytes
  const t0 = performance.now();
  const r = await sys.processChunk(chunk, ctx);
  const ms = performance.now() - t0;
  // Generous (debug build, loaded machine): linear work takes a few seconds here; the
  // slope is measured by `cargo bench --bench chunk_size`.
  assert.ok(ms < 60_000, `took ${Math.round(ms)} ms`);
  assert.equal(r.entities.length, 1000);
  assert.equal(r.entitiesTruncated, true);
  assert.equal(sys.knowledge.stats().byType.Number, 1, 'one distinct number, mentioned 349,525 times');
  assert.equal(sys.knowledge.entity('number:12').mentions, 349_525);
  await sys.close();
});

// The learning benchmark's streams (benches/learning), small: a regression test that fails if
// learning breaks or loses its robustness to the learning rate. The comparison with Vowpal Wabbit
// (a Python dependency) is `npm run bench:learning`, not part of `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, summarize } from '../benches/learning/streams.mjs';
import { runOurs } from '../benches/learning/ours.mjs';

const N = 3000;

test('defaults learn the stationary, abrupt and 24-action streams far above a uniform choice', async () => {
  for (const [kind, floor] of [['stationary', 0.7], ['abrupt', 0.68], ['many', 0.52]]) {
    for (const seed of [1, 2]) {
      const s = generate(kind, seed, N);
      const r = summarize(s, await runOurs(s));
      // Uniform earns ~0.50 (0.42 with 24 actions); the best possible ~0.82.
      assert.ok(r.expected >= floor, `${kind} seed ${seed}: expected reward ${r.expected.toFixed(3)} < ${floor} (uniform ${r.uniform.toFixed(3)}, oracle ${r.oracle.toFixed(3)})`);
      if (kind === 'abrupt') {
        assert.ok(r.afterChange500Expected >= 0.6, `abrupt seed ${seed}: first 500 after the change ${r.afterChange500Expected.toFixed(3)}`);
      }
    }
  }
});

test('no collapse for learning rates from 0.01 to 1 (within 0.05 of the best)', async () => {
  const s = generate('abrupt', 3, N);
  const by = {};
  for (const learningRate of [0.01, 0.1, 0.3, 1]) by[learningRate] = summarize(s, await runOurs(s, { learningRate })).expected;
  const best = Math.max(...Object.values(by));
  for (const [lr, v] of Object.entries(by)) assert.ok(v >= best - 0.05, `learningRate ${lr}: ${v.toFixed(3)} vs best ${best.toFixed(3)} (${JSON.stringify(by)})`);
});

// Off-policy evaluation from the journal: `evaluatePolicy(settings, { since, sessions })`
// estimates what other learner settings would have earned on the logged traffic. Validated on
// the benchmark's simulator: each estimate's interval must hold what those settings actually
// earn when run on the same stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../benches/learning/streams.mjs';
import { openFor } from '../benches/learning/ours.mjs';

const N = 3000;

/** Runs the stream; returns the system (open) and its mean reward. */
async function run(stream, config, session = 'logged') {
  const { sys, play } = await openFor(stream, config);
  const results = await play(session);
  return { sys, mean: results.reduce((sum, r) => sum + r.reward, 0) / results.length };
}

test('estimates hold what other settings actually earn on the same stream', async () => {
  const stream = generate('stationary', 7, N);
  const { sys, mean } = await run(stream, { seed: 1 });
  // The logging settings evaluate to exactly what they earned: every importance weight is 1.
  const same = await sys.evaluatePolicy();
  assert.equal(same.steps, N);
  assert.ok(Math.abs(same.ips.value - mean) < 1e-9 && Math.abs(same.logged.value - mean) < 1e-9, JSON.stringify(same));
  assert.ok(Math.abs(same.effectiveSampleSize - N) < 1e-6);
  for (const settings of [{ explorationRate: 0.3 }, { explorationRate: 1 }]) {
    const e = await sys.evaluatePolicy(settings);
    let actual = 0;
    for (const seed of [11, 12, 13]) {
      const other = await run(stream, { seed, ...settings });
      actual += other.mean / 3;
      await other.sys.close();
    }
    const dr = e.doublyRobust;
    assert.ok(dr.low <= actual && actual <= dr.high, `${JSON.stringify(settings)}: actual ${actual.toFixed(3)} outside [${dr.low.toFixed(3)}, ${dr.high.toFixed(3)}]`);
    // Informative: the interval does not also hold what the logging settings earned.
    assert.ok(dr.high < mean, `${JSON.stringify(settings)}: interval [${dr.low.toFixed(3)}, ${dr.high.toFixed(3)}] holds the logged ${mean.toFixed(3)} too`);
    assert.ok(e.effectiveSampleSize < N && e.maxImportanceWeight > 1);
  }
  await sys.close();
});

test('since and sessions select the steps; bad settings are coded errors', async () => {
  const stream = generate('stationary', 8, 100);
  const { sys, play } = await openFor(stream, { seed: 2 });
  await play('a');
  await play('b');
  assert.equal((await sys.evaluatePolicy({}, { sessions: ['a'] })).steps, 100);
  assert.equal((await sys.evaluatePolicy({}, {})).steps, 200);
  assert.equal((await sys.evaluatePolicy({}, { since: new Date(Date.now() + 60_000) })).steps, 0);
  await assert.rejects(sys.evaluatePolicy({ learningrate: 0.5 }), (e) => e.code === 'ERR_INVALID_CONFIG' && /did you mean `learningRate`/.test(e.message));
  await assert.rejects(sys.evaluatePolicy({ explorationRate: 2 }), (e) => e.code === 'ERR_INVALID_CONFIG' && /explorationRate/.test(e.message));
  await assert.rejects(sys.evaluatePolicy({}, { sessions: 'a' }), (e) => e.code === 'ERR_INVALID_INPUT');
  await sys.close();
  await assert.rejects(sys.evaluatePolicy(), (e) => e.code === 'ERR_CLOSED');
});

// Safe exploration: with policies loaded, the learner explores only among the actions the
// verifier allows for this request; a forbidden best choice is still a denied step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { generate, guardrails } from '../benches/learning/streams.mjs';
import { openFor } from '../benches/learning/ours.mjs';

const require = createRequire(import.meta.url);
const { LeanAgenticSystem } = require('../dist/index.js');

async function run(stream, safeExploration) {
  const { policies, forbidden } = guardrails(stream);
  // ε 0.1 rather than the default 0.02: ~80 exploring steps instead of ~25, so the count below
  // cannot fall under its floor by chance (it did under load, 19 < 20: runs with JS handlers are
  // reproducible only up to their latency penalty).
  const { sys, play } = await openFor(stream, { seed: 5, policies, safeExploration, explorationRate: 0.1 });
  const steps = (await play('guarded')).map((r, t) => ({
    r,
    forbiddenHere: forbidden[stream.chunks[t].intent].map((a) => stream.actions[a]),
  }));
  const stats = await sys.stats();
  await sys.close();
  return { steps, stats };
}

test('exploration is never spent on a forbidden action, and denials are not exploration', async () => {
  const stream = generate('many', 4, 1500);
  const on = await run(stream, true);
  let explored = 0;
  for (const { r, forbiddenHere } of on.steps) {
    if (r.explored) {
      explored += 1;
      assert.equal(r.verification.decision, 'allow', `explored step ran ${r.action.actionType}, which was denied`);
      assert.ok(!forbiddenHere.includes(r.action.actionType));
    }
    if (r.verification.decision === 'deny') assert.equal(r.explored, false, 'a denied step counted as exploration');
  }
  assert.ok(explored > 40, `only ${explored} exploring steps: the property would hold vacuously`);
  const off = await run(stream, false);
  const denied = (x) => x.steps.filter((s) => s.r.verification.decision === 'deny').length;
  const exploredDenied = off.steps.filter((s) => s.r.explored && s.r.verification.decision === 'deny').length;
  // Without it, exploration does land on forbidden actions: the test can tell the two apart.
  assert.ok(exploredDenied > 0, 'safe exploration off never explored a forbidden action');
  assert.ok(denied(on) < denied(off) / 2, `denied steps: ${denied(on)} with safe exploration, ${denied(off)} without`);
  assert.equal(on.stats.deniedActions, denied(on));
});

test('a forbidden best choice is still reported as a denied step', async () => {
  const sys = await LeanAgenticSystem.open({
    path: ':memory:',
    seed: 1,
    policies: '@id("no-pay") forbid(principal, action == Action::"pay", resource); permit(principal, action, resource);',
  });
  sys.registerAction({ name: 'pay', description: 'Pay an invoice', keywords: ['pay', 'invoice'], handler: async () => ({ success: true }) });
  sys.registerAction({ name: 'take_note', description: 'Write a note', keywords: ['note'], handler: async () => ({ success: true }) });
  const ctx = sys.createContext('s');
  // Only `pay` is relevant: it is the learner's choice, and it is forbidden.
  const r = await sys.processChunk('pay the invoice', ctx);
  assert.equal(r.action.actionType, 'pay');
  assert.equal(r.verification.decision, 'deny');
  assert.deepEqual(r.verification.determiningPolicies.map((p) => p.id), ['no-pay']);
  await sys.close();
});

test('safeExploration must be a boolean', async () => {
  await assert.rejects(LeanAgenticSystem.open({ path: ':memory:', safeExploration: 'yes' }), (e) => e.code === 'ERR_INVALID_CONFIG');
});

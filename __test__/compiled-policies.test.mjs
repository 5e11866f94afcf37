// Compiled policy evaluation from the JS API: the per-policy report (`policyInfo()`,
// `loadPolicies()`), the counters in `stats().policyEvaluation`, and the `policyEvaluation`
// setting — with the interpreter alone, every answer is the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMemory, prng, rejectsWithCode } from './helpers.mjs';

const POLICIES = `
@id("pay-small") permit(principal in Role::"finance", action == Action::"pay", resource) when { context.params.amount < 1000 };
@id("no-secrets") forbid(principal, action, resource) when { context.params has text && context.params.text like "*password*" };
@id("vpn") permit(principal, action == Action::"refund", resource) when { ip(context.params.host).isInRange(ip("10.0.0.0/8")) };
@id("notes") permit(principal, action == Action::"take_note", resource) when { context.params has text };
`;
const ENTITIES = [
  { uid: { type: 'Role', id: 'finance' }, attrs: {}, parents: [] },
  { uid: { type: 'Agent', id: 'alice' }, attrs: {}, parents: [{ type: 'Role', id: 'finance' }] },
];

function requests(n) {
  const rnd = prng(7);
  const out = [];
  for (let i = 0; i < n; i++) {
    const name = ['pay', 'refund', 'take_note'][Math.floor(rnd() * 3)];
    const params = {};
    if (rnd() < 0.8) params.amount = Math.floor(rnd() * 2000);
    if (rnd() < 0.6) params.text = rnd() < 0.3 ? `my password ${i}` : `note ${i}`;
    if (rnd() < 0.7) params.host = rnd() < 0.5 ? '10.1.2.3' : '192.168.0.1';
    // A fraction is a Cedar decimal: compiled too, but such a request bypasses the cache.
    if (rnd() < 0.1) params.rate = Math.round(rnd() * 100) / 100 + 0.01;
    out.push([{ name, params }, { agentId: rnd() < 0.7 ? 'alice' : 'bob' }]);
  }
  return out;
}

test('policyInfo and loadPolicies say how each policy is evaluated', async () => {
  const sys = await openMemory({ policies: POLICIES, entities: ENTITIES });
  const info = sys.policyInfo();
  const modes = Object.fromEntries(info.evaluation.map((e) => [e.id, e.mode]));
  assert.deepEqual(modes, { notes: 'compiled', 'no-secrets': 'compiled', 'pay-small': 'compiled', vpn: 'interpreted' });
  assert.match(info.evaluation.find((e) => e.id === 'vpn').reason, /isInRange/);
  assert.deepEqual(sys.loadPolicies(POLICIES).evaluation, info.evaluation);
  await sys.close();
});

test('stats count compiled, mixed and interpreted decisions; the interpreter alone answers the same', async () => {
  const compiled = await openMemory({ policies: POLICIES, entities: ENTITIES });
  const interpreted = await openMemory({ policies: POLICIES, entities: ENTITIES, policyEvaluation: 'interpreted' });
  for (const [action, ctx] of requests(600)) {
    const a = compiled.verifyAction(action, ctx);
    const b = interpreted.verifyAction(action, ctx);
    for (const k of ['decision', 'determiningPolicies', 'errors', 'reasons', 'nearMiss']) {
      assert.deepEqual(a[k], b[k], `${k} differs for ${JSON.stringify([action, ctx])}`);
    }
  }
  const c = (await compiled.stats()).policyEvaluation;
  const i = (await interpreted.stats()).policyEvaluation;
  assert.ok(c.compiled > 100 && c.mixed > 20 && c.interpreted > 20 && c.fallbacks > 0, JSON.stringify(c));
  assert.equal(i.compiled + i.mixed, 0, JSON.stringify(i));
  assert.ok(i.interpreted > 100, JSON.stringify(i));
  const cache = (await compiled.stats()).policyCache;
  // Requests whose context holds a decimal bypass the cache (decided exactly as without it).
  assert.ok(cache.hits + cache.misses > 500 && cache.hits + cache.misses < 600, JSON.stringify(cache));
  await compiled.close();
  await interpreted.close();
});

test('policyEvaluation accepts only compiled or interpreted', async () => {
  await rejectsWithCode(() => openMemory({ policyEvaluation: 'fast' }), 'ERR_INVALID_CONFIG');
});

// processBatch / processStream with `detail: 'summary'`: one summary per chunk, in order, the
// same outcomes and verdicts as full results, handler steps summarised too, bad options refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMemory, rejectsWithCode } from './helpers.mjs';

const POLICIES = `
@id("weather") permit(principal, action == Action::"get_weather", resource);
@id("notes") permit(principal, action == Action::"take_note", resource) when { context.stepIndex >= 0 };
@id("no-pay") forbid(principal, action == Action::"pay", resource);
`;
const TEXTS = [
  'What is the weather in Tokyo on Monday?',
  'Note that Ada Lovelace works at Acme Corp',
  'Please pay the invoice for Acme Corp',
  'Will it rain in London tomorrow?',
];
const SUMMARY_KEYS = [
  'actionId', 'sessionId', 'action', 'success', 'reward', 'verified', 'decision',
  'determiningPolicies', 'certificateDigest', 'propensity', 'explored', 'learned', 'latencyUs',
  'error', 'errorCode',
];

async function open(handlerCalls) {
  const sys = await openMemory({ policies: POLICIES });
  sys.registerAction({ name: 'get_weather', description: 'Weather forecast', keywords: ['weather', 'rain'] });
  sys.registerAction({ name: 'pay', description: 'Pay an invoice', keywords: ['pay', 'invoice'] });
  sys.registerAction({
    name: 'take_note',
    description: 'Take a note',
    keywords: ['note'],
    handler: handlerCalls
      ? async () => { handlerCalls.push(1); return { success: true, result: { saved: true } }; }
      : undefined,
  });
  return sys;
}

const chunks = (n) => Array.from({ length: n }, (_, i) => `${TEXTS[i % TEXTS.length]} #${i}`);

const VERDICTS = {
  get_weather: { decision: 'allow', policies: ['weather'] },
  take_note: { decision: 'allow', policies: ['notes'] },
  pay: { decision: 'deny', policies: ['no-pay'] },
};

/** Checks summaries against the session's journaled history and the policies' verdicts. */
function checkSummaries(sys, ctx, summary) {
  const history = sys.history(ctx);
  assert.ok(history.length > 0);
  const tail = summary.slice(-history.length);
  history.forEach((h, i) => {
    const s = tail[i];
    assert.equal(s.actionId, h.stepId);
    assert.equal(s.action, h.action);
    assert.equal(s.success, h.success);
    assert.equal(s.reward, h.reward);
  });
  for (const s of summary) {
    for (const k of Object.keys(s)) assert.ok(SUMMARY_KEYS.includes(k), `unexpected key ${k}`);
    const want = VERDICTS[s.action];
    assert.ok(want, `action ${s.action}`);
    assert.equal(s.decision, want.decision);
    assert.deepEqual(s.determiningPolicies.map((p) => p.id), want.policies);
    assert.equal(s.verified, want.decision === 'allow');
    assert.match(s.certificateDigest, /^[0-9a-f]{64}$/);
    assert.equal(s.errorCode, want.decision === 'deny' ? 'ERR_DENIED' : undefined);
    assert.equal(s.success, want.decision === 'allow');
    assert.ok(s.propensity > 0 && s.propensity <= 1);
  }
}

test('summaries carry the outcomes and verdicts, at a fraction of the size', async () => {
  for (const n of [40, 700]) { // inline path and the worker-thread pipeline
    const a = await open();
    const b = await open();
    const full = await a.processBatch(chunks(n), a.createContext('s'));
    const ctx = b.createContext('s');
    const summary = await b.processBatch(chunks(n), ctx, { detail: 'summary' });
    assert.equal(summary.length, n);
    checkSummaries(b, ctx, summary);
    assert.ok(summary.some((s) => s.action === 'pay'), 'some steps denied');
    assert.ok(JSON.stringify(summary).length * 4 < JSON.stringify(full).length, 'a summary is a fraction of a full result');
    await a.close();
    await b.close();
  }
});

test('steps finished by a JS handler are summarised too, in order', async () => {
  const calls = [];
  const sys = await open(calls);
  const ctx = sys.createContext('h');
  const input = chunks(300);
  const out = await sys.processBatch(input, ctx, { detail: 'summary' });
  assert.equal(out.length, input.length);
  const notes = out.filter((s) => s.action === 'take_note');
  assert.equal(notes.length, calls.length);
  assert.ok(notes.length > 0);
  checkSummaries(sys, ctx, out);
  const ids = out.map((s) => Number(s.actionId.slice(4)));
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'results in input order');
  await sys.close();
});

test('processStream yields summaries with detail: "summary"', async () => {
  const sys = await open();
  const ctx = sys.createContext('st');
  const seen = [];
  for await (const s of sys.processStream(chunks(50), ctx, { detail: 'summary', batchSize: 8 })) seen.push(s);
  assert.equal(seen.length, 50);
  assert.ok(seen.every((s) => typeof s.action === 'string' && typeof s.decision === 'string'));
  await sys.close();
});

test('a bad detail is refused before any step runs', async () => {
  const sys = await open();
  const ctx = sys.createContext('bad');
  await rejectsWithCode(() => sys.processBatch(chunks(3), ctx, { detail: 'brief' }), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(() => sys.processBatch(chunks(3), ctx, 'summary'), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(async () => {
    for await (const _ of sys.processStream(chunks(3), ctx, { detail: 'tiny' })) { /* never reached */ }
  }, 'ERR_INVALID_CONFIG');
  assert.equal((await sys.stats()).totalActions, 0, 'nothing ran');
  await sys.close();
});

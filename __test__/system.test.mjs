// The LeanAgenticSystem API end to end: open, actions, sessions, chunks, batches, feedback, stats, close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LeanAgenticSystem, openMemory, registerNoteAndCall } from './helpers.mjs';

test('processChunk runs the whole loop with a JS handler', async () => {
  const sys = await openMemory();
  const calls = [];
  sys.registerAction({
    name: 'get_weather',
    description: 'Look up the weather forecast for a city',
    keywords: ['weather', 'forecast'],
    toolCalls: ['weather.lookup'],
    handler: async (action, context) => {
      calls.push({ action, context });
      return { success: true, result: { forecast: 'rain' }, changes: { cached: true } };
    },
  });
  sys.registerAction({ name: 'search_web', description: 'Search the web', keywords: ['search'] });
  const ctx = sys.createContext('session-1', { preferences: { units: 'metric' } });
  const r = await sys.processChunk('What is the weather in Tokyo?', ctx);
  assert.equal(r.action.actionType, 'get_weather');
  assert.deepEqual(r.action.toolCalls, ['weather.lookup']);
  assert.equal(r.action.parameters.text, 'What is the weather in Tokyo?');
  assert.equal(r.observation.success, true);
  assert.deepEqual(r.observation.result, { forecast: 'rain' });
  assert.deepEqual(r.observation.changes, { cached: true });
  assert.ok(r.reward > 0.9 && r.reward <= 1, `reward ${r.reward}`);
  assert.equal(r.verified, false, 'no verifier configured: never a fake pass');
  assert.equal(r.verification.decision, 'skipped');
  assert.ok(r.entities.some((e) => e.name === 'Tokyo'));
  assert.equal(typeof r.latencyUs, 'number');
  assert.equal(calls.length, 1);
  assert.equal(calls[0].context.sessionId, 'session-1');
  assert.deepEqual(calls[0].context.preferences, { units: 'metric' });
  assert.equal(calls[0].action.actionId, r.actionId);
  const stats = await sys.stats();
  assert.equal(stats.totalActions, 1);
  assert.equal(stats.learningIterations, 1);
  assert.equal(stats.sessions, 1);
  assert.ok(stats.totalEntities >= 1);
  await sys.close();
});

test('entities keep stable ids across chunks', async () => {
  const sys = await openMemory();
  sys.registerAction({ name: 'note', description: 'note', keywords: ['weather'] });
  const ctx = sys.createContext('s');
  const a = await sys.processChunk('Is the weather nice in Tokyo today?', ctx);
  const b = await sys.processChunk('Tell me about the weather, Tokyo again.', ctx);
  const idA = a.entities.find((e) => e.name === 'Tokyo').id;
  const idB = b.entities.find((e) => e.name === 'Tokyo').id;
  assert.equal(idA, idB);
  assert.equal((await sys.stats()).totalEntities >= 1, true);
  await sys.close();
});

test('processBatch runs built-in actions natively and handlers in order', async () => {
  const sys = await openMemory();
  const seen = [];
  registerNoteAndCall(sys, seen);
  const ctx = sys.createContext('b');
  const chunks = [];
  for (let i = 0; i < 600; i++) chunks.push(i % 100 === 0 ? `call number ${i}` : `note number ${i}`);
  const results = await sys.processBatch(chunks, ctx);
  assert.equal(results.length, chunks.length);
  results.forEach((r, i) => assert.equal(r.action.parameters.text, chunks[i], 'in order'));
  assert.deepEqual(seen, ['call number 0', 'call number 100', 'call number 200', 'call number 300', 'call number 400', 'call number 500']);
  assert.equal((await sys.stats()).totalActions, 600);
  await sys.close();
});

test('preconditions chain actions into plans', async () => {
  const sys = await openMemory({ explorationRate: 0 });
  sys.registerAction({ name: 'login', description: 'Sign the user in', keywords: ['login'], effects: ['authenticated(user)'] });
  sys.registerAction({
    name: 'pay',
    description: 'Pay the invoice',
    keywords: ['pay', 'invoice'],
    preconditions: ['authenticated(user)'],
  });
  const ctx = sys.createContext('p');
  const first = await sys.processChunk('please pay the invoice', ctx);
  assert.deepEqual(first.plan, ['login', 'pay']);
  assert.equal(first.action.actionType, 'login');
  const second = await sys.processChunk('please pay the invoice', ctx);
  assert.deepEqual(second.plan, ['pay']);
  assert.equal(second.action.actionType, 'pay');
  await sys.close();
});

test('feedback moves the learner and history is bounded', async () => {
  const sys = await openMemory({ historyWindow: 5 });
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  const ctx = sys.createContext('f');
  let last;
  for (let i = 0; i < 8; i++) last = await sys.processChunk(`note ${i}`, ctx);
  const fb = sys.feedback(last.actionId, -1);
  assert.ok(fb.predictedAfter < fb.predictedBefore, 'a negative reward lowers the prediction');
  const h = sys.history(ctx);
  assert.equal(h.length, 5);
  assert.equal(h[4].stepId, last.actionId);
  // Feedback replaces the reward of a step already learned from: not a new iteration.
  assert.equal((await sys.stats()).learningIterations, 8);
  await sys.close();
});

test('the store persists the step journal on disk', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-store-'));
  const file = path.join(dir, 'nested', 'store.db');
  let sys = await LeanAgenticSystem.open({ path: file });
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  const ctx = sys.createContext('j');
  for (let i = 0; i < 5; i++) await sys.processChunk(`note ${i}`, ctx);
  await sys.close();
  assert.ok(fs.existsSync(file));
  sys = await LeanAgenticSystem.open({ path: file });
  assert.equal(sys.journalCount(), 5);
  await sys.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('100 concurrent sessions through one system keep their histories apart', async () => {
  const sys = await openMemory({ historyWindow: 50 });
  sys.registerAction({
    name: 'echo',
    description: 'Echo the message back',
    keywords: ['message'],
    handler: async (action, context) => {
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      return { success: true, result: { session: context.sessionId, text: action.parameters.text } };
    },
  });
  const sessions = Array.from({ length: 100 }, (_, i) => sys.createContext(`c${i}`));
  const runs = sessions.map(async (ctx, i) => {
    const out = [];
    for (let k = 0; k < 10; k++) out.push(await sys.processChunk(`message ${k} from session ${i}`, ctx));
    return out;
  });
  const all = await Promise.all(runs);
  all.forEach((results, i) => {
    results.forEach((r, k) => {
      assert.equal(r.sessionId, `c${i}`);
      assert.deepEqual(r.observation.result, { session: `c${i}`, text: `message ${k} from session ${i}` });
    });
    const h = sys.history(sessions[i]);
    assert.equal(h.length, 10);
    assert.ok(h.every((e) => e.input.endsWith(`from session ${i}`)), 'no cross-talk');
  });
  const stats = await sys.stats();
  assert.equal(stats.totalActions, 1000);
  assert.equal(stats.sessions, 100);
  await sys.close();
});

test('async batches across many sessions run on worker threads', async () => {
  const sys = await openMemory();
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  const ctxs = Array.from({ length: 20 }, (_, i) => sys.createContext(`w${i}`));
  const chunks = Array.from({ length: 300 }, (_, i) => `note ${i}`);
  const res = await Promise.all(ctxs.map((c) => sys.processBatch(chunks, c)));
  res.forEach((r, i) => {
    assert.equal(r.length, 300);
    assert.ok(r.every((x) => x.sessionId === `w${i}`));
  });
  assert.equal((await sys.stats()).totalActions, 6000);
  await sys.close();
});

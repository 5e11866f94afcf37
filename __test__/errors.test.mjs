// Bad input: every failure is an Error with a stable code, and the system keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LeanAgenticSystem, openMemory, rejectsWithCode } from './helpers.mjs';

test('invalid config values are rejected with hints', async () => {
  await rejectsWithCode(() => LeanAgenticSystem.open({ learningRate: -0.5 }), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(() => LeanAgenticSystem.open({ explorationRate: NaN }), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(() => LeanAgenticSystem.open({ historyWindow: 0 }), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(() => LeanAgenticSystem.open({ path: '' }), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(() => LeanAgenticSystem.open('fast'), 'ERR_INVALID_CONFIG');
  await assert.rejects(
    () => LeanAgenticSystem.open({ learningrate: 0.1 }),
    (e) => e.code === 'ERR_INVALID_CONFIG' && /did you mean `learningRate`/.test(e.message),
  );
});

test('bad chunks, sessions and actions have codes', async () => {
  const sys = await openMemory({ maxChunkBytes: 1000 });
  const ctx = sys.createContext('s');
  await rejectsWithCode(() => sys.processChunk('hello', ctx), 'ERR_UNKNOWN_ACTION');
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  await rejectsWithCode(() => sys.processChunk(42, ctx), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.processChunk(null, ctx), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.processChunk('', ctx), 'ERR_EMPTY_CHUNK');
  await rejectsWithCode(() => sys.processChunk('   \n', ctx), 'ERR_EMPTY_CHUNK');
  await rejectsWithCode(() => sys.processChunk('x'.repeat(1001), ctx), 'ERR_CHUNK_TOO_LARGE');
  await rejectsWithCode(() => sys.processChunk('note', 'no-such-session'), 'ERR_UNKNOWN_SESSION');
  await rejectsWithCode(() => sys.processChunk('note', { nope: 1 }), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.processBatch(['note', 7], ctx), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.processBatch('note', ctx), 'ERR_INVALID_INPUT');
  // A large batch (run in worker-thread slices) is checked whole before any step runs.
  const big = Array.from({ length: 3000 }, (_, i) => (i === 2500 ? '  ' : `note ${i}`));
  const before = (await sys.stats()).totalActions;
  await assert.rejects(sys.processBatch(big, ctx), (e) => e.code === 'ERR_EMPTY_CHUNK' && /chunk 2500/.test(e.message));
  big[2500] = 'x'.repeat(1001);
  await assert.rejects(sys.processBatch(big, ctx), (e) => e.code === 'ERR_CHUNK_TOO_LARGE' && /chunk 2500/.test(e.message));
  assert.equal((await sys.stats()).totalActions, before, 'no step ran');
  await rejectsWithCode(() => sys.registerAction({ name: '', description: 'x' }), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.registerAction({ name: 'a', description: 'x', preconditions: ['bad('] }), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.registerAction({ name: 'a', description: 'x', colour: 'red' }), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.registerAction({ name: 'a', description: 'x', handler: 'nope' }), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.feedback('act-12345', 1), 'ERR_NOT_FOUND');
  const r = await sys.processChunk('note this', ctx);
  await rejectsWithCode(() => sys.feedback(r.actionId, NaN), 'ERR_INVALID_REWARD');
  await rejectsWithCode(() => sys.feedback(r.actionId, Infinity), 'ERR_INVALID_REWARD');
  await rejectsWithCode(() => sys.feedback(r.actionId, '1'), 'ERR_INVALID_REWARD');
  // Nothing was lost: the system still works.
  const again = await sys.processChunk('note that', ctx);
  assert.equal(again.observation.success, true);
  await sys.close();
});

test('throwing, hanging and misbehaving handlers are failures the system learns from', async () => {
  const sys = await openMemory({ explorationRate: 0 });
  sys.registerAction({
    name: 'boom',
    description: 'Always throws',
    keywords: ['boom'],
    handler: () => {
      throw new Error('kaboom');
    },
  });
  sys.registerAction({ name: 'hang', description: 'Never settles', keywords: ['hang'], timeoutMs: 50, handler: () => new Promise(() => {}) });
  sys.registerAction({ name: 'weird', description: 'Returns junk', keywords: ['weird'], handler: () => 'junk' });
  sys.registerAction({ name: 'nan', description: 'Returns a NaN reward', keywords: ['nan'], handler: () => ({ success: true, reward: NaN }) });
  const ctx = sys.createContext('h');
  const boom = await sys.processChunk('boom', ctx);
  assert.equal(boom.observation.success, false);
  assert.equal(boom.observation.errorCode, 'ERR_HANDLER_FAILED');
  assert.match(boom.observation.error, /kaboom/);
  assert.ok(boom.reward < 0 && boom.learned, 'a learned negative outcome');
  const hang = await sys.processChunk('hang', ctx);
  assert.equal(hang.observation.success, false);
  assert.equal(hang.observation.errorCode, 'ERR_HANDLER_TIMEOUT');
  const weird = await sys.processChunk('weird', ctx);
  assert.equal(weird.observation.success, false);
  assert.equal(weird.observation.errorCode, 'ERR_HANDLER_FAILED');
  await rejectsWithCode(() => sys.processChunk('nan', ctx), 'ERR_INVALID_REWARD');
  const stats = await sys.stats();
  assert.equal(stats.totalActions, 4);
  assert.equal(stats.learningIterations, 3, 'the NaN reward was not learned from');
  const ok = await sys.processChunk('boom', ctx);
  assert.equal(ok.action.actionType, 'boom', 'still working');
  await sys.close();
});

test('every call after close() fails with ERR_CLOSED, including in-flight steps', async () => {
  const sys = await openMemory();
  let release;
  sys.registerAction({
    name: 'slow',
    description: 'Slow action',
    keywords: ['slow'],
    handler: () => new Promise((r) => (release = () => r({ success: true }))),
  });
  const ctx = sys.createContext('c');
  const inflight = sys.processChunk('slow', ctx);
  await new Promise((r) => setImmediate(r));
  await sys.close();
  release();
  await rejectsWithCode(() => inflight, 'ERR_CLOSED');
  await rejectsWithCode(() => sys.processChunk('slow', ctx), 'ERR_CLOSED');
  await rejectsWithCode(() => sys.processBatch(['slow'], ctx), 'ERR_CLOSED');
  await rejectsWithCode(() => sys.processBatch(Array(3000).fill('slow'), ctx), 'ERR_CLOSED'); // sliced path
  await rejectsWithCode(() => sys.stats(), 'ERR_CLOSED');
  await rejectsWithCode(() => sys.registerAction({ name: 'x', description: 'y' }), 'ERR_CLOSED');
  await rejectsWithCode(() => sys.createContext('d'), 'ERR_CLOSED');
  await rejectsWithCode(() => sys.feedback('act-1', 1), 'ERR_CLOSED');
  assert.equal(sys.closed, true);
  await sys.close(); // idempotent
});

test('a corrupt store file is a clear error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-bad-'));
  const file = path.join(dir, 'store.db');
  fs.writeFileSync(file, Buffer.alloc(8192, 'garbage!'));
  await rejectsWithCode(() => LeanAgenticSystem.open({ path: file }), 'ERR_STORE_CORRUPT');
  fs.rmSync(dir, { recursive: true, force: true });
});

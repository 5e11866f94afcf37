// Hardening (issue #14) of the step API: step ids and the journal across restarts, coded errors
// for inputs JSON cannot carry, handler results that fail only their step, and ids with any
// characters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LeanAgenticSystem, openMemory, rejectsWithCode } from './helpers.mjs';

test('the step journal keeps every step across restarts; step ids never repeat', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lean-journal-'));
  const file = path.join(dir, 'store.db');
  const ids = new Set();
  const RESTARTS = 20;
  const STEPS = 5;
  let last;
  for (let r = 0; r < RESTARTS; r++) {
    const sys = await LeanAgenticSystem.open({ path: file, seed: r });
    sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
    const ctx = sys.createContext(`s${r % 3}`);
    for (let i = 0; i < STEPS; i++) {
      const res = await sys.processChunk(`note ${r}.${i}`, ctx);
      assert.ok(!ids.has(res.actionId), `id ${res.actionId} repeated`);
      ids.add(res.actionId);
    }
    // Ids sort in time order across restarts.
    const mine = [...ids].slice(-STEPS);
    if (last) assert.ok(mine[0] > last, `${mine[0]} sorts after ${last}`);
    last = mine[STEPS - 1];
    // A step id of an earlier process is unknown here, and the error says why.
    if (r > 0) {
      const old = [...ids][0];
      await assert.rejects(async () => sys.feedback(old, 1), (e) => e.code === 'ERR_NOT_FOUND' && /another system/.test(e.message));
    }
    assert.equal(sys.journalCount(), (r + 1) * STEPS);
    await sys.close();
  }
  assert.equal(ids.size, RESTARTS * STEPS);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a sparse or non-string batch entry is a coded input error, and nothing runs', async () => {
  const sys = await openMemory();
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  const ctx = sys.createContext('b');
  // eslint-disable-next-line no-sparse-arrays
  await rejectsWithCode(() => sys.processBatch(['note a', , 'note c'], ctx), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.processBatch(new Array(3), ctx), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.processBatch(['note a', 7], ctx), 'ERR_INVALID_INPUT');
  assert.equal((await sys.stats()).totalActions, 0);
  await sys.close();
});

test('a handler result JSON cannot carry fails its step only; the step stays in history', async () => {
  const sys = await openMemory({ explorationRate: 0 });
  let mode = 'cycle';
  sys.registerAction({
    name: 'fetch',
    description: 'Fetch data',
    keywords: ['fetch'],
    handler: () => {
      if (mode === 'cycle') {
        const result = {};
        result.self = result;
        return { success: true, result };
      }
      if (mode === 'bigint') return { success: true, result: { n: 10n } };
      return { success: true, result: { ok: 1 } };
    },
  });
  const ctx = sys.createContext('h');
  for (const m of ['cycle', 'bigint']) {
    mode = m;
    const r = await sys.processChunk('fetch it', ctx);
    assert.equal(r.observation.success, false, m);
    assert.equal(r.observation.errorCode, 'ERR_HANDLER_FAILED', m);
    assert.match(r.observation.error, m === 'cycle' ? /cycle/ : /BigInt/);
  }
  mode = 'ok';
  assert.equal((await sys.processChunk('fetch it', ctx)).observation.success, true);
  const h = sys.history(ctx);
  assert.deepEqual(h.map((e) => e.success), [false, false, true]);
  await sys.close();
});

test('ids with any characters: the default resource is the agent or session itself', async () => {
  const sys = await openMemory({ policies: 'permit(principal, action, resource);' });
  for (const id of ['a\u0000b', 'q"uote', 'back\\slash', 'new\nline', 'ü🎉']) {
    const v = sys.verifyAction({ name: 'read' }, { agentId: id });
    assert.equal(v.decision, 'allow');
    assert.equal(v.certificate.request.principal.id, id);
    assert.equal(v.certificate.request.resource.id, id, `default resource of agent ${JSON.stringify(id)}`);
    const ctx = sys.createContext(id);
    const s = sys.verifyAction({ name: 'read' }, ctx);
    assert.equal(s.certificate.request.resource.id, id, `default resource of session ${JSON.stringify(id)}`);
  }
  await sys.close();
});

// Eviction on a store shared with agentic-flow: the bank caps what it wrote itself, never
// deletes another writer's rows unless asked by name (`bank.evict: 'all'`), never evicts the
// memory it has just stored, and says what it evicted (an 'evict' event and `bank.stats()`).
//
// agentic-flow's rows are written with agentic-flow's own db functions (`upsertMemory`,
// `upsertEmbedding`) in one better-sqlite3 transaction; its connection is closed before a
// system opens the file (one SQLite library per file per process, see bank-same-process).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeanAgenticSystem, rejectsWithCode, quietSync } from './helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'la-bank-evict-'));
process.env.SKIP_AGENTDB_PATCH = '1';
process.env.npm_lifecycle_event = 'npx';
process.env.CLAUDE_FLOW_DB_PATH = join(dir, 'unused.db');

const rb = await (async () => {
  const saved = [console.log, console.info, console.warn];
  console.log = console.info = console.warn = () => {};
  try {
    return await import(import.meta.resolve('agentic-flow/reasoningbank'));
  } finally {
    [console.log, console.info, console.warn] = saved;
  }
})();

const systems = [];
after(async () => {
  for (const sys of systems) if (!sys.closed) await sys.close();
  quietSync(() => rb.db.closeDb());
  rb.clearEmbeddingCache();
  rmSync(dir, { recursive: true, force: true });
});

async function open(path, bank = {}) {
  const sys = await LeanAgenticSystem.open({ path, seed: 1, bank });
  systems.push(sys);
  return sys;
}

/** A deterministic unit-ish 384-d vector. */
function vec(i) {
  const v = new Float32Array(384);
  v[i % 384] = 1;
  v[(i * 7 + 3) % 384] += 0.5;
  return v;
}

/**
 * agentic-flow writes `ids` into the file at `path` with its own functions, in one
 * transaction, then closes its connection. `patch` may back-date rows afterwards.
 */
async function afWrite(path, ids, { confidence = 0.7, patch } = {}) {
  process.env.CLAUDE_FLOW_DB_PATH = path;
  await quietSync(() => rb.db.runMigrations());
  quietSync(() => {
    const db = rb.db.getDb();
    db.transaction(() => {
      ids.forEach((id, i) => {
        rb.db.upsertMemory({
          id,
          type: 'reasoning_memory',
          pattern_data: {
            title: `agentic-flow memory ${id}`, description: 'written by agentic-flow', content: `content ${i}`,
            source: { task_id: 't', agent_id: 'af', outcome: 'Success', evidence: [] }, tags: [], domain: 'af',
            created_at: new Date().toISOString(), confidence, n_uses: 0,
          },
          confidence,
          usage_count: 0,
        });
        rb.db.upsertEmbedding({ id, model: 'hash', dims: 384, vector: vec(i) });
      });
      if (patch) patch(db);
    })();
    rb.db.closeDb();
  });
}

/** What agentic-flow itself reads from the file (its connection is closed again after). */
function afRead(path, fn) {
  process.env.CLAUDE_FLOW_DB_PATH = path;
  return quietSync(() => {
    try {
      return fn(rb.db.getDb());
    } finally {
      rb.db.closeDb();
    }
  });
}
const afIds = (path, prefix) => afRead(path, (db) => db.prepare('SELECT id FROM patterns WHERE id LIKE ? ORDER BY id').all(`${prefix}%`).map((r) => r.id));

test("a shared file over maxMemories with agentic-flow's rows: storing one deletes none of them and keeps the new memory", async () => {
  const path = join(dir, 'issue', '.swarm', 'memory.db');
  const N = 12_000;
  await afWrite(path, Array.from({ length: N }, (_, i) => `af-${String(i).padStart(5, '0')}`));
  const sys = await open(path); // default maxMemories: 10,000
  const rec = sys.bank.store({ title: 'the memory just stored', content: 'kept', embedding: Array.from(vec(7)) });
  assert.ok(sys.bank.get(rec.id), 'the memory just stored is there');
  assert.equal(sys.bank.count().memories, N + 1, 'nothing was evicted');
  const stats = sys.bank.stats();
  assert.equal(stats.memories, N + 1);
  assert.equal(stats.ownMemories, 1);
  assert.equal(stats.evictedMemories, 0);
  assert.equal(stats.evict, 'own');
  assert.equal(stats.maxMemories, 10_000);
  await sys.close();
  assert.equal(afRead(path, (db) => db.prepare("SELECT count(*) AS n FROM patterns WHERE id LIKE 'af-%'").get().n), N, "every agentic-flow row is still there");
  const candidates = afRead(path, () => rb.db.fetchMemoryCandidates({ minConfidence: 0.3 }));
  assert.equal(candidates.length, N + 1, 'agentic-flow reads all rows, ours included');
});

test('own memories over the cap are evicted lowest value first, never the one just stored, and reported', async () => {
  const path = join(dir, 'own', '.swarm', 'memory.db');
  await afWrite(path, Array.from({ length: 50 }, (_, i) => `af-${i}`), { confidence: 0.05 }); // low value: would go first
  const sys = await open(path, { maxMemories: 20, evictToFraction: 0.5 });
  const events = [];
  sys.bank.on('evict', (e) => events.push(e));
  for (let i = 0; i < 20; i++) {
    sys.bank.store({ id: `own-${String(i).padStart(2, '0')}`, title: `own ${i}`, confidence: 0.3 + i / 40, embedding: Array.from(vec(100 + i)) });
  }
  assert.deepEqual(events, [], 'at the cap: no eviction yet');
  // The 21st has the lowest value of all; it still is not its own victim.
  const last = sys.bank.store({ id: 'own-last', title: 'lowest value, just stored', confidence: 0.01, embedding: Array.from(vec(200)) });
  assert.ok(sys.bank.get(last.id), 'the memory just stored survives its own eviction run');
  assert.equal(events.length, 1, 'one eviction event');
  const e = events[0];
  assert.equal(e.kind, 'memory');
  assert.equal(e.mode, 'own');
  assert.equal(e.cause, 'store');
  assert.equal(e.count, 11, 'own memories down to evictToFraction × maxMemories = 10');
  assert.equal(e.ids.length, 11);
  assert.equal(e.idsTruncated, false);
  // Lowest value first: the 11 least confident of the first 20.
  assert.deepEqual([...e.ids].sort(), Array.from({ length: 11 }, (_, i) => `own-${String(i).padStart(2, '0')}`));
  for (const id of e.ids) assert.equal(sys.bank.get(id), null, `${id} is gone`);
  const stats = sys.bank.stats();
  assert.equal(stats.ownMemories, 10);
  assert.equal(stats.memories, 60);
  assert.equal(stats.evictedMemories, 11);
  assert.equal(stats.evictions, 1);
  assert.deepEqual(stats.lastEviction, e);
  await sys.close();
  assert.equal(afIds(path, 'af-').length, 50, "agentic-flow's rows are untouched");
});

test("evict: 'all' deletes other writers' rows only when asked; unparseable created_at is scored as agentic-flow scores it", async () => {
  await rejectsWithCode(() => LeanAgenticSystem.open({ path: ':memory:', bank: { evict: 'everything' } }), 'ERR_INVALID_CONFIG');
  const path = join(dir, 'all', '.swarm', 'memory.db');
  const ids = [
    ...Array.from({ length: 10 }, (_, i) => `af-bad-${i}`), // created_at not a date: agentic-flow's age is NULL → recency 1
    ...Array.from({ length: 10 }, (_, i) => `af-old-${i}`), // 400 days old
    ...Array.from({ length: 10 }, (_, i) => `af-new-${i}`),
  ];
  await afWrite(path, ids, {
    patch: (db) => {
      db.prepare("UPDATE patterns SET created_at = 'sometime last spring' WHERE id LIKE 'af-bad-%'").run();
      db.prepare("UPDATE patterns SET created_at = datetime('now', '-400 days') WHERE id LIKE 'af-old-%'").run();
    },
  });
  // agentic-flow's own view of those rows: age_days NULL for the unparseable ones.
  const ages = afRead(path, (db) => db.prepare("SELECT id, CAST((julianday('now') - julianday(created_at)) AS INTEGER) AS age FROM patterns WHERE id LIKE 'af-bad-%'").all());
  assert.ok(ages.every((r) => r.age === null));

  const sys = await open(path, { maxMemories: 30, evictToFraction: 0.7, evict: 'all' });
  const events = [];
  sys.bank.on('evict', (e) => events.push(e));
  sys.bank.store({ id: 'mine', title: 'pushes the file over the cap', confidence: 0.7, embedding: Array.from(vec(300)) });
  assert.equal(events.length, 1);
  assert.equal(events[0].mode, 'all');
  assert.equal(events[0].count, 10, '31 rows down to 21');
  assert.deepEqual([...events[0].ids].sort(), ids.filter((id) => id.startsWith('af-old-')).sort(), 'the old rows go first, not the undated ones');
  assert.ok(sys.bank.get('mine'));
  assert.equal(sys.bank.stats().evictedMemories, 10);
  await sys.close();
  assert.equal(afIds(path, 'af-bad-').length, 10);
  assert.equal(afIds(path, 'af-old-').length, 0);

  // 'none': the cap is a report, not a deletion.
  const keep = await open(join(dir, 'none.db'), { maxMemories: 3, evict: 'none' });
  keep.bank.on('evict', () => assert.fail('no eviction with evict: none'));
  for (let i = 0; i < 6; i++) keep.bank.store({ id: `n-${i}`, title: `kept ${i}` });
  for (let i = 0; i < 4; i++) keep.bank.storeLearning({ id: `l-${i}`, pattern: `p ${i}`, outcome: 'success', reward: 1 });
  const s = keep.bank.stats();
  assert.equal(s.memories, 6);
  assert.equal(s.evictedMemories, 0);
  assert.equal(s.evictedLearnings, 0);
  assert.equal(s.evict, 'none');
});

/** Child: opens the store at STORE_PATH and stores COUNT memories, printing each id once stored. */
const CHILD = `
const { LeanAgenticSystem } = require(process.env.LA_DIST);
(async () => {
  const sys = await LeanAgenticSystem.open({ path: process.env.STORE_PATH, seed: 2 });
  for (let i = 0; i < Number(process.env.COUNT); i++) {
    const r = sys.bank.store({ id: 'child-' + i, title: 'from another process ' + i, confidence: 0.5 });
    process.stdout.write('STORED ' + r.id + '\\n');
  }
  await sys.close();
})().catch((e) => { console.error(e); process.exit(1); });
`;

test('which rows the bank wrote is known across processes; a row agentic-flow replaced is no longer ours', async () => {
  const path = join(dir, 'procs', '.swarm', 'memory.db');
  await afWrite(path, ['af-0', 'af-1', 'af-2']);
  const child = spawn(process.execPath, ['-e', CHILD], {
    env: { ...process.env, LA_DIST: new URL('../dist/index.js', import.meta.url).pathname, STORE_PATH: path, COUNT: '5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  assert.equal(await new Promise((r) => child.on('exit', r)), 0, err);
  assert.equal(out.match(/^STORED /gm).length, 5);

  // agentic-flow re-upserts one of those ids (INSERT OR REPLACE): the row is now its own.
  process.env.CLAUDE_FLOW_DB_PATH = path;
  quietSync(() => {
    rb.db.upsertMemory({
      id: 'child-0', type: 'reasoning_memory', confidence: 0.9, usage_count: 0,
      pattern_data: { title: 'agentic-flow took this id over', description: '', content: '', source: { outcome: 'Success', evidence: [] }, tags: [], created_at: new Date().toISOString(), confidence: 0.9, n_uses: 0 },
    });
    rb.db.closeDb();
  });

  const sys = await open(path, { maxMemories: 3, evictToFraction: 0.34 });
  assert.equal(sys.bank.stats().ownMemories, 4, 'child-1..4 are ours; child-0 is agentic-flow\'s now');
  const events = [];
  sys.bank.on('evict', (e) => events.push(e));
  const mine = sys.bank.store({ id: 'parent', title: 'stored here', confidence: 0.01 });
  assert.equal(events.length, 1);
  assert.deepEqual([...events[0].ids].sort(), ['child-1', 'child-2', 'child-3', 'child-4']);
  assert.ok(sys.bank.get(mine.id));
  assert.equal(sys.bank.get('child-0').title, 'agentic-flow took this id over');
  await sys.close();
  assert.deepEqual(afIds(path, 'af-'), ['af-0', 'af-1', 'af-2']);
});

test('imports are evicted like stores and their reports say how many went', async () => {
  const src = await open(':memory:');
  for (let i = 0; i < 12; i++) src.bank.store({ id: `m-${String(i).padStart(2, '0')}`, title: `memory ${i}`, confidence: 0.2 + i / 20 });
  const doc = src.bank.exportJson();
  const dst = await open(':memory:', { maxMemories: 8, evictToFraction: 0.5 });
  const events = [];
  dst.bank.on('evict', (e) => events.push(e));
  const rep = dst.bank.importJson(doc);
  assert.equal(rep.memories, 12);
  assert.equal(rep.evicted, 8, '12 imported rows down to 4');
  assert.equal(events.length, 1);
  assert.equal(events[0].cause, 'importJson');
  assert.deepEqual([...events[0].ids].sort(), doc.memories.map((m) => m.id).sort().slice(0, 8));
  assert.equal(dst.bank.stats().ownMemories, 4, 'imported rows the import created are ours');
});

// The drop-in for agentic-flow's reasoning bank (`lean-agentic-native/agentic-flow`): the same
// calls against agentic-flow 2.1.3's own functions and ours, on the same databases, compared
// field by field — memories agentic-flow wrote read by ours, memories ours wrote read by
// agentic-flow, and the same writes made by each side on twin databases dumped and compared.
//
// One process holds both SQLite libraries, so the two sides take turns: each side's connection
// is closed before the other side's next call (the engine refuses a file agentic-flow holds
// open in this process, see bank-same-process.test.mjs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rejectsWithCode, quiet } from './helpers.mjs';

const require = createRequire(import.meta.url);
const ours = require('../dist/agentic_flow_bridge.js');

const dir = mkdtempSync(join(tmpdir(), 'la-dropin-'));
process.env.SKIP_AGENTDB_PATCH = '1';
// agentic-flow's computeEmbedding uses its offline hash embedding here (no model download).
process.env.npm_lifecycle_event = 'npx';


let rb = null;
let skipReason = '';
try {
  rb = await quiet(() => import(import.meta.resolve('agentic-flow/reasoningbank')));
} catch (e) {
  skipReason = `agentic-flow/reasoningbank cannot be imported: ${e.message}`;
}

after(async () => {
  if (rb) {
    await quiet(() => rb.db.closeDb());
    rb.clearEmbeddingCache();
  }
  ours.db.closeDb();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `fn` as agentic-flow: ours closed first, output silenced. */
async function af(fn) {
  ours.db.closeDb();
  return quiet(fn);
}
/** Runs `fn` as ours: agentic-flow's connection closed first. */
async function la(fn) {
  await quiet(() => rb.db.closeDb());
  return fn();
}
/** Points both sides at `path` (each reads the path when it next opens its connection). */
async function useDb(path) {
  ours.db.closeDb();
  await quiet(() => rb.db.closeDb());
  process.env.CLAUDE_FLOW_DB_PATH = path;
}

const TOL = 1e-6;
function assertClose(a, b, what) {
  assert.ok(Math.abs(a - b) <= TOL, `${what}: ${a} vs ${b} (tolerance ${TOL})`);
}
/** Compares two retrieveMemories results field by field (ids and order exactly, numbers to TOL). */
function assertSameRetrieval(got, want, what) {
  assert.deepEqual(got.map((m) => m.id), want.map((m) => m.id), `${what}: ids and order`);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    assert.deepEqual(Object.keys(g).sort(), Object.keys(w).sort(), `${what}[${i}] keys`);
    assert.equal(g.title, w.title, `${what}[${i}].title`);
    assert.equal(g.description, w.description, `${what}[${i}].description`);
    assert.equal(g.content, w.content, `${what}[${i}].content`);
    assertClose(g.score, w.score, `${what}[${i}].score`);
    for (const c of ['similarity', 'recency', 'reliability']) assertClose(g.components[c], w.components[c], `${what}[${i}].components.${c}`);
  }
}
/** fetchMemoryCandidates / getAllActiveMemories rows, compared exactly (embeddings as arrays). */
function assertSameRows(got, want, what) {
  assert.equal(got.length, want.length, `${what}: row count`);
  const norm = (r) => ({ ...r, ...(r.embedding ? { embedding: Array.from(r.embedding) } : {}) });
  for (let i = 0; i < want.length; i++) {
    if (want[i].embedding) assert.ok(got[i].embedding instanceof Float32Array, `${what}[${i}].embedding is a Float32Array`);
    assert.deepEqual(norm(got[i]), norm(want[i]), `${what}[${i}]`);
  }
}

const DOMAINS = ['web', 'db', 'ops'];
const TOPICS = ['retry the request with backoff', 'add an index on the join column', 'rotate the log files nightly', 'cache the parsed config', 'validate input at the boundary', 'pin dependency versions'];

/** The i-th memory, as agentic-flow's distill step writes it. */
function memory(i, prefix) {
  const topic = TOPICS[i % TOPICS.length];
  return {
    id: `${prefix}-${String(i).padStart(3, '0')}`,
    // Distinct confidences: agentic-flow's candidate order (confidence, usage) has no ties.
    type: 'reasoning_memory',
    pattern_data: {
      title: `${topic} #${i}`,
      description: `When ${topic} helps (${i})`,
      content: `1. Notice the failure. 2. ${topic}. 3. Check again (${i}).`,
      source: { task_id: `task-${i}`, agent_id: `agent-${i % 4}`, outcome: i % 5 === 0 ? 'Failure' : 'Success', evidence: [`step ${i}`] },
      tags: [DOMAINS[i % 3], 'test'],
      domain: DOMAINS[i % 3],
      created_at: '2026-01-01T00:00:00.000Z',
      confidence: 0.25 + i * 0.0115,
      n_uses: 0,
    },
    // Memories 0..4 fall below agentic-flow's 0.3 floor and are never candidates.
    confidence: 0.25 + i * 0.0115,
    usage_count: 0,
  };
}

/** The sequence of writes both sides make on their twin databases (same arguments). */
async function writeAll(side, prefix, n) {
  for (let i = 0; i < n; i++) {
    const m = memory(i, prefix);
    assert.equal(side.db.upsertMemory(m), m.id);
    // Memory 7 gets no embedding: it is never retrieved (agentic-flow inner-joins embeddings).
    if (i === 7) continue;
    const vector = await rb.computeEmbedding(`${m.pattern_data.title} ${m.pattern_data.content}`);
    side.db.upsertEmbedding({ id: m.id, model: 'hash-384', dims: 384, vector });
  }
  // Re-upserting memory 9 replaces its row, which cascade-deletes its embedding (agentic-flow's
  // INSERT OR REPLACE): it drops out of retrieval on both sides.
  side.db.upsertMemory(memory(9, prefix));
  side.db.incrementUsage(`${prefix}-010`);
  side.db.incrementUsage(`${prefix}-010`);
  side.db.storeLink(`${prefix}-011`, `${prefix}-012`, 'contradicts', 0.9);
  side.db.storeLink(`${prefix}-011`, `${prefix}-013`, 'contradicts', 0.8);
  side.db.storeLink(`${prefix}-011`, `${prefix}-014`, 'refines', 1);
  side.db.storeTrajectory({ task_id: `${prefix}-t1`, agent_id: 'a1', query: 'fix the build', trajectory_json: '{"steps":[]}', judge_label: 'Success', judge_conf: 0.8 });
  side.db.storeTrajectory({ task_id: `${prefix}-t2`, agent_id: 'a2', query: 'q', trajectory_json: '{}', started_at: '2026-01-01', judge_conf: 0 });
  side.db.storeMattsRun({ run_id: `${prefix}-r1`, task_id: `${prefix}-t1`, mode: 'parallel', k: 3, status: 'completed', summary: 'ok' });
  side.db.storeMattsRun({ run_id: `${prefix}-r2`, task_id: `${prefix}-t2`, mode: 'sequential', k: 5, status: 'running' });
  side.db.storeConsolidationRun({ run_id: `${prefix}-c1`, items_processed: 10, duplicates_found: 1, contradictions_found: 2, items_pruned: 0, duration_ms: 12 });
  side.db.logMetric('test.metric', 1.5);
}

/** Every table agentic-flow reads, as rows (time stamps that depend on the clock left out). */
function dump(prefix) {
  const conn = rb.db.getDb();
  const strip = (rows) => rows.map((r) => {
    const o = { ...r };
    for (const k of ['created_at', 'last_used', 'timestamp']) delete o[k];
    if ('last_used' in r) o.used = r.last_used !== null;
    for (const k of Object.keys(o)) if (typeof o[k] === 'string') o[k] = o[k].replaceAll(prefix, 'P');
    if (Buffer.isBuffer(o.vector)) o.vector = o.vector.toString('hex');
    return o;
  });
  return {
    patterns: strip(conn.prepare('SELECT * FROM patterns ORDER BY id').all()),
    pattern_embeddings: strip(conn.prepare('SELECT * FROM pattern_embeddings ORDER BY id').all()),
    pattern_links: strip(conn.prepare('SELECT * FROM pattern_links ORDER BY src_id, dst_id, relation').all()),
    task_trajectories: strip(conn.prepare('SELECT * FROM task_trajectories ORDER BY task_id').all()),
    matts_runs: strip(conn.prepare('SELECT * FROM matts_runs ORDER BY run_id').all()),
    consolidation_runs: strip(conn.prepare('SELECT * FROM consolidation_runs ORDER BY run_id').all()),
    metrics_log: strip(conn.prepare('SELECT metric_name, value FROM metrics_log ORDER BY id').all()),
  };
}

/** Ages memories (by index) on the database agentic-flow has open: `i` is `i * 11 % 400` days old. */
function age(prefix, n) {
  const conn = rb.db.getDb();
  const stmt = conn.prepare("UPDATE patterns SET created_at = datetime('now', ?) WHERE id = ?");
  for (let i = 0; i < n; i++) stmt.run(`-${(i * 11) % 400} days`, `${prefix}-${String(i).padStart(3, '0')}`);
}

const N = 60;
const A = join(dir, 'a', '.swarm', 'memory.db'); // written by agentic-flow
const B = join(dir, 'b', '.swarm', 'memory.db'); // written by ours
const QUERIES = ['retry the request with backoff', 'how do I speed up a slow join', 'log files', 'validate input'];
// `{ domain: 'ops', k: 30 }` and `{ k: 60 }` cover every candidate: agentic-flow then returns them
// in its candidate order (confidence, usage), not by score.
const OPTIONS = [{}, { k: 5 }, { domain: 'web' }, { domain: 'ops', k: 4 }, { domain: 'ops', k: 30 }, { k: 40 }, { k: 60 }, { agent: 'agent-1' }, { domain: 'nowhere' }];

test('the drop-in exports agentic-flow reasoningbank functions with the same names', { skip: rb === null && skipReason }, () => {
  for (const name of ['retrieveMemories', 'formatMemoriesForPrompt']) {
    assert.equal(typeof ours[name], 'function', name);
  }
  const afDb = Object.keys(rb.db).filter((k) => typeof rb.db[k] === 'function').sort();
  assert.deepEqual(Object.keys(ours.db).sort(), afDb, 'the db namespace has every agentic-flow db function');
});

test('the same writes through agentic-flow and through ours leave the same rows', { skip: rb === null && skipReason }, async () => {
  await useDb(A);
  await af(() => rb.db.runMigrations());
  await af(() => writeAll(rb, 'af', N));
  await useDb(B);
  await la(() => ours.db.runMigrations());
  await la(() => writeAll(ours, 'la', N));

  await useDb(A);
  const a = await af(() => dump('af'));
  await useDb(B);
  const b = await af(() => dump('la'));
  assert.equal(a.patterns.length, N);
  assert.equal(a.pattern_embeddings.length, N - 2, 'memory 7 has no embedding; memory 9 lost its own to the re-upsert');
  for (const table of Object.keys(a)) assert.deepEqual(b[table], a[table], table);
  // Age both twins the same way for the retrieval comparisons below.
  await useDb(A);
  await af(() => age('af', N));
  await useDb(B);
  await af(() => age('la', N));
});

test('reads of agentic-flow-written memories: ours equals agentic-flow field by field', { skip: rb === null && skipReason }, async () => {
  await useDb(A);
  const want = await af(() => rb.db.fetchMemoryCandidates({}));
  const got = await la(() => ours.db.fetchMemoryCandidates({}));
  assertSameRows(got, want, 'fetchMemoryCandidates({})');
  for (const opts of [{ domain: 'web' }, { minConfidence: 0.6 }, { domain: 'db', minConfidence: 0.5 }]) {
    assertSameRows(await la(() => ours.db.fetchMemoryCandidates(opts)), await af(() => rb.db.fetchMemoryCandidates(opts)), `fetchMemoryCandidates(${JSON.stringify(opts)})`);
  }
  assertSameRows(await la(() => ours.db.getAllActiveMemories()), await af(() => rb.db.getAllActiveMemories()), 'getAllActiveMemories');
  assert.equal(await la(() => ours.db.countNewMemoriesSinceConsolidation()), await af(() => rb.db.countNewMemoriesSinceConsolidation()));
  assert.deepEqual(await la(() => ours.db.getContradictions('af-011')), await af(() => rb.db.getContradictions('af-011')));
  assert.deepEqual(await la(() => ours.db.getContradictions('af-011')), ['af-012', 'af-013']);
  assert.deepEqual(await la(() => ours.db.getContradictions('missing')), []);
});

/** Usage counts and the number of latency metrics, read through agentic-flow. */
async function sideEffects() {
  return af(() => ({
    usage: rb.db.getDb().prepare('SELECT id, usage_count, last_used IS NOT NULL AS used FROM patterns ORDER BY id').all(),
    metrics: rb.db.getDb().prepare("SELECT COUNT(*) AS n FROM metrics_log WHERE metric_name = 'rb.retrieve.latency_ms'").get().n,
  }));
}

test('retrieveMemories: ours equals agentic-flow (ids, order, scores) with the same side effects', { skip: rb === null && skipReason }, async () => {
  let compared = 0;
  for (const [path, who] of [[A, 'agentic-flow-written'], [B, 'ours-written']]) {
    await useDb(path);
    for (const q of QUERIES) {
      for (const opts of OPTIONS) {
        const before = await sideEffects();
        const want = await af(() => rb.retrieveMemories(q, opts));
        const mid = await sideEffects();
        const got = await la(() => ours.retrieveMemories(q, opts));
        const end = await sideEffects();
        const what = `${who} ${JSON.stringify(q)} ${JSON.stringify(opts)}`;
        assertSameRetrieval(got, want, what);
        // Both count one use of each pick and log one latency metric (when anything matched).
        const delta = (x, y) => x.usage.map((r, i) => r.usage_count - y.usage[i].usage_count);
        assert.deepEqual(delta(end, mid), delta(mid, before), `${what}: usage counted`);
        assert.equal(end.metrics - mid.metrics, mid.metrics - before.metrics, `${what}: metrics logged`);
        if (opts.domain === 'nowhere') assert.equal(got.length, 0);
        else assert.ok(got.length > 0, what);
        compared++;
      }
    }
  }
  assert.equal(compared, 2 * QUERIES.length * OPTIONS.length);
});

test('memories ours wrote are retrieved by agentic-flow as ours retrieves agentic-flow-written ones', { skip: rb === null && skipReason }, async () => {
  for (const q of QUERIES) {
    await useDb(B);
    const afOnOurs = await af(() => rb.retrieveMemories(q, { k: 5 }));
    await useDb(A);
    const oursOnAf = await la(() => ours.retrieveMemories(q, { k: 5 }));
    const rename = (ms) => ms.map((m) => ({ ...m, id: m.id.replace(/^(af|la)-/, '') }));
    assertSameRetrieval(rename(oursOnAf), rename(afOnOurs), `cross ${JSON.stringify(q)}`);
  }
});

test('formatMemoriesForPrompt formats exactly as agentic-flow', { skip: rb === null && skipReason }, async () => {
  await useDb(A);
  const mems = await af(() => rb.retrieveMemories('retry the request with backoff', { k: 3 }));
  assert.equal(ours.formatMemoriesForPrompt(mems), rb.formatMemoriesForPrompt(mems));
  assert.equal(ours.formatMemoriesForPrompt([]), rb.formatMemoriesForPrompt([]));
});

test('pruneOldMemories deletes exactly what agentic-flow deletes', { skip: rb === null && skipReason }, async () => {
  // Retrievals above used every candidate; the memories without an embedding (7: 77 days old,
  // 9: 99 days) were never used, and only they match.
  const opts = { maxAgeDays: 50, minConfidence: 0.6 };
  await useDb(A);
  const n1 = await af(() => rb.db.pruneOldMemories(opts));
  const a = await af(() => dump('af'));
  await useDb(B);
  const n2 = await la(() => ours.db.pruneOldMemories(opts));
  const b = await af(() => dump('la'));
  assert.equal(n1, 2, 'the criteria select the two unused old memories');
  assert.equal(n2, n1);
  // (Usage counts differ between the twins by now: the tests above retrieved more from A.)
  const ids = (d) => ({ patterns: d.patterns.map((r) => r.id), embeddings: d.pattern_embeddings.map((r) => r.id), links: d.pattern_links });
  assert.deepEqual(ids(b), ids(a));
  assert.ok(!ids(a).patterns.includes('P-007') && !ids(a).patterns.includes('P-009'), 'memories 7 and 9 were pruned');
  // Retrieval no longer returns what was pruned, and still agrees.
  const want = await af(() => rb.retrieveMemories('log files', { k: 5 }));
  const got = await la(() => ours.retrieveMemories('log files', { k: 5 }));
  assertSameRetrieval(got.map((m) => ({ ...m, id: m.id.slice(3) })), want.map((m) => ({ ...m, id: m.id.slice(3) })), 'after prune');
});

test('bad input is a coded error, and nothing is written', { skip: rb === null && skipReason }, async () => {
  await useDb(B);
  const before = await af(() => dump('la'));
  await la(async () => {
    await rejectsWithCode(() => ours.retrieveMemories(42), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.retrieveMemories('q', { k: -1 }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.retrieveMemories('q', { k: 1.5 }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.retrieveMemories('q', { k: 1001 }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.retrieveMemories('q', null), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.retrieveMemories('q', { domain: 7 }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.retrieveMemories('q', { embedding: [1, NaN] }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.retrieveMemories('q', { embedding: new Float32Array(3) }), 'ERR_EMBEDDING_DIMS');
    await rejectsWithCode(() => ours.db.upsertMemory(null), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.db.upsertMemory({ ...memory(1, 'x'), confidence: 'high' }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.db.upsertMemory({ ...memory(1, 'x'), id: '' }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.db.upsertEmbedding({ id: 'la-001', model: 'm', dims: 2, vector: 'abc' }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.db.upsertEmbedding({ id: 'no-such-memory', model: 'm', dims: 2, vector: new Float32Array([1, 0]) }), 'ERR_NOT_FOUND');
    await rejectsWithCode(() => ours.db.storeLink('la-011', 'la-012', 'likes', 1), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.db.storeLink('la-011', 'no-such-memory', 'refines', 1), 'ERR_NOT_FOUND');
    await rejectsWithCode(() => ours.db.storeMattsRun({ run_id: 'la-r1', task_id: 't', mode: 'parallel', k: 3, status: 'completed' }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.db.storeConsolidationRun({ run_id: 'x', items_processed: 'ten' }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.db.pruneOldMemories({}), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.db.pruneOldMemories({ maxAgeDays: Infinity, minConfidence: 1 }), 'ERR_INVALID_INPUT');
    await rejectsWithCode(() => ours.db.getDb(), 'ERR_UNSUPPORTED');
    await rejectsWithCode(() => ours.formatMemoriesForPrompt('x'), 'ERR_INVALID_INPUT');
  });
  const after_ = await af(() => dump('la'));
  assert.deepEqual(after_, before, 'nothing was written by the refused calls');
});

test('a missing database file is ERR_NOT_FOUND until runMigrations creates it, as in agentic-flow', { skip: rb === null && skipReason }, async () => {
  const fresh = join(dir, 'fresh', '.swarm', 'memory.db');
  await useDb(fresh);
  await la(async () => {
    await rejectsWithCode(() => ours.db.getAllActiveMemories(), 'ERR_NOT_FOUND');
    await rejectsWithCode(() => ours.retrieveMemories('q', { embedding: new Float32Array(384).fill(1) }), 'ERR_NOT_FOUND');
    await ours.db.runMigrations();
    assert.deepEqual(ours.db.getAllActiveMemories(), []);
    assert.deepEqual(await ours.retrieveMemories('q', { embedding: new Float32Array(384).fill(1) }), []);
  });
  // agentic-flow uses the file ours created.
  assert.deepEqual(await af(() => rb.db.getAllActiveMemories()), []);
  assert.equal(await af(() => rb.db.countNewMemoriesSinceConsolidation()), 0);
});

test("setQueryEmbedder: a caller's embedder, or the engine's built-in one", { skip: rb === null && skipReason }, async () => {
  await useDb(A);
  const calls = [];
  ours.setQueryEmbedder(async (text) => {
    calls.push(text);
    return rb.computeEmbedding(text);
  });
  try {
    const got = await la(() => ours.retrieveMemories('log files', { k: 2 }));
    const want = await af(() => rb.retrieveMemories('log files', { k: 2 }));
    assert.deepEqual(calls, ['log files']);
    assertSameRetrieval(got, want, 'custom embedder');
    ours.setQueryEmbedder('builtin');
    // The built-in embedder is another model: the query is embedded natively (same dimension).
    assert.equal((await la(() => ours.retrieveMemories('log files', { k: 2 }))).length, 2);
    assert.throws(() => ours.setQueryEmbedder(42), (e) => e.code === 'ERR_INVALID_INPUT');
  } finally {
    ours.setQueryEmbedder(null);
  }
});

test('without agentic-flow installed, retrieveMemories fails closed with ERR_INVALID_CONFIG naming the ways out', async () => {
  // A child process whose module loader cannot load agentic-flow (as in a project without it).
  const { spawnSync } = await import('node:child_process');
  const path = join(dir, 'no-af', '.swarm', 'memory.db');
  const hook = `data:text/javascript,${encodeURIComponent(
    "export async function resolve(s, c, next) { if (s.includes('agentic-flow')) throw new Error('Cannot find package agentic-flow'); return next(s, c); }",
  )}`;
  const script = `
    const { register } = require('node:module');
    register(${JSON.stringify(hook)});
    const ours = require(${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'agentic_flow_bridge.js'))});
    (async () => {
      await ours.db.runMigrations();
      const out = {};
      try { await ours.retrieveMemories('q'); } catch (e) { out.code = e.code; out.message = e.message; }
      out.withVector = (await ours.retrieveMemories('q', { embedding: new Float32Array(384).fill(1) })).length;
      ours.setQueryEmbedder('builtin');
      out.builtin = (await ours.retrieveMemories('q')).length;
      ours.db.closeDb();
      console.log(JSON.stringify(out));
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, CLAUDE_FLOW_DB_PATH: path }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(out.code, 'ERR_INVALID_CONFIG');
  assert.match(out.message, /install agentic-flow.*embedding.*setQueryEmbedder/);
  assert.equal(out.withVector, 0);
  assert.equal(out.builtin, 0);
});

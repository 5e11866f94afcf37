// sys.bank against agentic-flow 2.1.3 itself: the same `.swarm/memory.db` file written and read
// by both sides with agentic-flow's own functions (`db.runMigrations`, `db.upsertMemory`,
// `db.upsertEmbedding`, `db.fetchMemoryCandidates`, `retrieveMemories`, `computeEmbedding`).
//
// Two SQLite libraries share this process (the addon's and agentic-flow's better-sqlite3). POSIX
// locks do not separate them, so the addon refuses to open a file agentic-flow's connection has
// open in this process (ERR_STORE_IN_USE, see bank-same-process.test.mjs). The tests therefore
// close agentic-flow's connection before a system opens its file; agentic-flow reopens it
// lazily afterwards (its getDb()), which the addon guards against.
//
// agentic-flow embeds with transformers.js when it can download its model, else with a hash
// embedding. Offline every failed download costs ~0.5 s per call, so the tests take the hash path
// directly the way agentic-flow does under npx (`npm_lifecycle_event=npx`). Every vector, on both
// sides, comes from agentic-flow's `computeEmbedding`, so the comparison holds for either model.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { LeanAgenticSystem, rejectsWithCode, quiet, quietSync } from './helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'la-bank-test-'));
process.env.SKIP_AGENTDB_PATCH = '1';
process.env.CLAUDE_FLOW_DB_PATH = join(dir, 'unused.db');
process.env.npm_lifecycle_event = 'npx';
const AF_URL = import.meta.resolve('agentic-flow/reasoningbank');


const rb = await quiet(() => import(AF_URL));
const systems = [];

after(async () => {
  for (const sys of systems) await sys.close();
  afClose();
  rb.clearEmbeddingCache(); // its cache holds 1-hour timers that would keep the process alive
  rmSync(dir, { recursive: true, force: true });
});

async function open(path) {
  const sys = await LeanAgenticSystem.open({ path, seed: 1 });
  systems.push(sys);
  return sys;
}

/** Points agentic-flow at `path` (its `runMigrations` drops the cached connection). */
async function useAfDb(path) {
  afClose();
  process.env.CLAUDE_FLOW_DB_PATH = path;
  await quiet(() => rb.db.runMigrations());
}
/** Closes agentic-flow's connection (its next db call reopens it). */
function afClose() {
  quietSync(() => rb.db.closeDb());
}

const embed = (text) => quiet(() => rb.computeEmbedding(text));
const afRetrieve = (query, opts) => quiet(() => rb.retrieveMemories(query, opts));

/** Writes one memory the way agentic-flow does (its own upsertMemory + upsertEmbedding). */
function afUpsert(m, vector) {
  quietSync(() => {
    rb.db.upsertMemory({
      id: m.id,
      type: 'reasoning_memory',
      pattern_data: {
        title: m.title,
        description: m.description,
        content: m.content,
        source: { task_id: m.taskId, agent_id: m.agentId, outcome: m.outcome, evidence: m.evidence },
        tags: m.tags,
        domain: m.domain,
        created_at: new Date().toISOString(),
        confidence: m.confidence,
        n_uses: 0,
      },
      confidence: m.confidence,
      usage_count: 0,
    });
    rb.db.upsertEmbedding({ id: m.id, model: 'Xenova/all-MiniLM-L6-v2', dims: vector.length, vector });
  });
}

const WORDS = ['cache', 'retry', 'timeout', 'schema', 'token', 'index', 'deploy', 'rollback', 'queue', 'login',
  'migration', 'shard', 'lock', 'backoff', 'pagination', 'webhook', 'cookie', 'quota', 'replica', 'parser'];
const DOMAINS = ['web', 'db', 'auth', 'ops'];
const TOPICS = ['retry failed http calls with exponential backoff', 'rotate auth tokens before they expire',
  'run schema migrations inside a transaction'];

/** A varied memory description: i selects words, domain, outcome, confidence. */
function memoryText(i, prefix) {
  const w = (k) => WORDS[(i * 7 + k * 3) % WORDS.length];
  return {
    id: `${prefix}-${i}`,
    title: `${w(0)} ${i} ${w(1)} strategy`,
    description: `When ${w(2)} meets ${w(3)} (case ${i})`,
    content: `Step 1: check the ${w(4)}. Step 2: ${w(5)} then ${w(1)}. #${i}`,
    taskId: `task-${i % 17}`,
    agentId: `agent-${i % 5}`,
    outcome: i % 4 === 0 ? 'Failure' : 'Success',
    evidence: [`step-${i}`, { turn: i % 9, note: `seen ${w(0)}` }],
    tags: [w(0), w(2)],
    domain: DOMAINS[i % DOMAINS.length],
    // 0.05 .. 0.99, about a quarter below agentic-flow's 0.3 threshold.
    confidence: Math.round((0.05 + ((i * 37) % 95) / 100) * 100) / 100,
  };
}
const textOf = (m) => `${m.title}\n${m.description}\n${m.content}`;

function assertSameRetrieval(ours, theirs, label) {
  assert.deepEqual(ours.map((r) => r.memory.id), theirs.map((r) => r.id), `${label}: same ids in the same order`);
  for (let i = 0; i < ours.length; i++) {
    const o = ours[i];
    const t = theirs[i];
    assert.ok(Math.abs(o.score - t.score) < 1e-6, `${label} #${i}: score ${o.score} vs ${t.score}`);
    for (const c of ['similarity', 'recency', 'reliability']) {
      assert.ok(Math.abs(o.components[c] - t.components[c]) < 1e-6, `${label} #${i}: ${c} ${o.components[c]} vs ${t.components[c]}`);
    }
    assert.equal(o.memory.title, t.title);
    assert.equal(o.memory.description, t.description);
    assert.equal(o.memory.content, t.content);
  }
}

test('memories written by agentic-flow are retrieved natively with its exact top-k and scores', async () => {
  const path = join(dir, 'af-written', '.swarm', 'memory.db');
  await useAfDb(path);
  const N = 160;
  const mems = [];
  for (let i = 0; i < N; i++) {
    const m = memoryText(i, 'af');
    // Clusters of identical vectors around three topics make MMR's diversity step matter.
    const vector = i % 10 === 3 ? await embed(TOPICS[i % TOPICS.length]) : await embed(textOf(m));
    afUpsert(m, vector);
    mems.push(m);
  }
  // Back-date rows by whole days plus 12 hours (away from day boundaries) and vary usage.
  const age = quietSync(() => rb.db.getDb().prepare(
    "UPDATE patterns SET created_at = datetime('now', ?, '-12 hours'), usage_count = ? WHERE id = ?"));
  for (let i = 0; i < N; i++) {
    if (i % 6 !== 0) age.run(`-${(i * 13) % 240} days`, i % 7, `af-${i}`);
  }
  assert.equal(quietSync(() => rb.db.fetchMemoryCandidates({ minConfidence: 1e-9 })).length, N);

  afClose(); // one SQLite library per file per process: agentic-flow reopens it on its next call
  const sys = await open(path);
  assert.equal(sys.bank.count().memories, N);
  const eligible = mems.filter((m) => m.confidence >= 0.3).length;
  assert.ok(eligible > 60 && eligible < N, `${eligible} memories pass the 0.3 confidence filter`);

  const cases = [
    { q: TOPICS[0], k: 3 },
    { q: TOPICS[1], k: 5 },
    { q: TOPICS[2], k: 10 },
    { q: textOf(mems[42]), k: 3 },
    { q: 'how do I page through a large result set', k: 8 },
    { q: 'login cookie expired after deploy', k: 4, domain: 'auth' },
    { q: 'replica lag during migration', k: 6, domain: 'db' },
    { q: 'a query nothing is about', k: 1 },
  ];
  for (const { q, k, domain } of cases) {
    const embedding = Array.from(await embed(q));
    const opts = domain ? { k, domain } : { k };
    const ours = sys.bank.retrieve(q, { ...opts, embedding });
    const theirs = await afRetrieve(q, opts);
    assert.equal(ours.length, k, `${q}: k results`);
    assertSameRetrieval(ours, theirs, `${q} (k=${k}${domain ? `, ${domain}` : ''})`);
    if (TOPICS.includes(q)) {
      // The topic's cluster shares one vector: MMR keeps a single member of it.
      assert.equal(ours.filter((r) => r.components.similarity > 0.999).length, 1, `${q}: MMR diversifies`);
    }
    for (const r of ours) {
      assert.ok(r.memory.confidence >= 0.3, 'the 0.3 confidence filter applies');
      if (domain) assert.equal(r.memory.domain, domain);
    }
    // Both reads incremented usage_count; usage does not enter the score, so a rerun agrees.
    const again = sys.bank.retrieve(q, { ...opts, embedding });
    assert.deepEqual(again.map((r) => [r.memory.id, r.score]), ours.map((r) => [r.memory.id, r.score]));
  }

  // k covering every candidate: the same memories (agentic-flow then keeps its SQL fetch
  // order, confidence DESC, usage DESC, instead of sorting by score; ours is by score).
  const q = 'anything at all';
  const embedding = Array.from(await embed(q));
  const ours = sys.bank.retrieve(q, { k: 1000, embedding });
  const theirs = await afRetrieve(q, { k: 1000 });
  assert.equal(ours.length, eligible);
  assert.deepEqual(ours.map((r) => r.memory.id).sort(), theirs.map((r) => r.id).sort());
  for (let i = 1; i < ours.length; i++) assert.ok(ours[i - 1].score >= ours[i].score);

  // Usage was recorded on the shared rows by both sides.
  const used = quietSync(() => rb.db.getDb().prepare(
    "SELECT count(*) AS n FROM patterns WHERE last_used IS NOT NULL").get().n);
  assert.ok(used > 0);
  await sys.close();
  afClose();
});

test('memories written natively are returned by agentic-flow retrieveMemories', async () => {
  const path = join(dir, 'native-written.db');
  await useAfDb(path); // agentic-flow's migrations run first (they open and close a connection)
  const sys = await open(path);
  const N = 80;
  const stored = new Map();
  for (let i = 0; i < N; i++) {
    const m = memoryText(i, 'n');
    const vector = i % 10 === 3 ? await embed(TOPICS[i % TOPICS.length]) : await embed(textOf(m));
    const { id: _id, ...fields } = m;
    const rec = sys.bank.store({ id: m.id, ...fields, embedding: Array.from(vector) });
    assert.equal(rec.id, m.id);
    assert.equal(rec.embeddingDims, 384);
    stored.set(m.id, m);
  }
  // agentic-flow back-dates some rows after the native index is loaded; the native side must
  // notice that connection's commits and reload.
  assert.equal(sys.bank.retrieve('warm up', { k: 1, embedding: Array.from(await embed('warm up')) }).length, 1);
  const age = quietSync(() => rb.db.getDb().prepare("UPDATE patterns SET created_at = datetime('now', ?, '-12 hours') WHERE id = ?"));
  for (let i = 0; i < N; i += 3) age.run(`-${(i * 11) % 200} days`, `n-${i}`);

  const candidates = quietSync(() => rb.db.fetchMemoryCandidates({ minConfidence: 1e-9 }));
  assert.equal(candidates.length, N, 'agentic-flow sees every native memory with its embedding');
  for (const c of candidates) {
    const m = stored.get(c.id);
    assert.equal(c.pattern_data.title, m.title);
    assert.equal(c.pattern_data.source.outcome, m.outcome);
    assert.equal(c.embedding.length, 384);
  }

  for (const [q, k] of [[TOPICS[0], 3], [TOPICS[2], 5], [textOf(stored.get('n-17')), 3], ['rollback a bad deploy', 7]]) {
    const theirs = await afRetrieve(q, { k });
    assert.equal(theirs.length, k);
    for (const t of theirs) {
      const m = stored.get(t.id);
      assert.ok(m, `${t.id} is a natively stored memory`);
      assert.equal(t.title, m.title);
      assert.equal(t.description, m.description);
      assert.equal(t.content, m.content);
    }
    const ours = sys.bank.retrieve(q, { k, embedding: Array.from(await embed(q)) });
    assertSameRetrieval(ours, theirs, `native-written: ${q}`);
  }
  // The exact text of a memory brings that memory first on agentic-flow's side.
  const top = await afRetrieve(textOf(stored.get('n-17')), { k: 1 });
  assert.equal(top[0].id, 'n-17');
  const all = sys.bank.retrieve('all', { k: 1000, embedding: Array.from(await embed('all')) });
  const old = all.find((r) => r.memory.id === 'n-9'); // back-dated by 99 days
  assert.ok(Math.abs(old.components.recency - Math.exp(-99 / 45)) < 1e-9, `the back-dated created_at is used (recency ${old.components.recency})`);
  await sys.close();
  afClose();
});

test('round trips through JSON and agentic-flow databases lose no field', async () => {
  const a = await open(':memory:');
  const N = 40;
  for (let i = 0; i < N; i++) {
    const m = memoryText(i, 'rt');
    const { id: _id, ...fields } = m;
    if (i % 5 === 4) {
      a.bank.store({ id: m.id, ...fields }); // built-in 384-d hash embedder
    } else {
      // Pairs sharing a vector become duplicates (same outcome) or contradictions (not).
      const vector = await embed(i % 8 < 2 ? TOPICS[i % 2] : textOf(m));
      a.bank.store({ id: m.id, ...fields, confidence: Math.max(m.confidence, 0.01), embedding: Array.from(vector) });
    }
  }
  a.bank.store({ id: 'rt-unicode', title: 'Ünïcödé — 日本語 "quotes" \\ back', content: 'line1\nline2\ttab', tags: [], embedding: Array.from(await embed('unicode')) });
  for (let i = 0; i < 5; i++) {
    a.bank.storeLearning({ id: `l-${i}`, pattern: `learned ${WORDS[i]}`, outcome: i % 2 ? 'success' : 'failure', reward: i / 4 - 0.5, context: { i, nested: [1, 'two'] }, session: `s-${i}`, action: `act-${i}` });
  }
  for (const q of TOPICS) a.bank.retrieve(q, { k: 3, embedding: Array.from(await embed(q)) }); // usage + last_used
  const cons = a.bank.consolidate();
  assert.ok(cons.duplicatesFound + cons.contradictionsFound > 0, 'consolidation made links to carry over');

  const doc = a.bank.exportJson();
  assert.equal(doc.memories.length, N + 1);
  assert.equal(doc.learnings.length, 5);
  assert.ok(doc.links.length > 0);
  assert.ok(doc.memories.some((m) => m.lastUsed && m.usageCount > 0));

  // JSON → fresh store → JSON.
  const b = await open(':memory:');
  const r1 = b.bank.importJson(doc);
  assert.deepEqual(r1, { memories: N + 1, embeddings: N + 1, learnings: 5, links: doc.links.length, skipped: 0, evicted: 0 });
  assert.deepEqual(b.bank.exportJson(), doc);
  assert.deepEqual(b.bank.importJson(JSON.stringify(doc)), r1, 'importing twice reports the same');
  assert.deepEqual(b.bank.exportJson(), doc);
  assert.deepEqual(b.bank.count(), a.bank.count());

  // Export into an agentic-flow database; agentic-flow reads every field.
  const afPath = join(dir, 'exported', '.swarm', 'memory.db');
  const e1 = a.bank.exportAgenticFlow(afPath);
  assert.deepEqual(e1, { path: afPath, memories: N + 1, embeddings: N + 1, links: doc.links.length });
  assert.deepEqual(a.bank.exportAgenticFlow(afPath), e1, 'exporting twice reports the same');
  await useAfDb(afPath);
  const afDb = quietSync(() => rb.db.getDb());
  const rows = quietSync(() => rb.db.fetchMemoryCandidates({ minConfidence: 1e-9 }));
  assert.equal(rows.length, N + 1, 'agentic-flow reads every exported memory with its embedding');
  assert.equal(afDb.prepare('SELECT count(*) AS n FROM patterns').get().n, N + 1);
  assert.equal(afDb.prepare('SELECT count(*) AS n FROM pattern_links').get().n, doc.links.length);
  const byId = new Map(doc.memories.map((m) => [m.id, m]));
  for (const row of rows) {
    const m = byId.get(row.id);
    const rec = a.bank.get(row.id);
    const pd = row.pattern_data;
    assert.equal(pd.title, rec.title);
    assert.equal(pd.description, rec.description);
    assert.equal(pd.content, rec.content);
    assert.equal(pd.source.task_id ?? null, rec.source.taskId);
    assert.equal(pd.source.agent_id ?? null, rec.source.agentId);
    assert.equal(pd.source.outcome, rec.source.outcome);
    assert.deepEqual(pd.source.evidence, rec.source.evidence);
    assert.deepEqual(pd.tags, rec.tags);
    assert.equal(pd.domain ?? null, rec.domain);
    assert.ok(!Number.isNaN(Date.parse(pd.created_at)), `ISO created_at: ${pd.created_at}`);
    assert.equal(pd.confidence, rec.confidence);
    assert.equal(typeof pd.n_uses, 'number');
    assert.deepEqual(pd, m.patternData);
    assert.equal(row.confidence, rec.confidence);
    assert.equal(row.usage_count, rec.usageCount);
    assert.equal(row.created_at, rec.createdAt);
    assert.equal(row.last_used, rec.lastUsed);
    assert.match(row.created_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal(row.embedding.length, 384);
    assert.deepEqual(Array.from(row.embedding), Array.from(Float32Array.from(m.embedding.vector)), `${row.id}: embedding bytes`);
  }
  const evidenceRow = rows.find((r) => r.id === 'rt-1');
  assert.deepEqual(evidenceRow.pattern_data.source.evidence, ['step-1', { turn: 1, note: `seen ${WORDS[7]}` }]);
  const blob = afDb.prepare('SELECT vector, dims, model FROM pattern_embeddings WHERE id = ?').get('rt-unicode');
  assert.equal(blob.vector.length, 1536);
  assert.equal(blob.dims, 384);
  assert.equal(blob.model, 'external');
  assert.deepEqual(new Float32Array(blob.vector.buffer, blob.vector.byteOffset, 384), await embed('unicode'));

  afClose(); // importAgenticFlow opens and closes its own connection to the file

  // agentic-flow DB → fresh store: equal again (learnings do not live in agentic-flow's DB).
  const c = await open(':memory:');
  const i1 = c.bank.importAgenticFlow(afPath);
  assert.deepEqual(i1, { memories: N + 1, embeddings: N + 1, learnings: 0, links: doc.links.length, skipped: 0, evicted: 0 });
  assert.deepEqual(c.bank.importAgenticFlow(afPath), i1, 'importing twice reports the same');
  const back = c.bank.exportJson();
  assert.deepEqual(back.memories, doc.memories);
  assert.deepEqual(back.links, doc.links);
  assert.deepEqual(c.bank.count(), { memories: N + 1, learnings: 0 });
  for (const sys of [a, b, c]) await sys.close();
});

/** The writer loop run by the child process: agentic-flow alone, against the shared file. */
const CHILD = `
const rb = await import(process.env.AF_URL);
const { writes, prefix } = JSON.parse(process.env.WRITER);
await rb.db.runMigrations();
const db = rb.db.getDb();
process.stdout.write('\\nREADY\\n');
const t0 = Date.now();
for (let i = 0; i < writes; i++) {
  const id = prefix + '-' + i;
  const text = 'child ' + i + ' writes about ' + ['queues', 'locks', 'replicas'][i % 3];
  const vector = await rb.computeEmbedding(text);
  rb.db.upsertMemory({ id, type: 'reasoning_memory', confidence: 0.8, usage_count: 0,
    pattern_data: { title: text, description: 'from the child', content: text, source: { task_id: 't', agent_id: 'child', outcome: 'Success', evidence: [] }, tags: [], domain: 'ops', created_at: new Date().toISOString(), confidence: 0.8, n_uses: 0 } });
  rb.db.upsertEmbedding({ id, model: 'hash', dims: vector.length, vector });
  await new Promise((r) => setImmediate(r));
}
const t1 = Date.now();
db.close();
rb.clearEmbeddingCache();
process.stdout.write('\\nDONE ' + JSON.stringify({ t0, t1 }) + '\\n');
process.exit(0);
`;

test('concurrent writers (native, agentic-flow in-process, agentic-flow in a child) lose nothing', async () => {
  const path = join(dir, 'shared', '.swarm', 'memory.db');
  await useAfDb(path);
  const sys = await open(path);
  quietSync(() => rb.db.getDb()); // agentic-flow's connection, open for the whole test
  const W = 300;
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, CLAUDE_FLOW_DB_PATH: path, AF_URL, WRITER: JSON.stringify({ writes: W, prefix: 'child' }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));

  const nativeText = (i) => `native ${i} stores a note on ${WORDS[i % WORDS.length]}`;
  const afText = (i) => `in-process ${i} upserts a note on ${WORDS[(i * 3) % WORDS.length]}`;
  const nativeVec = [];
  const afVec = [];
  for (let i = 0; i < W; i++) {
    nativeVec.push(Array.from(await embed(nativeText(i))));
    afVec.push(await embed(afText(i)));
  }
  const deadline = Date.now() + 20_000;
  while (!out.includes('READY')) {
    assert.ok(Date.now() < deadline, `child did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const t0 = Date.now();
  for (let i = 0; i < W; i++) {
    sys.bank.store({ id: `native-${i}`, title: nativeText(i), content: nativeText(i), domain: 'ops', confidence: 0.8, embedding: nativeVec[i] });
    await tick();
    afUpsert({ ...memoryText(i, 'x'), id: `af-${i}`, title: afText(i), description: '', content: afText(i), confidence: 0.8, domain: 'ops' }, afVec[i]);
    await tick();
  }
  const t1 = Date.now();
  assert.equal(await exited, 0, `child failed: ${err}`);
  const times = JSON.parse(out.slice(out.indexOf('DONE ') + 5));
  assert.ok(times.t0 < t1 && t0 < times.t1, `the writers overlapped (child ${times.t0}-${times.t1}, here ${t0}-${t1})`);

  const total = 3 * W;
  assert.equal(sys.bank.count().memories, total, 'native count');
  const afDb = rb.db.getDb();
  assert.equal(afDb.prepare("SELECT count(*) AS n FROM patterns WHERE type = 'reasoning_memory'").get().n, total, 'agentic-flow count');
  assert.equal(afDb.prepare('SELECT count(*) AS n FROM pattern_embeddings').get().n, total);
  assert.equal(quietSync(() => rb.db.fetchMemoryCandidates({ minConfidence: 0.3 })).length, total);

  // Both sides find each side's rows: a memory's own text ranks it first.
  const childText = (i) => `child ${i} writes about ${['queues', 'locks', 'replicas'][i % 3]}`;
  for (const [id, text] of [['native-7', nativeText(7)], ['af-123', afText(123)], ['child-250', childText(250)], ['child-0', childText(0)], ['native-299', nativeText(299)]]) {
    const ours = sys.bank.retrieve(text, { k: 3, embedding: Array.from(await embed(text)) });
    assert.equal(ours[0].memory.id, id, `native retrieval of ${id}`);
    const theirs = await afRetrieve(text, { k: 3 });
    assert.equal(theirs[0].id, id, `agentic-flow retrieval of ${id}`);
    assertSameRetrieval(ours, theirs, `shared file: ${id}`);
  }
  assert.equal(sys.bank.query('replicas', { limit: 500 }).filter((h) => h.id.startsWith('child-')).length, W / 3,
    'full-text search indexes the rows agentic-flow wrote');
  await sys.close();
  afClose();
});

test('a truncated or corrupt store file is rejected with ERR_STORE_CORRUPT naming the path', async () => {
  const good = join(dir, 'good.db');
  const sys = await LeanAgenticSystem.open({ path: good, seed: 1 });
  for (let i = 0; i < 120; i++) {
    const m = memoryText(i, 'c');
    const { id: _id, ...fields } = m;
    sys.bank.store({ id: m.id, ...fields });
  }
  await sys.close();
  assert.ok(!existsSync(`${good}-wal`) || statSync(`${good}-wal`).size === 0, 'closing checkpointed the WAL');
  const reopened = await LeanAgenticSystem.open({ path: good, seed: 1 });
  assert.equal(reopened.bank.count().memories, 120);
  await reopened.close();

  const truncated = join(dir, 'truncated.db');
  copyFileSync(good, truncated);
  truncateSync(truncated, Math.floor(statSync(good).size / 2));
  const random = join(dir, 'random.db');
  writeFileSync(random, randomBytes(64 * 1024));
  const text = join(dir, 'notes.db');
  writeFileSync(text, 'These are my notes, not a database.\n'.repeat(50));

  for (const path of [truncated, random, text]) {
    await rejectsWithCode(() => LeanAgenticSystem.open({ path, seed: 1 }), 'ERR_STORE_CORRUPT');
    await assert.rejects(() => LeanAgenticSystem.open({ path, seed: 1 }), (e) => e.message.includes(path));
  }
});

test('sys.bank error codes and edge cases', async () => {
  const sys = await open(':memory:');
  await rejectsWithCode(() => sys.bank.storeLearning({ pattern: 'p', outcome: 'success', reward: NaN }), 'ERR_INVALID_REWARD');
  await rejectsWithCode(() => sys.bank.storeLearning({ pattern: 'p', outcome: 'success', reward: Infinity }), 'ERR_INVALID_REWARD');
  assert.equal(sys.bank.count().learnings, 0);
  // NaN and Infinity become null in JSON; they must not turn into the default 0.5.
  for (const confidence of [NaN, Infinity, -Infinity, -5, 1.5, '0.5', null]) {
    await rejectsWithCode(() => sys.bank.store({ title: 'bad confidence', confidence }), 'ERR_INVALID_INPUT');
  }
  assert.equal(sys.bank.count().memories, 0, 'nothing stored for a bad confidence');

  const v384 = Array.from(await embed('dims'));
  sys.bank.store({ id: 'd1', title: 'three-eighty-four', embedding: v384 });
  await rejectsWithCode(() => sys.bank.store({ id: 'd2', title: 'eight', embedding: [1, 2, 3, 4, 5, 6, 7, 8] }), 'ERR_EMBEDDING_DIMS');
  await rejectsWithCode(() => sys.bank.retrieve('q', { embedding: [1, 0, 0] }), 'ERR_EMBEDDING_DIMS');
  assert.equal(sys.bank.get('d2'), null);
  // The built-in embedder is 384-d too, so it mixes with these vectors.
  sys.bank.store({ id: 'd3', title: 'built-in embedding' });
  assert.equal(sys.bank.count().memories, 2);

  // A store of 8-d vectors refuses the built-in 384-d embedder (and 384-d queries).
  const small = await open(':memory:');
  small.bank.store({ id: 's1', title: 'eight dims', embedding: [1, 0, 0, 0, 0, 0, 0, 0] });
  await rejectsWithCode(() => small.bank.store({ id: 's2', title: 'needs the built-in embedder' }), 'ERR_EMBEDDING_DIMS');
  await rejectsWithCode(() => small.bank.retrieve('a query text'), 'ERR_EMBEDDING_DIMS');
  assert.equal(small.bank.retrieve('x', { embedding: [1, 0, 0, 0, 0, 0, 0, 0] })[0].memory.id, 's1');

  sys.bank.storeLearning({ id: 'l1', pattern: 'foo bar baz', outcome: 'success', reward: 1 });
  for (const blank of ['', '   ']) await rejectsWithCode(() => sys.bank.query(blank), 'ERR_INVALID_INPUT');
  for (const hostile of ['foo AND (', '*', '"', 'NEAR(', 'title:', '-', "'; DROP TABLE patterns; --", '(((', 'foo OR', '^']) {
    const hits = sys.bank.query(hostile);
    assert.ok(Array.isArray(hits), `query(${JSON.stringify(hostile)}) returns a list`);
  }
  assert.ok(sys.bank.query('foo').some((h) => h.id === 'l1'));
  assert.equal(sys.bank.count().memories, 2);

  assert.equal(sys.bank.get('missing'), null);
  assert.equal(sys.bank.delete('d1'), true);
  assert.equal(sys.bank.delete('d1'), false);
  assert.equal(sys.bank.get('d1'), null);
  assert.equal(sys.bank.delete('l1'), true, 'delete removes learnings too');
  assert.equal(sys.bank.delete('l1'), false);
  assert.equal(sys.bank.delete('never-existed'), false);
  assert.deepEqual(sys.bank.count(), { memories: 1, learnings: 0 });
});

test('embeddings may be typed arrays (agentic-flow computeEmbedding returns a Float32Array)', async () => {
  const sys = await LeanAgenticSystem.open({ path: ':memory:' });
  try {
    const dims = 8;
    const vec = (i) => Float32Array.from({ length: dims }, (_, j) => Math.sin(i * 7 + j * 3));
    for (let i = 0; i < 5; i++) sys.bank.store({ id: `m${i}`, title: `memory ${i}`, content: 'x', confidence: 0.9, embedding: vec(i) });
    const hits = sys.bank.retrieve('anything', { k: 1, embedding: vec(3) });
    assert.equal(hits[0].memory.id, 'm3');
    assert.ok(Math.abs(hits[0].components.similarity - 1) < 1e-6, `cosine with itself: ${hits[0].components.similarity}`);
    const asArray = sys.bank.retrieve('anything', { k: 1, embedding: Array.from(vec(3)) });
    assert.equal(asArray[0].score, hits[0].score, 'a Float32Array and the same numbers in an Array score the same');
    sys.bank.store({ id: 'm64', title: 'f64', content: 'x', confidence: 0.9, embedding: Float64Array.from(vec(9)) });
    assert.equal(sys.bank.retrieve('anything', { k: 1, embedding: Float64Array.from(vec(9)) })[0].memory.id, 'm64');
    // What JSON cannot carry is still refused, with a code and the place.
    assert.throws(() => sys.bank.retrieve('q', { embedding: Float32Array.of(1, NaN) }), (e) => e.code === 'ERR_INVALID_INPUT' && /embedding\[1\]/.test(e.message));
    assert.throws(() => sys.bank.retrieve('q', { embedding: BigInt64Array.of(1n) }), (e) => e.code === 'ERR_INVALID_INPUT');
    assert.throws(() => sys.bank.retrieve('q', { embedding: new DataView(new ArrayBuffer(8)) }), (e) => e.code === 'ERR_INVALID_INPUT');
  } finally {
    await sys.close();
  }
});

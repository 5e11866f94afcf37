// Two writers, two processes, one `.swarm/memory.db`: agentic-flow (its own db functions, in
// one child) and this package (`sys.bank.store` and retrieval, in another) write at the same
// time. No acknowledged row may be lost, the file must pass `integrity_check`, and every
// acknowledged row must be readable by both: by agentic-flow's `fetchMemoryCandidates` (in a
// third child) and by the bank.
//
// `npm test` writes 200 rows per writer; the long run (`LA_FAULT_LONG=1`) writes
// `LA_FAULT_ROWS` (default 5,000) per writer. The figures are printed as test diagnostics.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeanAgenticSystem } from './helpers.mjs';

const LONG = process.env.LA_FAULT_LONG === '1';
const ROWS = LONG ? Number(process.env.LA_FAULT_ROWS ?? 5000) : 200;
const dir = mkdtempSync(join(tmpdir(), 'la-two-writers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const AF_URL = import.meta.resolve('agentic-flow/reasoningbank');
const baseEnv = { ...process.env, SKIP_AGENTDB_PATCH: '1', npm_lifecycle_event: 'npx', AF_URL, LA_DIST: new URL('../dist/index.js', import.meta.url).pathname };

/** agentic-flow's writer: its migrations, then upsertMemory + upsertEmbedding per row. */
const AF_WRITER = `
console.log = console.info = console.warn = () => {};
const say = (line) => process.stdout.write(line + '\\n');
const rb = await import(process.env.AF_URL);
await rb.db.runMigrations();
rb.db.getDb();
say('READY');
await new Promise((r) => process.stdin.once('data', r));
say('T0 ' + Date.now());
const rows = Number(process.env.ROWS);
for (let i = 0; i < rows; i++) {
  const id = 'af-' + i;
  const vector = new Float32Array(384);
  vector[i % 384] = 1; vector[(i * 5 + 1) % 384] += 0.5;
  rb.db.upsertMemory({ id, type: 'reasoning_memory', confidence: 0.8, usage_count: 0,
    pattern_data: { title: 'agentic-flow row ' + i, description: 'd', content: 'c', source: { task_id: 't', agent_id: 'af', outcome: 'Success', evidence: [] }, tags: [], domain: 'two', created_at: new Date().toISOString(), confidence: 0.8, n_uses: 0 } });
  rb.db.upsertEmbedding({ id, model: 'hash', dims: 384, vector });
  say('A ' + id);
  if (i % 16 === 0) await new Promise((r) => setImmediate(r));
}
say('T1 ' + Date.now());
rb.db.closeDb();
rb.clearEmbeddingCache();
say('DONE');
process.exit(0);
`;

/** This package's writer: stores (and now and then retrieves, which also writes usage). */
const LA_WRITER = `
const { LeanAgenticSystem } = require(process.env.LA_DIST);
const say = (line) => process.stdout.write(line + '\\n');
(async () => {
  const sys = await LeanAgenticSystem.open({ path: process.env.STORE_PATH, seed: 3 });
  say('READY');
  await new Promise((r) => process.stdin.once('data', r));
  say('T0 ' + Date.now());
  const rows = Number(process.env.ROWS);
  for (let i = 0; i < rows; i++) {
    const id = 'la-' + i;
    sys.bank.store({ id, title: 'lean-agentic row ' + i, content: 'written next to agentic-flow', domain: 'two', confidence: 0.8 });
    say('B ' + id);
    if (i % 25 === 0) sys.bank.retrieve('lean-agentic row ' + i, { k: 3 });
    if (i % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  say('T1 ' + Date.now());
  await sys.close();
  say('DONE');
})().catch((e) => { console.error(e); process.exit(1); });
`;

/** A reader with agentic-flow's own functions: which of the ids it can read, and integrity. */
const AF_READER = `
console.log = console.info = console.warn = () => {};
const rb = await import(process.env.AF_URL);
const fs = await import('node:fs');
const want = JSON.parse(fs.readFileSync(process.env.IDS, 'utf8'));
const seen = new Set(rb.db.fetchMemoryCandidates({ minConfidence: 0.3 }).map((r) => r.id));
const integrity = rb.db.getDb().pragma('integrity_check', { simple: true });
rb.db.closeDb();
rb.clearEmbeddingCache();
process.stdout.write(JSON.stringify({ missing: want.filter((id) => !seen.has(id)), integrity, total: seen.size }) + '\\n');
process.exit(0);
`;

function start(code, env, esm) {
  const args = esm ? ['--input-type=module', '-e', code] : ['-e', code];
  const child = spawn(process.execPath, args, { env: { ...baseEnv, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const state = { child, out: '', err: '' };
  child.stdout.on('data', (d) => { state.out += d; });
  child.stderr.on('data', (d) => { state.err += d; });
  state.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return state;
}
async function until(state, word) {
  const deadline = Date.now() + 60_000;
  while (!state.out.includes(word)) {
    if (Date.now() > deadline || state.child.exitCode !== null) assert.fail(`child did not print ${word}: ${state.err}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const acked = (state, prefix) => state.out.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));

test(`agentic-flow and this package write one memory.db from two processes: ${ROWS} rows each, none lost`, async (t) => {
  const path = join(dir, '.swarm', 'memory.db');
  const started = Date.now();
  const af = start(AF_WRITER, { CLAUDE_FLOW_DB_PATH: path, ROWS: String(ROWS) }, true);
  await until(af, 'READY'); // its migrations created the file
  const la = start(LA_WRITER, { STORE_PATH: path, ROWS: String(ROWS) }, false);
  await until(la, 'READY');
  af.child.stdin.end('go\n'); // ending stdin also lets the children's event loops finish
  la.child.stdin.end('go\n');
  const [afCode, laCode] = await Promise.all([af.exited, la.exited]);
  assert.equal(afCode, 0, `agentic-flow writer: ${af.err}`);
  assert.equal(laCode, 0, `lean-agentic writer: ${la.err}`);
  const afIds = acked(af, 'A ');
  const laIds = acked(la, 'B ');
  assert.equal(afIds.length, ROWS);
  assert.equal(laIds.length, ROWS);
  const all = [...afIds, ...laIds];
  const [a0, a1, b0, b1] = [acked(af, 'T0 '), acked(af, 'T1 '), acked(la, 'T0 '), acked(la, 'T1 ')].map(Number);
  assert.ok(a0 < b1 && b0 < a1, `the writers overlapped (agentic-flow ${a0}-${a1}, this package ${b0}-${b1})`);

  // Read by agentic-flow (another process).
  const idsFile = join(dir, 'ids.json');
  writeFileSync(idsFile, JSON.stringify(all));
  const reader = start(AF_READER, { CLAUDE_FLOW_DB_PATH: path, IDS: idsFile }, true);
  assert.equal(await reader.exited, 0, reader.err);
  const seen = JSON.parse(reader.out.trim().split('\n').pop());
  assert.equal(seen.integrity, 'ok');
  assert.deepEqual(seen.missing, [], 'rows agentic-flow cannot read');
  assert.equal(seen.total, 2 * ROWS);

  // Read by the bank.
  const sys = await LeanAgenticSystem.open({ path, seed: 1 });
  const missing = all.filter((id) => sys.bank.get(id) === null);
  assert.deepEqual(missing, [], 'rows the bank cannot read');
  assert.equal(sys.bank.count().memories, 2 * ROWS);
  assert.equal(sys.bank.stats().ownMemories, ROWS, "the other writer's rows are not the bank's");
  await sys.close();
  t.diagnostic(`rows written: ${2 * ROWS} (${ROWS} per writer, concurrently); rows lost: ${missing.length + seen.missing.length}; integrity_check: ${seen.integrity}; time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

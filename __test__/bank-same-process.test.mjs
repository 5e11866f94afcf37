// One process, one file, two SQLite libraries: agentic-flow's better-sqlite3 and the addon's own
// SQLite. POSIX locks belong to the process, so neither library sees the other's locks; the
// addon must not open a file agentic-flow holds open in this process (it refuses with
// ERR_STORE_IN_USE and names the safe way: the bridge's sync through agentic-flow's own
// connection), and what it holds open must survive agentic-flow opening and closing the file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeanAgenticSystem, rejectsWithCode, quietSync, quiet } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { AgenticFlowBridge } = require('../dist/agentic_flow_bridge.js');

const dir = mkdtempSync(join(tmpdir(), 'la-same-process-'));
process.env.SKIP_AGENTDB_PATCH = '1';
process.env.npm_lifecycle_event = 'npx';
process.env.CLAUDE_FLOW_DB_PATH = join(dir, 'unused.db');

const rb = await quiet(() => import(import.meta.resolve('agentic-flow/reasoningbank')));
const systems = [];
after(async () => {
  for (const sys of systems) if (!sys.closed) await sys.close();
  quietSync(() => rb.db.closeDb());
  rb.clearEmbeddingCache();
  rmSync(dir, { recursive: true, force: true });
});
async function open(path) {
  const sys = await LeanAgenticSystem.open({ path, seed: 1 });
  systems.push(sys);
  return sys;
}

function vec(i) {
  const v = new Float32Array(384);
  v[i % 384] = 1;
  v[(i * 7 + 3) % 384] += 0.5;
  return v;
}
/** One memory written the way agentic-flow writes it: its own upsertMemory + upsertEmbedding. */
function afUpsert(id, i) {
  quietSync(() => {
    rb.db.upsertMemory({
      id,
      type: 'reasoning_memory',
      pattern_data: {
        title: `agentic-flow ${id}`, description: 'd', content: `content ${i}`,
        source: { task_id: 't', agent_id: 'af', outcome: 'Success', evidence: [] }, tags: [], domain: 'af',
        created_at: new Date().toISOString(), confidence: 0.7, n_uses: 0,
      },
      confidence: 0.7,
      usage_count: 0,
    });
    rb.db.upsertEmbedding({ id, model: 'hash', dims: 384, vector: vec(i) });
  });
}
const afFetch = () => quietSync(() => rb.db.fetchMemoryCandidates({ minConfidence: 0.3 }));

test("agentic-flow's file open in this process: import/export/open are refused with the safe way named, and the safe way works", async () => {
  // The reported scenario, from a fresh file.
  const afPath = join(dir, 'issue', '.swarm', 'memory.db');
  process.env.CLAUDE_FLOW_DB_PATH = afPath;
  await quiet(() => rb.db.runMigrations());
  const N = 2000;
  for (let i = 0; i < N; i++) afUpsert(`af-${i}`, i); // its connection stays open, as in an agentic-flow app
  assert.equal(afFetch().length, N);

  const sys = await open(join(dir, 'issue', 'own.db'));
  for (const call of [() => sys.bank.importAgenticFlow(afPath), () => sys.bank.exportAgenticFlow(afPath)]) {
    await rejectsWithCode(call, 'ERR_STORE_IN_USE');
    await assert.rejects(async () => call(), (e) => e.message.includes(afPath) && e.message.includes('syncWithAgenticFlow') && e.message.includes('database'));
  }
  await rejectsWithCode(() => LeanAgenticSystem.open({ path: afPath, seed: 1 }), 'ERR_STORE_IN_USE');
  assert.equal(afFetch().length, N, 'agentic-flow reads its file normally after the refusals');

  // The safe way: through agentic-flow's own connection.
  const bridge = new AgenticFlowBridge({ system: sys, memoryDbPath: afPath });
  const database = quietSync(() => rb.db.getDb());
  const imported = await bridge.syncWithAgenticFlow({ direction: 'import', database });
  assert.equal(imported.imported.memories, N);
  sys.bank.store({ id: 'ours-1', title: 'one memory of ours', embedding: Array.from(vec(N)) });
  const exported = await bridge.syncWithAgenticFlow({ direction: 'export', database });
  assert.equal(exported.exported.memories, N + 1);
  const rows = afFetch(); // threw SQLITE_CORRUPT when the engine wrote the file with its own SQLite
  assert.equal(rows.length, N + 1);
  assert.ok(rows.some((r) => r.id === 'ours-1'));
  assert.equal(database.pragma('integrity_check', { simple: true }), 'ok');

  // Once agentic-flow has closed its connection, the engine may open the file itself.
  quietSync(() => rb.db.closeDb());
  assert.equal(sys.bank.exportAgenticFlow(afPath).memories, N + 1);
  assert.equal(afFetch().length, N + 1, 'agentic-flow reopens and reads the engine-written file');
  quietSync(() => rb.db.closeDb());
  await sys.close();
});

test('agentic-flow opening and closing the file in this process keeps both sides in sync',
  { skip: process.platform !== 'linux' && 'the guard against another SQLite closing the file needs Linux open-file-description locks' },
  async () => {
    const path = join(dir, 'split', '.swarm', 'memory.db');
    const sys = await open(path); // the engine first
    sys.bank.store({ id: 'native-before', title: 'stored before agentic-flow starts', embedding: Array.from(vec(1)) });
    process.env.CLAUDE_FLOW_DB_PATH = path;
    await quiet(() => rb.db.runMigrations()); // agentic-flow's own runMigrations(): open, migrate, close
    afUpsert('af-after', 2);
    sys.bank.store({ id: 'native-after', title: 'stored after agentic-flow started', embedding: Array.from(vec(3)) });
    const afIds = quietSync(() => rb.db.getDb().prepare('SELECT id FROM patterns').all().map((r) => r.id).sort());
    const nativeIds = ['native-before', 'af-after', 'native-after'].filter((id) => sys.bank.get(id)).sort();
    quietSync(() => rb.db.closeDb()); // agentic-flow closes first: the engine's WAL must survive it
    sys.bank.store({ id: 'native-last', title: 'stored after agentic-flow closed', embedding: Array.from(vec(4)) });
    await sys.close();
    assert.deepEqual(nativeIds, ['af-after', 'native-after', 'native-before'], "the engine sees agentic-flow's write");
    assert.deepEqual(afIds, ['af-after', 'native-after', 'native-before'], "agentic-flow sees the engine's write");
    const reopened = await open(path);
    assert.deepEqual(['native-before', 'af-after', 'native-after', 'native-last'].filter((id) => !reopened.bank.get(id)), [], 'every write is in the file');
    await reopened.close();
  });

test("the engine closing its store does not delete the WAL agentic-flow still uses", async () => {
  const path = join(dir, 'close', '.swarm', 'memory.db');
  const sys = await open(path);
  sys.bank.store({ id: 'native-1', title: 'native', embedding: Array.from(vec(1)) });
  process.env.CLAUDE_FLOW_DB_PATH = path;
  await quiet(() => rb.db.runMigrations());
  afUpsert('af-1', 1);
  await sys.close(); // must neither checkpoint-and-delete nor unlink the -shm under agentic-flow
  assert.ok(existsSync(`${path}-wal`) && existsSync(`${path}-shm`), 'the WAL and shared-memory files are still there');
  afUpsert('af-2', 2);
  assert.deepEqual(afFetch().map((r) => r.id).sort(), ['af-1', 'af-2', 'native-1']);
  quietSync(() => rb.db.closeDb());
  // A fresh reader sees agentic-flow's write made after the engine closed.
  const reopened = await open(path);
  assert.ok(reopened.bank.get('af-2'), "agentic-flow's last write reached the file");
  await reopened.close();
});

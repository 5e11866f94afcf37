// Many processes on one PostgreSQL bank: no lost row or increment, read-your-writes across
// processes, and a server restart in the middle of a write loop.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, fork } from 'node:child_process';
import { LeanAgenticSystem } from './helpers.mjs';
import { pgOptions, pgBank, serverControl } from './postgres-helpers.mjs';

const WORKER = new URL('./fixtures/pg_worker.mjs', import.meta.url).pathname;

function runWorker(opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker exited ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

test('4 processes × 2,500 stores and 10,000 usage increments: every row and every increment is there', pgOptions({ timeout: 600_000 }), async () => {
  const bank = pgBank('contend', { poolSize: 2 });
  // The schema is created by the processes themselves, all at once (concurrent migrations).
  const results = await Promise.all([0, 1, 2, 3].map((p) => runWorker({ mode: 'contend', bank, tag: `p${p}`, count: 2500 })));
  const sys = await LeanAgenticSystem.open({ path: ':memory:', bank });
  try {
    assert.equal(sys.bank.count().memories, 10_000);
    const expected = {};
    let total = 0;
    for (const r of results) {
      for (const [id, n] of Object.entries(r.increments)) {
        expected[id] = (expected[id] ?? 0) + n;
        total += n;
      }
    }
    assert.equal(total, 10_000, 'each retrieval returned one memory');
    const doc = sys.bank.exportJson();
    const ids = new Set(doc.memories.map((m) => m.id));
    for (let p = 0; p < 4; p++) for (let i = 0; i < 2500; i++) assert.ok(ids.has(`p${p}-${i}`), `p${p}-${i} missing`);
    let counted = 0;
    for (const m of doc.memories) {
      assert.equal(m.usageCount, expected[m.id] ?? 0, `usage of ${m.id}`);
      counted += m.usageCount;
    }
    assert.equal(counted, 10_000);
    // The increments contended: a few memories took most of them.
    assert.ok(Math.max(...Object.values(expected)) > 100);
  } finally {
    await sys.close();
  }
});

test('a memory stored by one process is retrievable by another as soon as store returns', pgOptions({ timeout: 120_000 }), async () => {
  const bank = pgBank('ryw');
  const first = await LeanAgenticSystem.open({ path: ':memory:', bank });
  await first.close(); // creates the schema
  const start = (child) => new Promise((resolve) => child.once('message', resolve));
  const writer = fork(WORKER, [JSON.stringify({ mode: 'ryw', bank })]);
  const reader = fork(WORKER, [JSON.stringify({ mode: 'ryw', bank })]);
  await Promise.all([start(writer), start(reader)]);
  const ask = (child, msg) => new Promise((resolve) => { child.once('message', resolve); child.send(msg); });
  try {
    for (let n = 0; n < 200; n++) {
      const stored = await ask(writer, { store: n });
      const found = await ask(reader, { find: n });
      assert.equal(found.found, stored.stored, `round ${n}`);
    }
  } finally {
    writer.send({ done: true });
    reader.send({ done: true });
  }
});

test('the server going down under a write loop: coded errors, no acknowledged write lost, recovery', pgOptions({ timeout: 120_000 }), async () => {
  // Calls wait at most connectTimeoutMs (300 ms) for a connection: while the server is down for
  // ~2 s, the loop's calls fail with the code instead of hanging.
  const bank = pgBank('restart', { connectTimeoutMs: 300 });
  const sys = await LeanAgenticSystem.open({ path: ':memory:', bank });
  await sys.close();
  const loop = runWorker({ mode: 'loop', bank, tag: 'w', ms: 7000 });
  await new Promise((r) => setTimeout(r, 1500));
  serverControl('stop');
  await new Promise((r) => setTimeout(r, 2000));
  serverControl('start');
  const result = await loop;
  const check = await LeanAgenticSystem.open({ path: ':memory:', bank });
  try {
    const ids = new Set(check.bank.exportJson().memories.map((m) => m.id));
    const lost = result.acked.filter((id) => !ids.has(id));
    assert.deepEqual(lost, [], 'every acknowledged write is in the database');
    assert.deepEqual(Object.keys(result.errors), ['ERR_STORE_UNAVAILABLE'], JSON.stringify(result.errors));
    assert.ok(result.recoveryMs !== null, 'writes succeeded again after the errors');
    const lastAcked = Number(result.acked.at(-1).split('-')[1]);
    assert.ok(lastAcked > result.attempts - 50, 'the loop ended writing successfully');
    console.log(`down 2 s: ${result.attempts} attempts, ${result.acked.length} acknowledged, errors ${JSON.stringify(result.errors)}, first success ${result.recoveryMs} ms after the first error`);
  } finally {
    await check.close();
  }
});

test('a restart between calls is invisible: the pool replaces the broken connections', pgOptions({ timeout: 120_000 }), async () => {
  const bank = pgBank('restart2');
  const sys = await LeanAgenticSystem.open({ path: ':memory:', bank });
  try {
    sys.bank.store({ id: 'before', title: 'before the restart' });
    serverControl('restart');
    assert.equal(sys.bank.store({ id: 'after', title: 'after the restart' }).id, 'after');
    assert.deepEqual(sys.bank.count(), { memories: 2, learnings: 0 });
  } finally {
    await sys.close();
  }
});

test('swarm vote counts: 4 processes × 250 rounds on one agent count 1,000 rounds', pgOptions({ timeout: 120_000 }), async () => {
  const bank = pgBank('votes');
  await Promise.all([0, 1, 2, 3].map((p) => runWorker({ mode: 'votes', bank, tag: `p${p}`, count: 250 })));
  const sys = await LeanAgenticSystem.open({ path: ':memory:', bank });
  try {
    const [c] = sys.bank.voteCounts();
    assert.deepEqual(c, { agentId: 'shared-agent', agreements: 500, rounds: 1000, reliability: 501 / 1002 });
  } finally {
    await sys.close();
  }
});

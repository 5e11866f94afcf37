// SIGKILL crash safety: a child process stores memories and learnings and runs steps (so the
// step journal writes) on one store file, printing what was acknowledged — a memory's id once
// `store()` returned, the journal's row count once `flush()` resolved — and is killed with
// SIGKILL at a random moment, again and again on the same file. Every acknowledged write must
// survive every kill, and the file must pass `PRAGMA integrity_check`.
//
// `npm test` runs 3 kills. The long run (`LA_FAULT_LONG=1`, part of the fault suite) does
// `LA_FAULT_KILLS` kills (default 40). The figures (kills, rows lost, time) are printed as test
// diagnostics.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeanAgenticSystem } from './helpers.mjs';

const require = createRequire(import.meta.url);
// agentic-flow's better-sqlite3: an independent reader for integrity_check.
const Database = createRequire(require.resolve('agentic-flow/package.json'))('better-sqlite3');

const LONG = process.env.LA_FAULT_LONG === '1';
const KILLS = LONG ? Number(process.env.LA_FAULT_KILLS ?? 40) : 3;
const dir = mkdtempSync(join(tmpdir(), 'la-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The child: writes until killed, acknowledging on stdout (synchronous for pipes on Linux). */
const CHILD = `
const { LeanAgenticSystem } = require(process.env.LA_DIST);
const tag = process.env.TAG;
const say = (line) => process.stdout.write(line + '\\n');
(async () => {
  const sys = await LeanAgenticSystem.open({ path: process.env.STORE_PATH, seed: 7 });
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  const ctx = sys.createContext('crash-' + tag);
  say('READY');
  for (let i = 0; ; i++) {
    const m = sys.bank.store({ id: tag + '-m' + i, title: 'crash test ' + tag + ' ' + i, content: 'written before a kill', confidence: 0.6 });
    say('M ' + m.id);
    if (i % 3 === 0) {
      const l = sys.bank.storeLearning({ id: tag + '-l' + i, pattern: 'pattern ' + i, outcome: 'success', reward: 0.5 });
      say('L ' + l.id);
    }
    if (i % 4 === 0) {
      await sys.processChunk('take a note number ' + i, ctx);
      await sys.flush();
      say('J ' + sys.journalCount());
    }
  }
})().catch((e) => { console.error(e); process.exit(1); });
`;

/** Runs one child until it is SIGKILLed after `delayMs`; returns what it acknowledged. */
async function runAndKill(path, tag, delayMs) {
  const child = spawn(process.execPath, ['-e', CHILD], {
    env: { ...process.env, LA_DIST: new URL('../dist/index.js', import.meta.url).pathname, STORE_PATH: path, TAG: tag },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 30_000;
  while (!out.includes('READY')) {
    if (Date.now() > deadline || child.exitCode !== null) assert.fail(`child ${tag} did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  const { signal } = await exited;
  assert.equal(signal, 'SIGKILL', `child ${tag} was killed, not finished: ${err}`);
  // Only complete lines were acknowledged.
  const lines = out.slice(0, out.lastIndexOf('\n') + 1).split('\n');
  return {
    memories: lines.filter((l) => l.startsWith('M ')).map((l) => l.slice(2)),
    learnings: lines.filter((l) => l.startsWith('L ')).map((l) => l.slice(2)),
    journal: Math.max(0, ...lines.filter((l) => l.startsWith('J ')).map((l) => Number(l.slice(2)))),
  };
}

function integrity(path) {
  const db = new Database(path);
  try {
    return db.pragma('integrity_check', { simple: true });
  } finally {
    db.close();
  }
}

test(`acknowledged memories, learnings and journal rows survive ${KILLS} SIGKILLs; the file stays intact`, async (t) => {
  const path = join(dir, 'store.db');
  const started = Date.now();
  const memories = [];
  const learnings = [];
  let journal = 0;
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  let lost = 0;
  for (let k = 0; k < KILLS; k++) {
    const acked = await runAndKill(path, `k${k}`, 20 + Math.floor(random() * 400));
    memories.push(...acked.memories);
    learnings.push(...acked.learnings);
    journal = Math.max(journal, acked.journal);
    assert.equal(integrity(path), 'ok', `integrity_check after kill ${k + 1}`);
    // Everything acknowledged so far, in every earlier process, is still there.
    const sys = await LeanAgenticSystem.open({ path, seed: 1 });
    try {
      const missing = memories.filter((id) => sys.bank.get(id) === null);
      const stored = new Set(sys.bank.exportJson().learnings.map((l) => l.id));
      const missingLearnings = learnings.filter((id) => !stored.has(id));
      lost += missing.length + missingLearnings.length;
      assert.deepEqual(missing, [], `memories lost after kill ${k + 1}`);
      assert.deepEqual(missingLearnings, [], `learnings lost after kill ${k + 1}`);
      assert.ok(sys.journalCount() >= journal, `journal rows: ${sys.journalCount()} < acknowledged ${journal}`);
    } finally {
      await sys.close();
    }
  }
  assert.ok(memories.length > 0, 'the children acknowledged writes before being killed');
  t.diagnostic(`kills: ${KILLS}, acknowledged: ${memories.length} memories, ${learnings.length} learnings, ${journal} journal rows; rows lost: ${lost}; time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

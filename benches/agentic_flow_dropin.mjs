// retrieveMemories latency: agentic-flow 2.1.3's own vs the drop-in (`lean-agentic-native/agentic-flow`)
// on one 10,000-memory `.swarm/memory.db` written by agentic-flow's own db functions.
//
//   npx tsc -p tsconfig.json && node benches/agentic_flow_dropin.mjs [memories] [queries]
//
// Both sides embed the query with agentic-flow's computeEmbedding (its offline hash embedding:
// npm_lifecycle_event=npx), count usage and log a metric, so the figures compare the same work.
// The drop-in's first call also opens the bank (loads the vectors, indexes the rows for
// full-text search the first time the engine sees them); it is reported on its own. Every query's picks are checked to agree.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const N = Number(process.argv[2] ?? 10_000);
const Q = Number(process.argv[3] ?? 60);
const dir = mkdtempSync(join(tmpdir(), 'la-dropin-bench-'));
process.env.SKIP_AGENTDB_PATCH = '1';
process.env.npm_lifecycle_event = 'npx';
process.env.CLAUDE_FLOW_DB_PATH = join(dir, '.swarm', 'memory.db');

const saved = console.log;
const mute = () => { console.log = console.info = console.warn = () => {}; };
const unmute = () => { console.log = saved; };
mute();
const rb = await import(import.meta.resolve('agentic-flow/reasoningbank'));
unmute();
const ours = require('../dist/agentic_flow_bridge.js');

const WORDS = 'retry backoff index join cache config validate input log rotate pin version deploy rollback queue worker timeout lock schema migrate test flaky build lint format parse token auth session memory leak profile trace'.split(' ');
const pick = (i, j) => WORDS[(i * 7 + j * 13 + ((i * j) % 11)) % WORDS.length];
const text = (i) => `${pick(i, 1)} ${pick(i, 2)} ${pick(i, 3)} strategy ${i}`;

mute();
await rb.db.runMigrations();
const conn = rb.db.getDb();
let t = performance.now();
conn.exec('BEGIN');
for (let i = 0; i < N; i++) {
  const id = `m-${i}`;
  rb.db.upsertMemory({
    id,
    type: 'reasoning_memory',
    pattern_data: { title: text(i), description: `when ${pick(i, 4)} fails`, content: `1. ${pick(i, 5)} 2. ${pick(i, 6)}`, source: { task_id: `t${i}`, agent_id: `a${i % 8}`, outcome: 'Success', evidence: [] }, tags: [], domain: ['web', 'db', 'ops'][i % 3], created_at: new Date().toISOString(), confidence: 0.3 + (i % 70) / 100, n_uses: 0 },
    confidence: 0.3 + (i % 70) / 100,
    usage_count: 0,
  });
  rb.db.upsertEmbedding({ id, model: 'hash-384', dims: 384, vector: await rb.computeEmbedding(text(i)) });
}
conn.prepare("UPDATE patterns SET created_at = datetime('now', '-' || (rowid % 300) || ' days')").run();
conn.exec('COMMIT');
unmute();
console.log(`wrote ${N} memories with agentic-flow's db functions in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const queries = Array.from({ length: Q }, (_, i) => `${pick(i + 100000, 1)} ${pick(i + 100000, 2)} problem ${i}`);
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  return `median ${q(50).toFixed(2)} ms, p99 ${q(99).toFixed(2)} ms, min ${s[0].toFixed(2)} ms, max ${s[s.length - 1].toFixed(2)} ms (n=${s.length})`;
};

// agentic-flow's own retrieveMemories.
const afTimes = [];
const afPicks = [];
mute();
await rb.retrieveMemories('warm up', {}); // opens its connection
for (const q of queries) {
  t = performance.now();
  const r = await rb.retrieveMemories(q, {});
  afTimes.push(performance.now() - t);
  afPicks.push(r);
}
rb.db.closeDb();
unmute();

// The drop-in.
t = performance.now();
await ours.retrieveMemories('warm up', {});
const first = performance.now() - t;
const laTimes = [];
let agree = 0;
const ourPicks = [];
for (const q of queries) {
  t = performance.now();
  const r = await ours.retrieveMemories(q, {});
  laTimes.push(performance.now() - t);
  ourPicks.push(r);
}
ours.db.closeDb();
// Reopening: the rows are full-text indexed already, so only the vectors are loaded.
t = performance.now();
await ours.retrieveMemories('warm up', {});
const reopen = performance.now() - t;
ours.db.closeDb();
// Usage counts changed between the two runs (each side counts its picks); scores do not use them.
for (let i = 0; i < Q; i++) {
  const a = afPicks[i].map((m) => m.id).join();
  const b = ourPicks[i].map((m) => m.id).join();
  if (a === b && afPicks[i].every((m, j) => Math.abs(m.score - ourPicks[i][j].score) < 1e-6)) agree++;
}

console.log(`machine: ${cpus().length} cores (${cpus()[0].model}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`agentic-flow retrieveMemories (k=3, ${N} memories): ${stats(afTimes)}`);
console.log(`drop-in first call (opens the bank over ${N} memories): ${first.toFixed(1)} ms`);
console.log(`drop-in first call after a reopen (vectors only): ${reopen.toFixed(1)} ms`);
console.log(`drop-in retrieveMemories   (k=3, ${N} memories): ${stats(laTimes)}`);
console.log(`same picks and scores (1e-6) on ${agree}/${Q} queries`);
rmSync(dir, { recursive: true, force: true });
rb.clearEmbeddingCache(); // its cache entries hold 1-hour timers that keep the process alive

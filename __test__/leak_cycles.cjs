// Child process of leaks.test.mjs (run with --expose-gc): opens, uses and closes systems in a
// loop, keeping every closed system's JS object alive (as a long-lived app may, and as V8 does
// until its JS heap needs collecting), and prints RSS and thread counts as one JSON line.
//
//   node --expose-gc __test__/leak_cycles.cjs <cycles> <checkpoint> [hashBits]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { LeanAgenticSystem } = require(path.join(__dirname, '..', 'dist', 'index.js'));

const cycles = Number(process.argv[2] ?? 200);
const checkpoint = Number(process.argv[3] ?? 20);
const hashBits = process.argv[4] === undefined ? undefined : Number(process.argv[4]);

function threads() {
  const m = /^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}

function sample() {
  globalThis.gc();
  return { rssMb: process.memoryUsage().rss / 2 ** 20, threads: threads() };
}

async function main() {
  const kept = [];
  const samples = {};
  const chunks = Array.from({ length: 8 }, (_, i) => `note ${i % 7} in Tokyo`);
  // At least 64 KiB: processChunk runs it on the session's batch thread (threads start per system).
  const large = 'note '.repeat(13_200);
  for (let i = 1; i <= cycles; i++) {
    const sys = await LeanAgenticSystem.open({ path: ':memory:', seed: 1, ...(hashBits ? { learner: { hashBits } } : {}) });
    sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
    const ctx = sys.createContext('s');
    await sys.processChunk(large, ctx);
    await sys.processBatch(chunks, ctx, { detail: 'summary' });
    await sys.processChunk('Ada Lovelace works at Acme Corp in London', ctx);
    sys.bank.store({ title: `t${i}`, content: 'retry with backoff' });
    sys.knowledge.stats();
    await sys.close();
    kept.push(sys);
    if (i === checkpoint) samples.checkpoint = sample();
  }
  samples.end = sample();
  samples.kept = kept.length;
  samples.closedConfigReadable = kept.every((s) => s.closed && typeof s.config.historyWindow === 'number');
  process.stdout.write(JSON.stringify(samples) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Child process of step-memory.test.mjs (run with --expose-gc): runs `steps` chunks through one
// session with processBatch (detail 'summary', batches of 10,000) on an on-disk store, every
// chunk naming a new number like the bench's `... #<i>`, and prints RSS (after a full GC) at
// `checkpoint` and at the end, as one JSON line.
//
//   node --expose-gc __test__/step_memory.cjs <steps> <checkpoint> [store path]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { LeanAgenticSystem } = require(path.join(__dirname, '..', 'dist', 'index.js'));

const TEXTS = [
  'What is the weather in Tokyo on Monday?',
  'Find flights from Paris to Berlin next week',
  'Note that Ada Lovelace works at Acme Corp',
  'Will it rain in London tomorrow afternoon?',
  'Book a table for two in Rome on Friday',
  'Remind me to call Dr. Jane Smith at 3pm',
];
const steps = Number(process.argv[2] ?? 200_000);
const checkpoint = Number(process.argv[3] ?? 20_000);
const BATCH = 10_000;

function sample() {
  globalThis.gc();
  const m = process.memoryUsage();
  return { rssMb: m.rss / 2 ** 20, heapTotalMb: m.heapTotal / 2 ** 20 };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-steps-'));
  const file = process.argv[4] ?? path.join(dir, 'store.db');
  const sys = await LeanAgenticSystem.open({ path: file, seed: 1 });
  sys.registerAction({ name: 'get_weather', description: 'Weather forecast for a city', keywords: ['weather', 'rain'] });
  sys.registerAction({ name: 'take_note', description: 'Take a note', keywords: ['note', 'remind'] });
  const ctx = sys.createContext('s');
  const out = { steps, checkpoint };
  const t0 = Date.now();
  for (let done = 0; done < steps; done += BATCH) {
    const n = Math.min(BATCH, steps - done);
    const chunks = Array.from({ length: n }, (_, j) => `${TEXTS[(done + j) % TEXTS.length]} #${done + j}`);
    const rs = await sys.processBatch(chunks, ctx, { detail: 'summary' });
    if (rs.length !== n) throw new Error(`batch returned ${rs.length} results for ${n} chunks`);
    if (done + n === checkpoint) out.atCheckpoint = sample();
  }
  out.atEnd = sample();
  out.seconds = (Date.now() - t0) / 1000;
  out.graph = sys.knowledge.stats();
  out.journal = sys.journalCount();
  await sys.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

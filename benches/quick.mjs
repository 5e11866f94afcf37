// Quick JS-visible numbers: processChunk latency (p50/p99) and processBatch throughput.
// Usage: node benches/quick.mjs [iterations]   (needs a release build: npm install / npm run build)
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { LeanAgenticSystem } = require('../dist/index.js');

const N = Number(process.argv[2] ?? 20000);
const texts = [
  'What is the weather in Tokyo on Monday?',
  'Find flights from Paris to Berlin next week',
  'Note that Ada Lovelace works at Acme Corp',
  'Will it rain in London tomorrow afternoon?',
];

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const sys = await LeanAgenticSystem.open({ path: ':memory:', seed: 1 });
  sys.registerAction({ name: 'get_weather', description: 'Weather forecast for a city', keywords: ['weather', 'rain'] });
  sys.registerAction({ name: 'search_flights', description: 'Search flights', keywords: ['flights', 'flight'] });
  sys.registerAction({ name: 'take_note', description: 'Take a note', keywords: ['note'] });
  const ctx = sys.createContext('bench');
  for (let i = 0; i < 2000; i++) await sys.processChunk(texts[i % texts.length], ctx); // warm-up
  const lat = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    await sys.processChunk(texts[i % texts.length], ctx);
    lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const sorted = Array.from(lat).sort((a, b) => a - b);
  const batch = Array.from({ length: 10000 }, (_, i) => texts[i % texts.length]);
  const reps = 5;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) await sys.processBatch(batch, ctx);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = {
    processChunk: { calls: N, p50_us: pct(sorted, 50), p95_us: pct(sorted, 95), p99_us: pct(sorted, 99) },
    processBatch: { messages: reps * batch.length, msg_per_s: Math.round((reps * batch.length) / secs) },
    verification: 'skipped (no policies loaded)',
    rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  console.log(JSON.stringify(out, null, 2));
  await sys.close();
}
main();

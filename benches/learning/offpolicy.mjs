// Off-policy evaluation against reality (issue #18): log a stream with the default settings, ask
// `sys.evaluatePolicy` what other settings would have earned, then run those settings on the same
// stream (mean of 3 runs with other seeds) and print both side by side.
//
//   node benches/learning/offpolicy.mjs [kind=stationary] [chunks=3000]
import { generate, summarize, rewardOf } from './streams.mjs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { LeanAgenticSystem } = require('../../dist/index.js');
const kind = process.argv[2] ?? 'stationary'; const N = Number(process.argv[3] ?? 3000);
async function run(seed, cfg, evals = [], sysSeed = seed) {
  const s = generate(kind, seed, N);
  const sys = await LeanAgenticSystem.open({ path: ':memory:', seed: sysSeed, ...cfg });
  let cur; s.actions.forEach((name, a) => sys.registerAction({ name, description: 'x', keywords: [name], handler: async () => { const r = rewardOf(cur, a); return { success: r > 0, reward: r }; } }));
  const ctx = sys.createContext('s'); let tot = 0;
  for (const c of s.chunks) { cur = c; const r = await sys.processChunk(c.text, ctx); tot += r.reward; }
  const out = [];
  for (const e of evals) out.push(await sys.evaluatePolicy(e));
  await sys.close();
  return { avg: tot / N, out };
}
const alts = [{}, { explorationRate: 0.2 }, { explorationRate: 1 }, { learningRate: 1 }, { learner: { optimism: 0 } }];
for (const seed of [1, 2]) {
  const base = await run(seed, {}, alts);
  console.log(`seed ${seed} logging avg ${base.avg.toFixed(3)}`);
  for (const [i, alt] of alts.entries()) {
    let actual = 0; for (const k of [11, 12, 13]) actual += (await run(seed, alt, [], k)).avg / 3;
    const e = base.out[i]; const f = (x) => `${x.value.toFixed(3)} [${x.low.toFixed(3)}, ${x.high.toFixed(3)}]`;
    console.log(JSON.stringify(alt).padEnd(30), 'actual', actual.toFixed(3), 'IPS', f(e.ips), 'SNIPS', f(e.snips), 'DR', f(e.doublyRobust), 'ess', e.effectiveSampleSize.toFixed(0), 'n', e.steps);
  }
}

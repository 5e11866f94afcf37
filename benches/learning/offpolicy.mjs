// Off-policy evaluation against reality (issue #18): log a stream with the default settings, ask
// `sys.evaluatePolicy` what other settings would have earned, then run those settings on the same
// stream (mean of 3 runs with other seeds) and print both side by side.
//
//   node benches/learning/offpolicy.mjs [kind=stationary] [chunks=3000]
import { generate } from './streams.mjs';
import { openFor } from './ours.mjs';

const kind = process.argv[2] ?? 'stationary';
const N = Number(process.argv[3] ?? 3000);
const alternatives = [{}, { explorationRate: 0.2 }, { explorationRate: 1 }, { learningRate: 1 }, { learner: { optimism: 0 } }];

/** Runs the stream with `config`; its mean reward and, before closing, `evaluatePolicy` of each of `evaluate`. */
async function run(stream, config, evaluate = []) {
  const { sys, play } = await openFor(stream, config);
  try {
    const mean = (await play('s')).reduce((sum, r) => sum + r.reward, 0) / stream.chunks.length;
    const estimates = [];
    for (const settings of evaluate) estimates.push(await sys.evaluatePolicy(settings));
    return { mean, estimates };
  } finally {
    await sys.close();
  }
}

const f = (x) => `${x.value.toFixed(3)} [${x.low.toFixed(3)}, ${x.high.toFixed(3)}]`;
for (const seed of [1, 2]) {
  const stream = generate(kind, seed, N);
  const logged = await run(stream, {}, alternatives);
  console.log(`seed ${seed} logging avg ${logged.mean.toFixed(3)}`);
  for (const [i, settings] of alternatives.entries()) {
    let actual = 0;
    for (const other of [11, 12, 13]) actual += (await run(stream, { seed: other, ...settings })).mean / 3;
    const e = logged.estimates[i];
    console.log(JSON.stringify(settings).padEnd(30), 'actual', actual.toFixed(3), 'IPS', f(e.ips), 'SNIPS', f(e.snips), 'DR', f(e.doublyRobust), 'ess', e.effectiveSampleSize.toFixed(0), 'n', e.steps);
  }
}

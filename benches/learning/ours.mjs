// Our side of the learning benchmark (issue #18): a stream through `processChunk` with JS handlers,
// as a user runs it — one system, one session, default settings unless `config` says otherwise.
//
// Each action's handler returns the reward the stream draws for the current chunk (`u < p[a]`),
// `{ success: reward > 0, reward }`. Returns the action index chosen for each chunk, -1 where
// the verifier denied the step (it did not run and earned nothing).

import { createRequire } from 'node:module';
import { rewardOf } from './streams.mjs';

const require = createRequire(import.meta.url);

/** Runs `stream` through a fresh in-memory system; `config` is passed to `open`. */
export async function runOurs(stream, config = {}) {
  const { LeanAgenticSystem } = require('../../dist/index.js');
  const sys = await LeanAgenticSystem.open({ path: ':memory:', seed: stream.seed, ...config });
  try {
    let current = null;
    stream.actions.forEach((name, a) => {
      sys.registerAction({
        name,
        description: `Handle the request with ${name.replace('_', ' ')}`,
        keywords: [name],
        handler: async () => {
          const reward = rewardOf(current, a);
          return { success: reward > 0, reward };
        },
      });
    });
    const index = new Map(stream.actions.map((n, a) => [n, a]));
    const ctx = sys.createContext(`${stream.kind}-${stream.seed}`);
    const choices = [];
    for (const chunk of stream.chunks) {
      current = chunk;
      const r = await sys.processChunk(chunk.text, ctx);
      if (r.verification.decision === 'deny') {
        choices.push(-1);
        continue;
      }
      const a = index.get(r.action.actionType);
      if (a === undefined) throw new Error(`step ran ${r.action.actionType}, not a stream action`);
      choices.push(a);
    }
    return choices;
  } finally {
    await sys.close();
  }
}

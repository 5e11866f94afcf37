// Our side of the learning benchmark (issue #18): a stream through `processChunk` with JS handlers,
// as a user runs it — one system, one session, default settings unless `config` says otherwise.
//
// Each action's handler returns the reward the stream draws for the current chunk (`u < p[a]`),
// `{ success: reward > 0, reward }`.

import { createRequire } from 'node:module';
import { rewardOf } from './streams.mjs';

const require = createRequire(import.meta.url);

/**
 * A fresh in-memory system (`config` passed to `open`, the stream's seed unless it sets one) with
 * the stream's actions registered. `play(session)` runs the whole stream through `processChunk`
 * in that session and resolves to each step's result, in order.
 */
export async function openFor(stream, config = {}) {
  const { LeanAgenticSystem } = require('../../dist/index.js');
  const sys = await LeanAgenticSystem.open({ path: ':memory:', seed: stream.seed, ...config });
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
  const play = async (session) => {
    const ctx = sys.createContext(session);
    const results = [];
    for (const chunk of stream.chunks) {
      current = chunk;
      results.push(await sys.processChunk(chunk.text, ctx));
    }
    return results;
  };
  return { sys, play };
}

/**
 * Runs `stream` through a fresh system; returns the action index chosen for each chunk, -1 where
 * the verifier denied the step (it did not run and earned nothing).
 */
export async function runOurs(stream, config = {}) {
  const { sys, play } = await openFor(stream, config);
  try {
    const index = new Map(stream.actions.map((n, a) => [n, a]));
    return (await play(`${stream.kind}-${stream.seed}`)).map((r) => {
      if (r.verification.decision === 'deny') return -1;
      const a = index.get(r.action.actionType);
      if (a === undefined) throw new Error(`step ran ${r.action.actionType}, not a stream action`);
      return a;
    });
  } finally {
    await sys.close();
  }
}

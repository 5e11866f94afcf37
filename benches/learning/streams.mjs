// Simulated chat streams for the learning benchmark (issue #18): the same chunks, the same reward
// draws, fed to our `processChunk` and to Vowpal Wabbit.
//
// A stream is a sequence of chunks. Each chunk belongs to an intent (a user wanting a refund, a
// delivery status, ...) and says so in words drawn from the intent's vocabulary, mixed with filler
// words every intent shares. Each action has, per intent and per position in the stream, a
// probability of earning reward 1 (else 0). Every chunk carries one uniform draw `u`: whichever
// learner picks action `a` earns `u < p[a]` — common random numbers, so a difference between the
// learners is theirs, not the dice's.
//
// Kinds (issue #18 names them):
// - `stationary`: 5 intents × 4 actions, probabilities fixed;
// - `abrupt`: as stationary, and at mid-stream the best action of two intents changes (the old
//   best drops, a mediocre one becomes best) — the stream;
// - `gradual`: the probabilities of three intents slide linearly to new ones over the middle third;
// - `many`: 5 intents × 24 actions, stationary;
// - `sparse`: rewards are rare (the best action earns 0.3, the others 0.02–0.12).
//
// Action names say nothing about the intents, so the planner's relevance is the same for every
// action and only learning can tell them apart.

/** Mulberry32: a small seeded PRNG (uniform in [0, 1)), shared with the tests. */
export { prng as rng } from '../../__test__/helpers.mjs';
import { prng as rng } from '../../__test__/helpers.mjs';

const INTENT_WORDS = [
  ['refund', 'money', 'back', 'charged', 'return', 'reimburse'],
  ['delivery', 'shipping', 'package', 'tracking', 'arrive', 'courier'],
  ['password', 'login', 'account', 'locked', 'reset', 'signin'],
  ['upgrade', 'plan', 'premium', 'pricing', 'subscription', 'tier'],
  ['broken', 'crash', 'error', 'bug', 'freezes', 'fails'],
];
const FILLER = ['please', 'hello', 'thanks', 'today', 'my', 'the', 'i', 'need', 'help', 'with', 'can', 'you',
  'again', 'still', 'now', 'urgent', 'quick', 'question', 'about', 'it', 'is', 'was', 'this', 'there'];

export const KINDS = ['stationary', 'abrupt', 'gradual', 'many', 'sparse'];

/** The action names of a stream with `n` actions. */
export function actionNames(n) {
  return Array.from({ length: n }, (_, i) => `option_${String.fromCharCode(97 + (i % 26))}${i >= 26 ? i : ''}`);
}

/** A probability table `[intent][action]`: one clear best action per intent. */
function table(r, intents, actions, { best = [0.75, 0.9], rest = [0.2, 0.6] } = {}) {
  return Array.from({ length: intents }, () => {
    const b = Math.floor(r() * actions);
    return Array.from({ length: actions }, (_, a) =>
      a === b ? best[0] + r() * (best[1] - best[0]) : rest[0] + r() * (rest[1] - rest[0]));
  });
}

function argmax(xs) {
  let b = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[b]) b = i;
  return b;
}

/**
 * Generates a stream: `{ kind, seed, actions, changeAt, chunks: [{ text, intent, u, p }] }` where
 * `p` is the reward probability of each action for this chunk.
 */
export function generate(kind, seed, length = 6000) {
  if (!KINDS.includes(kind)) throw new Error(`unknown stream kind ${kind}; one of ${KINDS.join(', ')}`);
  const r = rng(seed * 7919 + KINDS.indexOf(kind) * 104729 + 1);
  const intents = INTENT_WORDS.length;
  const nActions = kind === 'many' ? 24 : 4;
  const before = kind === 'sparse'
    ? table(r, intents, nActions, { best: [0.3, 0.3], rest: [0.02, 0.12] })
    : table(r, intents, nActions);
  let after = before;
  let changeAt = null;
  if (kind === 'abrupt' || kind === 'gradual') {
    after = before.map((row) => row.slice());
    const shifted = kind === 'abrupt' ? 2 : 3;
    const picked = new Set();
    while (picked.size < shifted) picked.add(Math.floor(r() * intents));
    for (const i of picked) {
      const row = after[i];
      const oldBest = argmax(row);
      let next = Math.floor(r() * (nActions - 1));
      if (next >= oldBest) next += 1;
      row[next] = 0.8 + r() * 0.1;
      row[oldBest] = 0.25 + r() * 0.15;
    }
    changeAt = kind === 'abrupt' ? Math.floor(length / 2) : Math.floor(length / 3);
  }
  const chunks = [];
  for (let t = 0; t < length; t++) {
    const intent = Math.floor(r() * intents);
    let w = 0;
    if (kind === 'abrupt') w = t >= changeAt ? 1 : 0;
    else if (kind === 'gradual') w = Math.min(1, Math.max(0, (t - changeAt) / (length / 3)));
    const p = before[intent].map((x, a) => x * (1 - w) + after[intent][a] * w);
    const vocab = INTENT_WORDS[intent];
    const words = [];
    const nIntent = 2 + Math.floor(r() * 2);
    for (let k = 0; k < nIntent; k++) words.push(vocab[Math.floor(r() * vocab.length)]);
    const nFiller = 1 + Math.floor(r() * 3);
    for (let k = 0; k < nFiller; k++) words.push(FILLER[Math.floor(r() * FILLER.length)]);
    for (let k = words.length - 1; k > 0; k--) {
      const j = Math.floor(r() * (k + 1));
      [words[k], words[j]] = [words[j], words[k]];
    }
    chunks.push({ text: words.join(' '), intent, u: r(), p: p.map((x) => Math.round(x * 1e6) / 1e6) });
  }
  return { kind, seed, actions: actionNames(nActions), changeAt, chunks };
}

/** The reward a choice of action index `a` earns on `chunk` (a denied step, `a = -1`, earns nothing). */
export function rewardOf(chunk, a) {
  return a >= 0 && chunk.u < chunk.p[a] ? 1 : 0;
}

/**
 * Guardrails for the safe-exploration measure: for each intent, about half of the actions that
 * are not its best are forbidden when the chunk reads like that intent (any of its words), by a
 * Cedar policy per intent. Returns `{ policies, forbidden }` where `forbidden[intent]` lists the
 * forbidden action indices.
 */
export function guardrails(stream) {
  const r = rng(stream.seed * 104729 + 17);
  const n = stream.actions.length;
  const lines = ['@id("allow-all") permit(principal, action, resource);'];
  const forbidden = INTENT_WORDS.map((words, intent) => {
    const best = argmax(stream.chunks.find((c) => c.intent === intent).p);
    const others = [...Array(n).keys()].filter((a) => a !== best);
    for (let k = others.length - 1; k > 0; k--) {
      const j = Math.floor(r() * (k + 1));
      [others[k], others[j]] = [others[j], others[k]];
    }
    const picked = others.slice(0, Math.max(1, Math.floor(others.length / 2))).sort((a, b) => a - b);
    const reads = words.map((w) => `context.params.text like "*${w}*"`).join(' || ');
    const actions = picked.map((a) => `Action::"${stream.actions[a]}"`).join(', ');
    lines.push(`@id("intent-${intent}-guard") forbid(principal, action in [${actions}], resource) when { ${reads} };`);
    return picked;
  });
  return { policies: lines.join('\n'), forbidden };
}

/** Average of `xs[from..to)`. */
export function mean(xs, from = 0, to = xs.length) {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i];
  return to > from ? s / (to - from) : NaN;
}

/** Per-`window` averages of a reward sequence. */
export function curve(rewards, window = 500) {
  const out = [];
  for (let i = 0; i < rewards.length; i += window) out.push(mean(rewards, i, Math.min(rewards.length, i + window)));
  return out;
}

/**
 * Summary of a run on a stream from the action index chosen for each chunk: the average reward
 * earned (the draws), the average *expected* reward of the choices (the same without the dice's
 * noise), the first 500 chunks after a change, the best possible and a uniform choice's.
 */
export function summarize(stream, choices) {
  const rewards = choices.map((a, t) => rewardOf(stream.chunks[t], a));
  const expected = choices.map((a, t) => (a >= 0 ? stream.chunks[t].p[a] : 0));
  const out = {
    average: mean(rewards),
    expected: mean(expected),
    oracle: mean(stream.chunks.map((c) => Math.max(...c.p))),
    uniform: mean(stream.chunks.map((c) => c.p.reduce((s, x) => s + x, 0) / c.p.length)),
    curve: curve(rewards),
    denied: choices.filter((a) => a < 0).length,
  };
  if (stream.changeAt != null) {
    out.afterChange500 = mean(rewards, stream.changeAt, stream.changeAt + 500);
    out.afterChange500Expected = mean(expected, stream.changeAt, stream.changeAt + 500);
  }
  return out;
}

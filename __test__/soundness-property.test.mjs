// Property-based soundness of verification (issue #13): random policy sets over the session's
// history (priorSteps, deniedSteps, failedSteps, runs) and over parameters of random JSON
// types, driven by random step sequences — chunks whose JS handlers succeed or fail, and tool
// calls verified with verifyAction and recorded with recordOutcome.
//
// The suite keeps the *true* history itself (what it allowed, what ran, what failed) and asks
// Cedar's reference implementation (@cedar-policy/cedar-wasm) about every step on the context
// that history gives. Invariant (soundness): a step runs only if cedar-wasm allows it with no
// policy evaluation error (the engine's documented fail-closed rule). The converse is checked
// too (the engine refuses nothing cedar-wasm allows cleanly), and the engine's certified
// context must equal the suite's — so a drifting history shows up at the first step it drifts.
//
// Seeded and reproducible: SOUNDNESS_SEED, SOUNDNESS_CASES (policy sets), SOUNDNESS_STEPS
// (steps per set). `npm test` runs 60 × 60 = 3,600 steps; `npm run fuzz` runs more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { openMemory, prng } from './helpers.mjs';

const require = createRequire(import.meta.url);
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const SEED = Number(process.env.SOUNDNESS_SEED ?? 0x50_d0);
const CASES = Number(process.env.SOUNDNESS_CASES ?? 60);
const STEPS = Number(process.env.SOUNDNESS_STEPS ?? 60);
const ACTIONS = ['a0', 'a1', 'a2', 'a3'];


function generator(rnd) {
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const chance = (p) => rnd() < p;
  const atom = () => {
    const a = pick(ACTIONS);
    switch (int(0, 10)) {
      case 0: return `context.priorSteps.contains("${a}")`;
      case 1: return `context.deniedSteps.contains("${a}")`;
      case 2: return `context.failedSteps.contains("${a}")`;
      case 3: return `context.runs.${a}.count >= ${int(1, 3)}`;
      case 4: return `context.runs.${a}.countLastHour < ${int(1, 4)}`;
      case 5: return `context.runs.${a}.failedCount > 0 || context.runs.${a}.deniedCount >= ${int(1, 2)}`;
      case 6: return `context.params.amount > ${int(0, 200)}`; // errors unless amount is a Long
      case 7: return `context.params has amount && context.params.amount < ${int(0, 200)}`;
      case 8: return `context.runs.${a}.sumLastDay.amount + ${int(0, 50)} > ${int(0, 300)}`;
      case 9: return `context.params.amount.lessThan(decimal("${int(0, 99)}.5"))`; // errors unless a decimal
      default: return `context.stepIndex >= ${int(0, 6)}`;
    }
  };
  const condition = () => {
    const c = atom();
    const r = rnd();
    if (r < 0.2) return `!(${c})`;
    if (r < 0.35) return `${c} && ${atom()}`;
    if (r < 0.5) return `${c} || ${atom()}`;
    return c;
  };
  const policySet = () => {
    const policies = [];
    // A permit per action most of the time, so that allows happen (the test is not vacuous).
    for (const a of ACTIONS) {
      if (chance(0.85)) policies.push(`permit(principal, action == Action::"${a}", resource)${chance(0.5) ? ` when { ${condition()} }` : ''};`);
    }
    for (let i = int(1, 3); i > 0; i--) {
      const scope = chance(0.7) ? `action == Action::"${pick(ACTIONS)}"` : 'action';
      policies.push(`forbid(principal, ${scope}, resource) when { ${condition()} };`);
    }
    return Object.fromEntries(policies.map((p, i) => [`p${i}`, `@id("p${i}")\n${p}`]));
  };
  const amount = () => {
    switch (int(0, 8)) {
      case 0: return undefined;
      case 1: case 2: case 3: return int(-20, 250);
      case 4: return int(0, 200) + pick([0.5, 0.25, 0.125, 0.123456]);
      case 5: return String(int(0, 200));
      case 6: return pick([null, true, [5], { v: 1 }]);
      case 7: return pick([2 ** 63, 1e300, -(2 ** 70)]);
      default: return int(0, 60);
    }
  };
  return { pick, int, chance, policySet, amount };
}

/** The documented JSON → Cedar mapping of a context value. */
function cedarSafe(v) {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 9e15) return v;
    // The text of the number as JSON carries it.
    const text = String(v);
    const m = /^-?\d+\.(\d+)$/.exec(text);
    if (m && m[1].length <= 4 && Math.abs(v) < 922337203685476) return { __extn: { fn: 'decimal', arg: text } };
    return text;
  }
  if (v === null) return '';
  if (Array.isArray(v)) return v.map(cedarSafe);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cedarSafe(x)]));
  return v;
}

/** What a parameter adds to a running sum: integers as is, fractions rounded up, numbers
 * outside Cedar's Long range and non-numbers nothing. */
function summand(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 0;
  const c = Math.ceil(v);
  return c >= -(2 ** 63) && c < 2 ** 63 ? c : 0;
}

/** The true history of one session, as the suite saw it happen. */
class History {
  constructor() {
    this.succeeded = [];
    this.denied = [];
    this.failed = [];
    this.runs = Object.fromEntries(ACTIONS.map((a) => [a, { count: 0, denied: 0, failed: 0, amount: 0 }]));
    this.steps = 0;
  }
  record(action, kind, params) {
    const list = this[kind];
    if (!list.includes(action)) list.push(action);
    const r = this.runs[action];
    if (kind === 'succeeded') {
      r.count += 1;
      r.amount += summand(params?.amount);
    } else if (kind === 'denied') r.denied += 1;
    else r.failed += 1;
    this.steps += 1;
  }
  context(sessionId, params) {
    const runs = {};
    for (const [a, r] of Object.entries(this.runs)) {
      runs[a] = {
        count: r.count,
        countLastDay: r.count,
        countLastHour: r.count,
        deniedCount: r.denied,
        failedCount: r.failed,
        // No generated policy reads it; the engine's value is taken as is (see below).
        secondsSinceLast: 0,
        sumLastDay: { amount: r.amount },
        sumLastHour: { amount: r.amount },
      };
    }
    return {
      approvals: [],
      deniedSteps: [...this.denied],
      failedSteps: [...this.failed],
      params: cedarSafe(params ?? {}),
      priorSteps: [...this.succeeded],
      runs,
      session: { environment: {}, id: sessionId, preferences: {} },
      stepIndex: this.steps,
    };
  }
}

test('a step runs only if Cedar (cedar-wasm) allows it without error on the true history', async () => {
  const rnd = prng(SEED);
  const g = generator(rnd);
  const tally = { steps: 0, ran: 0, denied: 0, errorDenied: 0, failed: 0, chunk: 0, tool: 0 };
  for (let c = 0; c < CASES; c++) {
    const policies = g.policySet();
    const text = Object.values(policies).join('\n');
    const sys = await openMemory({ policies: text, runs: { sum: ['amount'] }, seed: c });
    const psetId = `soundness-${SEED}-${c}`;
    const parsed = cedar.preparsePolicySet(psetId, { staticPolicies: policies });
    assert.equal(parsed.type, 'success', JSON.stringify(parsed));
    let nextOutcome = true;
    let handlerRan = false;
    for (const [i, a] of ACTIONS.entries()) {
      sys.registerAction({
        name: a,
        description: `Action ${a}`,
        keywords: [`k${i}`],
        handler: () => {
          handlerRan = true;
          return { success: nextOutcome };
        },
      });
    }
    const sessionId = `case-${c}`;
    const ctx = sys.createContext(sessionId, { agentId: `agent-${c}` });
    const history = new History();
    const log = [];
    const oracle = (action, context) => {
      const answer = cedar.statefulIsAuthorized({
        principal: { type: 'Agent', id: `agent-${c}` },
        action: { type: 'Action', id: action },
        resource: { type: 'Resource', id: sessionId },
        context,
        entities: [],
        preparsedPolicySetId: psetId,
      });
      assert.equal(answer.type, 'success', JSON.stringify(answer));
      return { allow: answer.response.decision === 'allow' && answer.response.diagnostics.errors.length === 0, errors: answer.response.diagnostics.errors.length };
    };
    const check = (what, action, context, decision, certified) => {
      const want = oracle(action, context);
      const where = `seed ${SEED} case ${c} step ${tally.steps} (${what} ${action})\npolicies:\n${text}\nsteps so far:\n${log.join('\n')}\ncontext: ${JSON.stringify(context)}`;
      if (certified) {
        const got = { ...certified };
        const expected = { ...context };
        // `runs` is built only when a policy of the action can read it.
        if (certified.runs) got.runs = Object.fromEntries(Object.entries(certified.runs).map(([k, r]) => [k, { ...r, secondsSinceLast: 0 }]));
        else delete expected.runs;
        assert.deepEqual(got, expected, `the engine's context is not the true history: ${where}`);
      }
      assert.equal(decision === 'allow', want.allow, `engine ${decision}, cedar-wasm ${want.allow ? 'allows' : 'does not allow'} (errors: ${want.errors}): ${where}`);
      if (want.errors) tally.errorDenied += 1;
      return want;
    };
    for (let s = 0; s < STEPS; s++) {
      tally.steps += 1;
      const i = g.int(0, ACTIONS.length - 1);
      const action = ACTIONS[i];
      nextOutcome = g.chance(0.7);
      if (g.chance(0.5)) {
        // A chunk: the engine plans, verifies and (if allowed) runs the JS handler.
        tally.chunk += 1;
        handlerRan = false;
        const r = await sys.processChunk(`please k${i} now`, ctx);
        assert.equal(r.action.actionType, action);
        const context = history.context(sessionId, r.action.parameters);
        check('chunk', action, context, r.verification.decision, r.verification.certificate?.request.context);
        assert.equal(handlerRan, r.verification.decision === 'allow', 'the handler runs exactly when allowed');
        const kind = r.verification.decision === 'allow' ? (r.observation.success ? 'succeeded' : 'failed') : 'denied';
        history.record(action, kind, r.action.parameters);
        log.push(`chunk ${action}: ${kind}`);
        tally[kind === 'succeeded' ? 'ran' : kind] += 1;
      } else {
        // A tool call: verifyAction, then run it only if allowed, and record the outcome.
        tally.tool += 1;
        const amount = g.amount();
        const params = amount === undefined ? {} : { amount };
        const v = sys.verifyAction({ name: action, params }, ctx);
        const context = history.context(sessionId, params);
        check('tool', action, context, v.decision, v.certificate?.request.context);
        const allowed = v.decision === 'allow';
        const success = allowed && nextOutcome;
        sys.recordOutcome(ctx, { action, text: `tool ${action}`, success, params, decision: v.decision });
        const kind = allowed ? (success ? 'succeeded' : 'failed') : 'denied';
        history.record(action, kind, params);
        log.push(`tool ${action} ${JSON.stringify(params)}: ${kind}`);
        tally[kind === 'succeeded' ? 'ran' : kind] += 1;
      }
    }
    await sys.close();
  }
  console.log(`soundness (seed ${SEED}): ${JSON.stringify(tally)}`);
  // Not vacuous: plenty of steps ran, plenty were refused, some by erroring policies.
  assert.ok(tally.ran > tally.steps * 0.15, JSON.stringify(tally));
  assert.ok(tally.denied > tally.steps * 0.15, JSON.stringify(tally));
  assert.ok(tally.errorDenied > tally.steps * 0.02, JSON.stringify(tally));
  assert.ok(tally.failed > 0, JSON.stringify(tally));
});

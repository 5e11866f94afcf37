// Differential test on *randomly generated policy sets* against Cedar's reference
// implementation (@cedar-policy/cedar-wasm), through the public API (`verifyAction`, compiled
// evaluation on, the decision cache on): decisions, determining policy ids and erroring policy
// ids must be identical to cedar-wasm's with the engine's fail-closed rule on top.
//
// Policies use every construct the compiled evaluator implements — scope `==`/`in`/`is`/`is … in`,
// action lists and groups, `when`/`unless`, `&&`/`||`/`!`, `if`, comparisons, arithmetic (with
// overflow), `like` (with escaped stars and non-ASCII text), `has` and `has a.b`, `contains`,
// `containsAll`, `containsAny`, `isEmpty`, set and record literals built from the request,
// entity attributes (records, entity references, missing ones), decimals (`decimal(…)` on
// constants and on request text, its comparisons, equality, decimals in the request) — and
// constructs it leaves to Cedar's interpreter (`ip`, entity tags) or meets only at run time (a
// decimal entity attribute). Requests mix JSON types and leave attributes out, so errors (and
// the fail-closed path) are common.
//
// Seeded and reproducible: CEDAR_RANDOM_SEED, CEDAR_RANDOM_SETS, CEDAR_RANDOM_REQUESTS (per set).
// `npm test` runs 8 sets × 1,500 requests; `npm run test:differential` runs 20 × 5,000 = 100,000
// (and the Rust suite against the cedar-policy crate at 200,000).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { openMemory, prng } from './helpers.mjs';
import { failClosed, ourAnswer, referenceRequest, uid } from './cedar-reference.mjs';

const require = createRequire(import.meta.url);
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const SEED = Number(process.env.CEDAR_RANDOM_SEED ?? 20261205);
const SETS = Number(process.env.CEDAR_RANDOM_SETS ?? 8);
const PER_SET = Number(process.env.CEDAR_RANDOM_REQUESTS ?? 1500);

const ACTIONS = ['pay', 'read', 'search', 'deploy', 'close'];
const TEXTS = ['12.25', 'invoice 42', 'my password is hunter2', 'ssn 123-45-6789', 'deploy to prod', '', 'café ünïcode', 'a*b', 'ab'];
const STEPS = ['approve', 'review', 'close', 'read'];

function generator(rnd) {
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo)); // [lo, hi)
  const pick = (xs) => xs[int(0, xs.length)];
  const chance = (p) => rnd() < p;

  function construct(k) {
    switch (int(0, 25)) {
      case 0: return `context.params.amount + ${k} > 1000`;
      case 1: return 'context.params.amount * 4611686018427387904 > 0';
      case 2: return `-context.retries < ${int(-4, 1)}`;
      case 3: return 'if context has hour then context.hour < 12 else context.retries == 0';
      case 4: return 'context.approvals.containsAll(["cfo"])';
      case 5: return 'context.priorSteps.containsAny(["approve", "close"])';
      case 6: return 'context.priorSteps.isEmpty()';
      case 7: return `[context.retries, 1].contains(${int(0, 3)})`;
      case 8: return `{a: context.stepIndex} == {a: ${int(0, 3)}}`;
      case 9: return 'context.approvals == ["cfo"]';
      case 10: return 'context has params.amount';
      case 11: return `principal.manager == Agent::"a${int(0, 4)}"`;
      case 12: return 'principal.manager in Role::"r0"';
      case 13: return `principal has profile.dept && principal.profile.dept == "${pick(['eng', 'ops'])}"`;
      case 14: return 'resource in [Account::"ac0", Role::"r1"]';
      case 15: return 'principal in [Role::"r0", Role::"r2"]';
      case 16: return 'principal in context.approvals';
      case 17: return 'principal.hasTag("team") && principal.getTag("team") == "red"';
      case 18: return 'ip("10.1.2.3").isInRange(ip("10.0.0.0/8"))';
      case 19: return 'principal has score && principal.score == principal.score';
      case 20: return `context.params.text like "${pick(['*é*', 'my*is*', 'a\\\\*b', '*', '', 'ssn *-*-6789'])}"`;
      case 22: return `context.params.amount == decimal("${int(0, 100)}.25")`;
      case 23: return `context.params.amount.greaterThanOrEqual(decimal("${int(0, 100)}.5"))`;
      case 24: return 'decimal(context.params.text).lessThanOrEqual(decimal("12.3"))';
      default: return 'context.params == {amount: 1}';
    }
  }

  function condition(depth) {
    if (depth < 2 && chance(0.25)) {
      const [a, b] = [condition(depth + 1), condition(depth + 1)];
      return pick([`(${a} && ${b})`, `(${a} || ${b})`, `!(${a})`]);
    }
    const k = int(-2, 2000);
    if (chance(0.45)) return `(${construct(k)})`;
    switch (int(0, 13)) {
      case 0: return `context.params.amount < ${k}`;
      case 1: return `context.params.amount >= ${k}`;
      case 2: return `context.params.amount == ${int(0, 5)}`;
      case 3: return `context.params.text like "*${pick(['password', 'ssn', 'prod', '42', ''])}*"`;
      case 4: return `context.priorSteps.contains("${pick(STEPS)}")`;
      case 5: return 'context.params has amount';
      case 6: return `context has hour && context.hour > ${int(0, 24)}`;
      case 7: return `principal.trustLevel >= ${int(0, 6)}`;
      case 8: return 'resource.frozen';
      case 9: return `context.stepIndex >= ${int(0, 6)}`;
      case 10: return `${int(0, 4)} > context.retries`;
      case 11: return `context.params.amount.lessThan(decimal("${int(0, 100)}.5"))`;
      default: return `context.approvals.contains("${pick(['cfo', 'lead'])}")`;
    }
  }

  function policySet(n) {
    const policies = {};
    for (let i = 0; i < n; i++) {
      const effect = chance(0.35) ? 'forbid' : 'permit';
      const principal = pick([
        () => 'principal',
        () => `principal == Agent::"a${int(0, 4)}"`,
        () => `principal in Role::"r${int(0, 3)}"`,
        () => 'principal is Agent',
        () => `principal is Agent in Role::"r${int(0, 3)}"`,
      ])();
      const action = pick([
        () => 'action',
        () => `action == Action::"${pick(ACTIONS)}"`,
        () => `action in [Action::"${pick(ACTIONS)}", Action::"${pick(ACTIONS)}"]`,
        () => 'action in Action::"money"',
      ])();
      const resource = pick([() => 'resource', () => 'resource is Account', () => `resource == Account::"ac${int(0, 3)}"`])();
      let text = `${effect}(${principal}, ${action}, ${resource})`;
      for (let c = int(0, 3); c > 0; c--) text += ` ${chance(0.8) ? 'when' : 'unless'} { ${condition(0)} }`;
      policies[`p${i}`] = `@id("p${i}")\n${text};`;
    }
    return policies;
  }

  function entities() {
    const list = [
      { uid: uid('Role', 'r0'), attrs: {}, parents: [] },
      { uid: uid('Role', 'r1'), attrs: {}, parents: [uid('Role', 'r0')] },
      { uid: uid('Role', 'r2'), attrs: {}, parents: [] },
      { uid: uid('Action', 'money'), attrs: {}, parents: [] },
      ...ACTIONS.map((a) => ({ uid: uid('Action', a), attrs: {}, parents: a === 'pay' || a === 'close' ? [uid('Action', 'money')] : [] })),
    ];
    for (let i = 0; i < 4; i++) {
      const attrs = {};
      if (chance(0.6)) attrs.manager = { __entity: uid('Agent', `a${int(0, 5)}`) };
      if (chance(0.5)) attrs.profile = { dept: pick(['eng', 'ops']) };
      else if (chance(0.3)) attrs.profile = 'eng';
      if (chance(0.3)) attrs.score = { __extn: { fn: 'decimal', arg: '1.5' } };
      const r = int(0, 4);
      if (r === 1) attrs.trustLevel = 'high';
      else if (r > 1) attrs.trustLevel = int(0, 6);
      list.push({ uid: uid('Agent', `a${i}`), attrs, tags: chance(0.5) ? { team: pick(['red', 'blue']) } : {}, parents: [uid('Role', `r${int(0, 3)}`)] });
    }
    for (let i = 0; i < 3; i++) {
      list.push({ uid: uid('Account', `ac${i}`), attrs: chance(0.8) ? { frozen: chance(0.3) } : {}, parents: [] });
    }
    return list;
  }

  function request() {
    const params = {};
    switch (int(0, 7)) {
      case 0: break;
      case 1: params.amount = int(0, 3); break;
      case 2: params.amount = int(0, 2500); break;
      case 3: params.amount = '500'; break;
      case 4: params.amount = int(0, 100) + 0.25; break; // a decimal in Cedar
      case 5: params.amount = true; break;
      default: params.amount = 2 ** 62; break; // overflows when multiplied
    }
    if (chance(0.7)) params.text = pick(TEXTS);
    const ctx = {
      agentId: `a${int(0, 5)}`,
      priorSteps: STEPS.filter(() => chance(0.3)),
      approvals: chance(0.5) ? ['cfo'] : [],
      stepIndex: int(0, 8),
    };
    if (chance(0.8)) ctx.retries = int(0, 5);
    if (chance(0.1)) ctx.retries = 'three';
    if (chance(0.5)) ctx.hour = int(0, 24);
    const action = { name: pick(ACTIONS), params };
    if (chance(0.8)) action.resource = `Account::"ac${int(0, 3)}"`;
    else if (chance(0.5)) action.resource = 'Document::"d0"';
    return { action, ctx };
  }

  return { policySet, entities, request, int };
}

test('verifyAction equals cedar-wasm on random policy sets (compiled and interpreted constructs)', async () => {
  const counts = { allow: 0, forbid: 0, defaultDeny: 0, failedClosed: 0 };
  const paths = { compiled: 0, mixed: 0, interpreted: 0, fallbacks: 0 };
  const modes = { compiled: 0, interpreted: 0 };
  const mismatches = [];
  for (let set = 0; set < SETS; set++) {
    const rnd = prng(SEED + set * 7919);
    const gen = generator(rnd);
    const policies = gen.policySet(gen.int(8, 24));
    const entities = gen.entities();
    const sys = await openMemory({ policies: Object.values(policies).join('\n'), entities });
    for (const p of sys.policyInfo().evaluation) modes[p.mode] += 1;
    const id = `random-${SEED}-${set}`;
    const parsed = cedar.preparsePolicySet(id, { staticPolicies: policies });
    assert.equal(parsed.type, 'success', JSON.stringify(parsed));
    for (let i = 0; i < PER_SET; i++) {
      const { action, ctx } = gen.request();
      const call = { ...referenceRequest(action, ctx), entities, preparsedPolicySetId: id };
      const ref = cedar.statefulIsAuthorized(call);
      assert.equal(ref.type, 'success', `cedar-wasm failed: ${JSON.stringify(ref)}`);
      const want = failClosed(ref.response);
      const got = ourAnswer(sys.verifyAction(action, ctx));
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        mismatches.push(`set ${set} request ${i}: verifyAction(${JSON.stringify(action)}, ${JSON.stringify(ctx)})\n  ours ${JSON.stringify(got)}\n  cedar-wasm ${JSON.stringify(want)}\n  policies:\n${Object.values(policies).join('\n')}`);
        continue;
      }
      if (want.erroring.length) counts.failedClosed += 1;
      else if (want.decision === 'allow') counts.allow += 1;
      else counts[want.determining.length ? 'forbid' : 'defaultDeny'] += 1;
    }
    const stats = (await sys.stats()).policyEvaluation;
    for (const k of Object.keys(paths)) paths[k] += stats[k];
    await sys.close();
  }
  const total = SETS * PER_SET;
  assert.equal(mismatches.length, 0, `${mismatches.length} of ${total} differ:\n${mismatches.slice(0, 3).join('\n')}`);
  console.log(`cedar-wasm ${cedar.getCedarVersion()}: ${total} requests over ${SETS} random policy sets (seed ${SEED}) agree;`, JSON.stringify(counts), 'uncached decisions', JSON.stringify(paths), 'policies', JSON.stringify(modes));
  // No property passes vacuously: every outcome and every evaluation path occurred.
  for (const [k, n] of Object.entries(counts)) assert.ok(n > total / 100, `only ${n} ${k}: ${JSON.stringify(counts)}`);
  assert.ok(paths.compiled > total / 20 && paths.mixed > 0 && paths.fallbacks > 0, JSON.stringify(paths));
  assert.ok(modes.compiled > 0 && modes.interpreted > 0, JSON.stringify(modes));
});

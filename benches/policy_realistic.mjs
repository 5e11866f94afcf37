// Verification cost with policies that read the request (issue #17's honest benchmark).
// Compiled evaluation and Cedar's interpreter (`policyEvaluation: 'interpreted'`) side by side.
//
// `npm run bench`'s policy set barely reads the request, so nearly every step is a decision-cache
// hit. Real guardrails read what the agent is about to do. This measures, side by side in one run:
//   - `verifyAction` from Node, cache hit (the same request again) and cache miss (every request
//     unique: its amount and text differ), on 20 policies (permit + forbid, a role hierarchy,
//     `like`, numeric comparisons, set `contains`, `has`, attribute access);
//   - @cedar-policy/cedar-wasm with a preparsed policy set (`statefulIsAuthorized`) on the same
//     unique requests — the peer;
//   - verified `processBatch` (one session, `detail: 'summary'`) where every chunk is unique and
//     the policies read its text: every step a cache miss; and the same chunks repeated (hits).
//
// Usage: node --expose-gc benches/policy_realistic.mjs [--quick]   (needs the release addon and
// dist/; prints one JSON line per measure and the machine's load)
import { createRequire } from 'node:module';
import os from 'node:os';

const require = createRequire(import.meta.url);
const { LeanAgenticSystem } = require('../dist/index.js');
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const QUICK = process.argv.includes('--quick');
const N = QUICK ? 5_000 : 20_000;

export const POLICIES = [
  ['read-docs', 'permit(principal in Role::"staff", action == Action::"read", resource is Document) when { resource.classification != "secret" };'],
  ['read-secret', 'permit(principal in Role::"security", action == Action::"read", resource is Document) when { principal.trustLevel >= 4 };'],
  ['pay-small', 'permit(principal in Role::"finance", action == Action::"pay", resource is Account) when { context.params.amount < 1000 };'],
  ['pay-approved', 'permit(principal in Role::"finance", action == Action::"pay", resource is Account) when { context.params.amount < 50000 && context.approvals.contains("cfo") };'],
  ['pay-frozen', 'forbid(principal, action == Action::"pay", resource is Account) when { resource.frozen };'],
  ['pay-after-close', 'forbid(principal, action == Action::"pay", resource) when { context.priorSteps.contains("close_account") };'],
  ['no-secrets-in-text', 'forbid(principal, action, resource) when { context.params has text && context.params.text like "*password*" };'],
  ['no-keys-in-text', 'forbid(principal, action, resource) when { context.params has text && context.params.text like "*BEGIN PRIVATE KEY*" };'],
  ['search-all', 'permit(principal in Role::"staff", action == Action::"search", resource);'],
  ['search-no-pii', 'forbid(principal, action == Action::"search", resource) when { context.params has text && context.params.text like "*ssn*" };'],
  ['note-all', 'permit(principal, action == Action::"take_note", resource) when { context.params has text };'],
  ['note-length', 'forbid(principal, action == Action::"take_note", resource) when { context.params has size && context.params.size > 100000 };'],
  ['deploy-reviewed', 'permit(principal in Role::"engineering", action == Action::"deploy", resource) when { context.priorSteps.contains("review") };'],
  ['deploy-freeze', 'forbid(principal, action == Action::"deploy", resource) when { context.params has env && context.params.env == "prod" && !context.approvals.contains("release-manager") };'],
  ['review-all', 'permit(principal in Role::"engineering", action == Action::"review", resource);'],
  ['suspended', 'forbid(principal is Agent, action, resource) when { principal.suspended };'],
  ['low-trust-pay', 'forbid(principal is Agent, action == Action::"pay", resource) when { principal.trustLevel < 2 };'],
  ['email-internal', 'permit(principal in Role::"staff", action == Action::"send_email", resource) when { context.params has to && context.params.to like "*@example.com" };'],
  ['email-limit', 'forbid(principal, action == Action::"send_email", resource) when { context.runs has send_email && context.runs.send_email.countLastHour >= 50 };'],
  ['close-admin', 'permit(principal in Role::"admin", action == Action::"close_account", resource is Account);'],
];
const POLICY_TEXT = POLICIES.map(([id, body]) => `@id("${id}")\n${body}`).join('\n');

const uid = (type, id) => ({ type, id });
export const ENTITIES = [
  ...['staff', 'security', 'finance', 'engineering', 'admin'].map((r) => ({ uid: uid('Role', r), attrs: {}, parents: [] })),
  { uid: uid('Agent', 'alice'), attrs: { trustLevel: 5, suspended: false }, parents: [uid('Role', 'staff'), uid('Role', 'finance')] },
  { uid: uid('Agent', 'bob'), attrs: { trustLevel: 1, suspended: false }, parents: [uid('Role', 'staff'), uid('Role', 'engineering')] },
  { uid: uid('Account', 'ops'), attrs: { frozen: false }, parents: [] },
  { uid: uid('Document', 'plan'), attrs: { classification: 'internal' }, parents: [] },
];

/** Request `i`: unique amount and text; a mix of actions, principals and resources. */
function request(i) {
  const kind = i % 5;
  const agentId = i % 3 === 0 ? 'bob' : 'alice';
  if (kind === 0) return { agentId, action: { name: 'pay', resource: 'Account::"ops"', params: { amount: 100 + (i % 97_003), text: `invoice ${i}` } }, approvals: i % 2 ? ['cfo'] : [] };
  if (kind === 1) return { agentId, action: { name: 'search', params: { text: `find the report number ${i} for the team` } }, approvals: [] };
  if (kind === 2) return { agentId, action: { name: 'take_note', params: { text: `remember item ${i}`, size: i } }, approvals: [] };
  if (kind === 3) return { agentId, action: { name: 'read', resource: 'Document::"plan"', params: { text: `open plan ${i}` } }, approvals: [] };
  return { agentId, action: { name: 'send_email', params: { to: `user${i}@example.com`, text: `hello ${i}` } }, approvals: [] };
}

function refRef(text, agentId) {
  if (!text) return uid('Resource', agentId);
  const m = /^(.*?)::"(.*)"$/.exec(text);
  return uid(m[1], m[2]);
}

/** The same request for cedar-wasm: the context our engine builds for verifyAction. */
function wasmCall(r, id) {
  return {
    principal: uid('Agent', r.agentId),
    action: uid('Action', r.action.name),
    resource: refRef(r.action.resource, r.agentId),
    context: { params: r.action.params, priorSteps: [], deniedSteps: [], failedSteps: [], approvals: r.approvals, stepIndex: 0, runs: {} },
    entities: ENTITIES,
    preparsedPolicySetId: id,
  };
}

const pct = (s, p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
function timed(n, fn) {
  for (let i = 0; i < Math.min(2000, n); i++) fn(i + n); // warm-up on other requests
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const s = Array.from(lat).sort((a, b) => a - b);
  return { calls: n, p50_us: +pct(s, 50).toFixed(2), p99_us: +pct(s, 99).toFixed(2) };
}

/** One system with the realistic policies; `evaluation`: 'compiled' (default) or 'interpreted'. */
async function openSystem(evaluation) {
  const sys = await LeanAgenticSystem.open({ path: ':memory:', seed: 1, policies: POLICY_TEXT, entities: ENTITIES, policyEvaluation: evaluation });
  const ctxs = new Map();
  sys.ctxOf = (r) => {
    const key = `${r.agentId}/${r.approvals.join(',')}`;
    if (!ctxs.has(key)) ctxs.set(key, sys.createContext(`bench-${key}`, { agentId: r.agentId, environment: { approvals: r.approvals } }));
    return ctxs.get(key);
  };
  sys.registerAction({ name: 'take_note', description: 'Write down a note', keywords: ['note', 'remember'] });
  sys.registerAction({ name: 'search', description: 'Search the documents', keywords: ['search', 'find'] });
  return sys;
}

/** Throughput of verified processBatch (one session, summaries) on `chunks`. */
async function batchRate(sys, label, chunks) {
  const ctx = sys.createContext(`batch-${label}-${Math.random()}`, { agentId: 'alice' });
  await sys.processBatch(chunks.slice(0, 500).map((c) => `${c} warm`), ctx, { detail: 'summary' });
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  const out = await sys.processBatch(chunks, ctx, { detail: 'summary' });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { messages: out.length, allowed: out.filter((s) => s.decision === 'allow').length, msg_per_s: Math.round(out.length / secs) };
}

async function main() {
  console.log('machine', JSON.stringify({ cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg(), node: process.version }));
  const systems = { compiled: await openSystem('compiled'), interpreted: await openSystem('interpreted') };
  const reqs = Array.from({ length: N + 2000 }, (_, i) => request(i));
  // Cache misses, compiled then interpreted then compiled again (the machine drifts).
  for (const mode of ['compiled', 'interpreted', 'compiled']) {
    const sys = systems[mode];
    const decisions = { allow: 0, deny: 0 };
    const miss = timed(N, (i) => {
      const r = reqs[i];
      const d = sys.verifyAction(r.action, sys.ctxOf(r)).decision;
      if (i < N) decisions[d]++;
    });
    console.log(`verifyAction_cache_miss_${mode}`, JSON.stringify({ ...miss, decisions }));
    // Fresh requests for the next round: shift them past the ones the cache now holds.
    for (let i = 0; i < reqs.length; i++) reqs[i] = request(i + reqs.length * (mode === 'interpreted' ? 2 : 1));
  }
  const sys = systems.compiled;
  const hot = reqs[0];
  sys.verifyAction(hot.action, sys.ctxOf(hot));
  console.log('verifyAction_cache_hit', JSON.stringify(timed(N, () => sys.verifyAction(hot.action, sys.ctxOf(hot)))));

  const id = 'realistic';
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: Object.fromEntries(POLICIES) });
  if (parsed.type !== 'success') throw new Error(`cedar-wasm preparse: ${JSON.stringify(parsed)}`);
  let agree = 0;
  const wasm = timed(N, (i) => {
    const r = reqs[i];
    const a = cedar.statefulIsAuthorized(wasmCall(r, id));
    if (a.type !== 'success') throw new Error(JSON.stringify(a));
    if (i < 1000) agree += (a.response.decision === sys.verifyAction(r.action, sys.ctxOf(r)).decision) ? 1 : 0;
  });
  console.log('cedar_wasm_preparsed_unique', JSON.stringify({ ...wasm, ourDecisionsAgreeOnFirst1000: agree }));

  // Steps: the chunk's text reaches the policies (`context.params.text`), so unique chunks miss.
  const batchN = QUICK ? 10_000 : 50_000;
  let round = 0;
  const unique = () => Array.from({ length: batchN }, (_, i) => `remember note ${i} about order ${i * 7} round ${round}`);
  for (const mode of ['compiled', 'interpreted', 'compiled']) {
    round += 1;
    console.log(`processBatch_summary_unique_chunks_cache_miss_${mode}`, JSON.stringify(await batchRate(systems[mode], 'miss', unique())));
  }
  // 100 sessions at once, each with its own unique chunks (the engine's batch threads share them).
  const sessions = 100;
  const perSession = Math.floor(batchN / sessions) * 2;
  for (const mode of ['compiled', 'interpreted', 'compiled']) {
    round += 1;
    const sys = systems[mode];
    const ctxs = Array.from({ length: sessions }, (_, k) => sys.createContext(`many-${mode}-${round}-${k}`, { agentId: 'alice' }));
    const chunks = ctxs.map((_, k) => Array.from({ length: perSession }, (_, i) => `remember note ${i} of session ${k} about order ${i * 7} round ${round}`));
    await Promise.all(ctxs.map((c, k) => sys.processBatch(chunks[k].slice(0, 20).map((x) => `${x} warm`), c, { detail: 'summary' })));
    globalThis.gc?.();
    const t0 = process.hrtime.bigint();
    const outs = await Promise.all(ctxs.map((c, k) => sys.processBatch(chunks[k], c, { detail: 'summary' })));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const messages = outs.reduce((n, o) => n + o.length, 0);
    console.log(`processBatch_summary_unique_chunks_cache_miss_100_sessions_${mode}`, JSON.stringify({ messages, msg_per_s: Math.round(messages / secs) }));
  }
  const repeated = Array.from({ length: batchN }, () => 'remember the note about the order');
  console.log('processBatch_summary_repeated_chunks_cache_hit', JSON.stringify(await batchRate(sys, 'hit', repeated)));
  const stats = (await sys.stats()).policyEvaluation;
  console.log('compiled_system_policy_evaluation', JSON.stringify(stats));
  for (const s of Object.values(systems)) await s.close();
  console.log('load after', JSON.stringify(os.loadavg()));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

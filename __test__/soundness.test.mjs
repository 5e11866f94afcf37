// Sound verification (issue #13): each defect a user hit, as a test that failed on the code as
// it was. A guardrail's worth is what it refuses, so every test also checks that the same rule
// still allows what it should (no test passes by denying everything).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LeanAgenticSystem, openMemory, rejectsWithCode } from './helpers.mjs';

const APPROVAL_POLICIES = `
@id("approve-is-forbidden") forbid(principal, action == Action::"approve", resource);
@id("anyone-approves") permit(principal, action == Action::"approve", resource);
@id("pay-after-approve") permit(principal, action == Action::"pay", resource)
  when { context.priorSteps.contains("approve") };
@id("notes") permit(principal, action == Action::"note", resource);
`;

/** A system where `approve` is forbidden and `pay` needs an earlier approve. */
async function approvalSystem(handlers = {}, extra = {}) {
  const sys = await openMemory({ policies: APPROVAL_POLICIES, explorationRate: 0, ...extra });
  sys.registerAction({ name: 'approve', description: 'Approve the invoice', keywords: ['approve'], handler: handlers.approve });
  sys.registerAction({ name: 'pay', description: 'Pay the invoice', keywords: ['pay'], handler: handlers.pay });
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'], handler: handlers.note });
  return sys;
}

test('defect 1: a denied attempt is not a prior step (processChunk)', async () => {
  const sys = await approvalSystem();
  const ctx = sys.createContext('s1');
  const a = await sys.processChunk('approve the invoice', ctx);
  assert.equal(a.action.actionType, 'approve');
  assert.equal(a.verification.decision, 'deny');
  const p = await sys.processChunk('pay the invoice', ctx);
  assert.equal(p.action.actionType, 'pay');
  assert.equal(p.verification.decision, 'deny', 'pay must not be allowed after a refused approve');
  assert.equal(p.observation.success, false);
  await sys.close();
});

test('defect 1: a denied attempt is not a prior step (processBatch, full and summary)', async () => {
  for (const detail of ['full', 'summary']) {
    const sys = await approvalSystem();
    const ctx = sys.createContext('b');
    const rs = await sys.processBatch(['approve the invoice', 'pay the invoice'], ctx, { detail });
    const decision = (r) => (detail === 'full' ? r.verification.decision : r.decision);
    assert.deepEqual(rs.map(decision), ['deny', 'deny'], detail);
    await sys.close();
  }
});

test('defect 1: failed handler runs and failed recorded outcomes are not prior steps', async () => {
  // approve permitted here; its handler fails.
  const policies = APPROVAL_POLICIES.replace(/@id\("approve-is-forbidden"\)[^\n]*\n/, '');
  const sys = await openMemory({ policies, explorationRate: 0 });
  sys.registerAction({ name: 'approve', description: 'Approve the invoice', keywords: ['approve'], handler: () => ({ success: false }) });
  sys.registerAction({ name: 'pay', description: 'Pay the invoice', keywords: ['pay'], handler: () => ({ success: true }) });
  const ctx = sys.createContext('h');
  const a = await sys.processChunk('approve the invoice', ctx);
  assert.equal(a.verification.decision, 'allow');
  assert.equal(a.observation.success, false);
  assert.equal((await sys.processChunk('pay the invoice', ctx)).verification.decision, 'deny');

  // recordOutcome(success: false) is a failed step, not a prior step.
  const r = sys.createContext('r');
  sys.recordOutcome(r, { action: 'approve', text: 'approved by hand', success: false });
  assert.equal(sys.verifyAction({ name: 'pay' }, r).decision, 'deny');
  // ... and a succeeded one is (the rule is not dead).
  sys.recordOutcome(r, { action: 'approve', text: 'approved by hand', success: true });
  assert.equal(sys.verifyAction({ name: 'pay' }, r).decision, 'allow');

  // Failed and denied attempts are visible on purpose.
  const v = sys.verifyAction({ name: 'pay' }, ctx);
  assert.deepEqual(v.certificate.request.context.failedSteps, ['approve']);
  assert.deepEqual(v.certificate.request.context.priorSteps, []);
  await sys.close();
});

test('defect 1: a successful approve does make pay allowed (the rule works)', async () => {
  const policies = APPROVAL_POLICIES.replace(/@id\("approve-is-forbidden"\)[^\n]*\n/, '');
  const sys = await openMemory({ policies, explorationRate: 0 });
  sys.registerAction({ name: 'approve', description: 'Approve the invoice', keywords: ['approve'], handler: () => ({ success: true }) });
  sys.registerAction({ name: 'pay', description: 'Pay the invoice', keywords: ['pay'] });
  const ctx = sys.createContext('ok');
  assert.equal((await sys.processChunk('pay the invoice', ctx)).verification.decision, 'deny');
  assert.equal((await sys.processChunk('approve the invoice', ctx)).observation.success, true);
  const p = await sys.processChunk('pay the invoice', ctx);
  assert.equal(p.verification.decision, 'allow');
  assert.deepEqual(p.verification.certificate.request.context.priorSteps, ['approve']);
  assert.deepEqual(p.verification.certificate.request.context.deniedSteps, ['pay']);
  await sys.close();
});

const FAIL_CLOSED_POLICIES = `
@id("permit-all") permit(principal, action, resource);
@id("no-large-payments") forbid(principal, action == Action::"pay", resource)
  when { context.params.amount > 10000 };
`;

test('defect 2: policy evaluation errors fail closed', async () => {
  const sys = await openMemory({ policies: FAIL_CLOSED_POLICIES });
  const check = (amount) => sys.verifyAction({ name: 'pay', params: { amount } }, { agentId: 'a' });
  // Not vacuous: a small integer is allowed, a large one denied by the forbid.
  assert.equal(check(5).decision, 'allow');
  assert.equal(check(20000).decision, 'deny');
  for (const amount of [20000.5, '20000', 2 ** 63, 1e300, null, [20000], { v: 20000 }, true, 0.5]) {
    const v = check(amount);
    assert.equal(v.decision, 'deny', `amount ${JSON.stringify(amount)} must be denied`);
    assert.ok(v.errors.length > 0, 'the error is reported');
    assert.deepEqual(v.determiningPolicies.map((p) => p.id), ['no-large-payments'], 'the erroring policy decides');
    assert.ok(v.reasons.some((r) => /no-large-payments/.test(r) && /could not be evaluated/.test(r)), v.reasons.join('; '));
  }
  // Values JSON cannot carry are coded input errors, never a silent pass.
  for (const amount of [NaN, Infinity, -Infinity, 10n ** 30n]) {
    await rejectsWithCode(() => check(amount), 'ERR_INVALID_INPUT');
  }
  const cyclic = {};
  cyclic.self = cyclic;
  await rejectsWithCode(() => sys.verifyAction({ name: 'pay', params: cyclic }, { agentId: 'a' }), 'ERR_INVALID_INPUT');
  let deep = { amount: 1 };
  for (let i = 0; i < 5000; i++) deep = { d: deep };
  await rejectsWithCode(() => sys.verifyAction({ name: 'pay', params: deep }, { agentId: 'a' }), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => sys.verifyActionAsync({ name: 'pay', params: { amount: 1n } }, { agentId: 'a' }), 'ERR_INVALID_INPUT');
  await sys.close();
});

test('defect 2: a fractional amount reaches Cedar as a decimal', async () => {
  const policies = `
@id("permit-all") permit(principal, action, resource);
@id("no-large-fractions") forbid(principal, action == Action::"pay", resource)
  when { context.params.amount.greaterThan(decimal("10000.0")) };`;
  const sys = await openMemory({ policies });
  const check = (amount) => sys.verifyAction({ name: 'pay', params: { amount } }, { agentId: 'a' }).decision;
  assert.equal(check(20000.5), 'deny');
  assert.equal(check(99.25), 'allow');
  // Too many fractional digits for Cedar's decimal: not silently passed.
  assert.equal(check(0.123456789), 'deny');
  await sys.close();
});

test('defect 2: fail closed in steps too (processChunk and the hooks)', async () => {
  const policies = `
@id("permit-all") permit(principal, action, resource);
@id("needs-a-city") forbid(principal, action == Action::"book", resource)
  when { context.params.entities.city.isEmpty() };`;
  const sys = await openMemory({ policies, explorationRate: 0 });
  sys.registerAction({ name: 'book', description: 'Book a hotel', keywords: ['book'] });
  const ctx = sys.createContext('fc');
  // No city in the chunk: `entities.city` is missing, the forbid errors, the step is denied.
  const r = await sys.processChunk('book something nice', ctx);
  assert.equal(r.verification.decision, 'deny');
  assert.equal(r.verified, false);
  assert.equal(r.observation.errorCode, 'ERR_DENIED');
  await sys.close();
});

test('defect 3: history-based rules do not expire after historyWindow steps, and survive a reopen', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lean-sound-'));
  const file = path.join(dir, 'store.db');
  const policies = `
@id("permit-all") permit(principal, action, resource);
@id("no-pay-after-close") forbid(principal, action == Action::"pay", resource)
  when { context.priorSteps.contains("close_account") };`;
  const register = (sys) => {
    sys.registerAction({ name: 'close_account', description: 'Close the account', keywords: ['close'] });
    sys.registerAction({ name: 'pay', description: 'Pay the bill', keywords: ['pay'] });
    sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  };
  let sys = await LeanAgenticSystem.open({ path: file, policies, explorationRate: 0, historyWindow: 5 });
  register(sys);
  let ctx = sys.createContext('acct');
  const other = sys.createContext('other');
  assert.equal((await sys.processChunk('pay the bill', other)).verification.decision, 'allow', 'the rule is not vacuous');
  assert.equal((await sys.processChunk('close the account', ctx)).observation.success, true);
  for (let i = 0; i < 25; i++) await sys.processChunk(`note ${i}`, ctx);
  assert.equal(sys.history(ctx).length, 5, 'historyWindow still bounds history()');
  assert.equal((await sys.processChunk('pay the bill', ctx)).verification.decision, 'deny');
  await sys.close();

  sys = await LeanAgenticSystem.open({ path: file, policies, explorationRate: 0 });
  register(sys);
  ctx = sys.createContext('acct');
  assert.equal((await sys.processChunk('pay the bill', ctx)).verification.decision, 'deny', 'the history survives a reopen');
  assert.equal(sys.verifyAction({ name: 'pay' }, ctx).decision, 'deny');
  assert.equal((await sys.processChunk('pay the bill', sys.createContext('fresh'))).verification.decision, 'allow');
  await sys.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('temporal facts: runs counts, recency and running sums reach policies', async () => {
  const policies = `
@id("permit-all") permit(principal, action, resource);
@id("rate-limit") forbid(principal, action == Action::"pay", resource)
  when { context.runs.pay.countLastHour >= 3 };
@id("daily-total") forbid(principal, action == Action::"pay", resource)
  when { context.runs.pay.sumLastDay.amount + context.params.amount > 500 };`;
  const sys = await openMemory({ policies, runs: { sum: ['amount'] } });
  const ctx = sys.createContext('t');
  const pay = (amount, success = true) => {
    const v = sys.verifyAction({ name: 'pay', params: { amount } }, ctx);
    if (v.decision === 'allow') sys.recordOutcome(ctx, { action: 'pay', text: `pay ${amount}`, success, params: { amount }, decision: 'allow' });
    return v;
  };
  assert.equal(pay(100).decision, 'allow');
  const second = pay(150);
  assert.equal(second.decision, 'allow');
  const runs = second.certificate.request.context.runs.pay;
  assert.equal(runs.count, 1);
  assert.equal(runs.countLastHour, 1);
  assert.equal(runs.sumLastDay.amount, 100);
  assert.ok(runs.secondsSinceLast >= 0 && runs.secondsSinceLast < 60);
  // 100 + 150 spent: 300 more would pass 500.
  const over = sys.verifyAction({ name: 'pay', params: { amount: 300 } }, ctx);
  assert.equal(over.decision, 'deny');
  assert.deepEqual(over.determiningPolicies.map((p) => p.id), ['daily-total']);
  // A failed payment spends nothing.
  assert.equal(pay(200, false).decision, 'allow');
  assert.equal(pay(10).decision, 'allow');
  // Three successful payments in the last hour: the rate limit applies.
  const limited = sys.verifyAction({ name: 'pay', params: { amount: 1 } }, ctx);
  assert.equal(limited.decision, 'deny');
  assert.deepEqual(limited.determiningPolicies.map((p) => p.id), ['rate-limit']);
  // An action that never ran has zeros and a huge secondsSinceLast.
  const fresh = sys.verifyAction({ name: 'pay', params: { amount: 1 } }, sys.createContext('t2'));
  assert.equal(fresh.decision, 'allow');
  assert.equal(fresh.certificate.request.context.runs.pay.count, 0);
  assert.equal(fresh.certificate.request.context.runs.pay.sumLastDay.amount, 0);
  await sys.close();
});

test('observe mode runs would-be-denied steps and records wouldDeny', async () => {
  const sys = await approvalSystem({}, { enforcement: 'observe' });
  const ctx = sys.createContext('o');
  const a = await sys.processChunk('approve the invoice', ctx);
  assert.equal(a.verification.decision, 'deny');
  assert.equal(a.verified, false);
  assert.equal(a.observation.success, true, 'observe mode still runs the step');
  assert.equal(a.wouldDeny, true);
  assert.deepEqual(a.verification.determiningPolicies.map((p) => p.id), ['approve-is-forbidden']);
  const [s] = await sys.processBatch(['approve it again'], ctx, { detail: 'summary' });
  assert.equal(s.wouldDeny, true);
  // Per session: an enforcing session in the same system refuses.
  const e = sys.createContext('e', { enforcement: 'enforce' });
  const denied = await sys.processChunk('approve the invoice', e);
  assert.equal(denied.observation.success, false);
  assert.equal(denied.wouldDeny, undefined);
  await rejectsWithCode(() => openMemory({ enforcement: 'warn' }), 'ERR_INVALID_CONFIG');
  await sys.close();
});

test('defect 4: workflow properties over absent steps are violations, with a did-you-mean', async () => {
  const sys = await openMemory();
  sys.registerAction({ name: 'approve', description: 'Approve', keywords: ['approve'] });
  const wf = {
    id: 'w',
    steps: [
      { id: 'fetch', agentId: 'a', action: 'fetch_invoice' },
      { id: 'pay', agentId: 'a', action: 'pay', dependsOn: ['fetch'] },
    ],
  };
  const absent = sys.verifyWorkflow(wf, [{ type: 'precedes', before: 'approve', after: 'pay' }]);
  assert.equal(absent.ok, false);
  assert.equal(absent.violations[0].property.type, 'precedes');
  assert.equal(absent.violations[0].kind, 'absent');
  assert.match(absent.violations[0].message, /approve/);
  const typo = sys.verifyWorkflow(wf, [{ type: 'precedes', before: 'fetch_invoice', after: 'pya' }]);
  assert.equal(typo.ok, false);
  assert.equal(typo.violations[0].kind, 'absent');
  assert.match(typo.violations[0].message, /did you mean "pay"/);
  const typo2 = sys.verifyWorkflow({ ...wf, steps: [...wf.steps, { id: 'ok', agentId: 'a', action: 'approve' }] }, [
    { type: 'precedes', before: 'aprove', after: 'pay' },
  ]);
  assert.equal(typo2.ok, false);
  assert.match(typo2.violations[0].message, /did you mean "approve"/);
  // A property whose selectors match is checked as before.
  const fine = sys.verifyWorkflow(wf, [{ type: 'precedes', before: 'fetch', after: 'pay' }]);
  assert.equal(fine.ok, true, JSON.stringify(fine.violations));
  await sys.close();
});

test('credit: a prerequisite that runs on the way to a target is journaled and learned as itself', async () => {
  const sys = await openMemory({ explorationRate: 0.3, seed: 7 });
  sys.registerAction({ name: 'search', description: 'Search flights', keywords: ['flight'], effects: ['searched(user)'] });
  sys.registerAction({ name: 'book', description: 'Book the flight', keywords: ['book', 'flight'], preconditions: ['searched(user)'] });
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['flight', 'note'] });
  const rewards = new Map();
  let chained = 0;
  for (let i = 0; i < 60; i++) {
    const ctx = sys.createContext(`c${i}`);
    const r = await sys.processChunk('book a flight please', ctx);
    if (r.action.actionType !== 'search') continue;
    if (r.plan.length > 1) chained++;
    // The probability that `search` ran: every candidate whose plan starts with it.
    assert.ok(Math.abs(r.propensity - 0.9) < 1e-9 || Math.abs(r.propensity - 0.2) < 1e-9, `propensity ${r.propensity}`);
    // The built-in executor scores the action that ran, not the target.
    rewards.set(r.plan.length, r.observation.result.relevance);
  }
  assert.ok(chained > 0, 'the chain was chosen at least once');
  assert.equal(new Set(rewards.values()).size, 1, `search scored alike whether chosen directly or as a prerequisite: ${[...rewards]}`);
  await sys.close();
});

test('credit: recordOutcome journals the real decision; feedback replaces a learned reward', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lean-credit-'));
  const file = path.join(dir, 'store.db');
  const sys = await LeanAgenticSystem.open({ path: file, policies: APPROVAL_POLICIES, seed: 1 });
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  const ctx = sys.createContext('j');
  const v = sys.verifyAction({ name: 'note' }, ctx);
  const rec = sys.recordOutcome(ctx, { action: 'note', text: 'noted by hand', success: true, decision: v.decision, propensity: 0.25 });
  assert.equal(rec.verification.decision, 'allow');
  assert.equal(rec.propensity, 0.25);
  const r = await sys.processChunk('note this', ctx);
  assert.equal(r.learned, true);
  const once = sys.feedback(r.actionId, 1);
  const twice = sys.feedback(r.actionId, 1);
  // Replacing the same reward twice moves nothing the second time.
  assert.ok(Math.abs(twice.predictedAfter - once.predictedAfter) < 1e-6, `${once.predictedAfter} vs ${twice.predictedAfter}`);
  assert.ok(Math.abs(twice.predictedAfter - twice.predictedBefore) < 1e-6);
  await sys.close();
  const { DatabaseSync } = await import('node:sqlite').catch(() => ({}));
  if (DatabaseSync) {
    const db = new DatabaseSync(file);
    const row = db.prepare("SELECT decision, propensity FROM la_steps WHERE action = 'note' ORDER BY created_at LIMIT 1").get();
    assert.equal(row.decision, 'allow');
    assert.equal(row.propensity, 0.25);
    db.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('graph facts reach preconditions without a proveTheorem call', async () => {
  const sys = await openMemory({ explorationRate: 0 });
  sys.registerAction({ name: 'fly', description: 'Fly somewhere', keywords: ['fly'], preconditions: ['place("place:tokyo")'] });
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  const ctx = sys.createContext('g');
  const before = await sys.processChunk('fly away', ctx);
  assert.equal(before.action.actionType, 'none', 'no Tokyo in the graph yet: fly is blocked');
  assert.match(before.observation.error, /fly needs place\("place:tokyo"\)/);
  assert.equal(sys.verifyAction({ name: 'fly' }, ctx).decision, 'deny');
  await sys.processChunk('I love Tokyo, note that', ctx);
  assert.equal(sys.verifyAction({ name: 'fly' }, ctx).decision, 'skipped', 'precondition proved from the graph (no policies)');
  const after = await sys.processChunk('fly away', ctx);
  assert.equal(after.action.actionType, 'fly');
  await sys.close();
});

test('with a schema, a request that does not conform is denied with the validation error', async () => {
  const schema = `
entity Agent; entity Resource;
action pay appliesTo { principal: Agent, resource: Resource, context: { params: { amount: Long }, priorSteps: Set<String> } };
action note appliesTo { principal: Agent, resource: Resource, context: {} };`;
  const policies = `
@id("pay") permit(principal, action == Action::"pay", resource) when { context.params.amount < 1000 };
@id("note") permit(principal, action == Action::"note", resource);`;
  const sys = await openMemory({ policies, schema });
  const pay = (params) => sys.verifyAction({ name: 'pay', params }, { agentId: 'a' });
  assert.equal(pay({ amount: 5 }).decision, 'allow');
  assert.equal(pay({ amount: 5000 }).decision, 'deny');
  for (const params of [{ amount: '5' }, { amount: 5.5 }, {}, { amount: 5, extra: 1 }]) {
    const v = pay(params);
    assert.equal(v.decision, 'deny', JSON.stringify(params));
    assert.match(v.errors[0], /does not conform to the schema/, JSON.stringify(params));
    assert.deepEqual(v.determiningPolicies, []);
  }
  // Attributes the schema does not declare (the engine's own) are not Cedar's business here.
  assert.equal(sys.verifyAction({ name: 'note', params: { anything: [1, 'x'] } }, { agentId: 'a' }).decision, 'allow');
  // An action the schema does not declare is denied, not allowed.
  assert.equal(sys.verifyAction({ name: 'fly' }, { agentId: 'a' }).decision, 'deny');
  await sys.close();
});

test('a workflow step is checked on the context it meets at run time (ledger attributes present)', async () => {
  const policies = `
@id("all") permit(principal, action, resource);
@id("not-after-denial") forbid(principal, action == Action::"pay", resource)
  when { context.deniedSteps.contains("approve") || context.runs.pay.count >= 2 };`;
  const sys = await openMemory({ policies });
  const wf = { id: 'w', steps: [{ id: 'a', agentId: 'x', action: 'approve' }, { id: 'p', agentId: 'x', action: 'pay', dependsOn: ['a'] }] };
  const report = sys.verifyWorkflow(wf, [{ type: 'precedes', before: 'approve', after: 'pay' }]);
  assert.equal(report.ok, true, JSON.stringify(report.violations));
  const three = { id: 'w3', steps: [
    { id: 'p1', agentId: 'x', action: 'pay' },
    { id: 'p2', agentId: 'x', action: 'pay', dependsOn: ['p1'] },
    { id: 'p3', agentId: 'x', action: 'pay', dependsOn: ['p2'] },
  ] };
  const r3 = sys.verifyWorkflow(three, []);
  assert.equal(r3.ok, false, 'the third payment follows two guaranteed ones');
  assert.deepEqual(r3.violations.map((v) => [v.kind, v.property.step]), [['denied', 'p3']]);
  await sys.close();
});

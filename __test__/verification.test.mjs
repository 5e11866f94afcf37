// Formal verification from JS: Cedar decisions with policy ids, schema validation, certificates,
// verified steps in processChunk, and whole workflows checked before they run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeanAgenticSystem, openMemory, rejectsWithCode } from './helpers.mjs';

const POLICIES = `
@id("finance-pay-small")
permit(principal in Role::"finance", action == Action::"pay", resource is Account)
when { context.params.amount < 1000 };

@id("admin-pay-approved")
permit(principal in Role::"admin", action == Action::"pay", resource is Account)
when { context.approvals.contains("cfo") };

@id("anyone-reads-public")
permit(principal, action in Action::"read_ops", resource in Folder::"public");

@id("trusted-reads-secret")
permit(principal is Agent, action in Action::"read_ops", resource in Folder::"secret")
when { principal.trustLevel >= 3 };

@id("owner-writes")
permit(principal, action == Action::"write", resource is Document)
when { resource.owner == principal };

@id("weather-for-all")
permit(principal, action == Action::"get_weather", resource);

@id("forbid-frozen")
forbid(principal, action == Action::"pay", resource is Account)
when { resource.frozen };

@id("forbid-suspended")
forbid(principal is Agent, action, resource)
when { principal.suspended };

@id("forbid-delete-after-close")
forbid(principal, action == Action::"delete", resource)
when { context.priorSteps.contains("close") };

@id("anyone-deletes-drafts")
permit(principal, action == Action::"delete", resource in Folder::"drafts");

@id("anyone-closes")
permit(principal, action == Action::"close", resource);
`;

const SCHEMA = `
entity Role;
entity Agent in [Role] { trustLevel: Long, suspended: Bool };
entity Folder;
entity Document in [Folder] { owner: Agent };
entity Account { frozen: Bool };
entity Resource;
action read_ops;
action read, search in [read_ops] appliesTo { principal: Agent, resource: [Document, Folder], context: {} };
action write appliesTo { principal: Agent, resource: Document, context: {} };
action delete appliesTo { principal: Agent, resource: [Document, Folder], context: { priorSteps: Set<String> } };
action close appliesTo { principal: Agent, resource: [Document, Folder], context: {} };
action pay appliesTo { principal: Agent, resource: Account, context: { params: { amount: Long }, approvals: Set<String> } };
action get_weather appliesTo { principal: Agent, resource: Resource, context: {} };
`;

const agent = (id, roles, trustLevel, suspended = false) => ({
  uid: { type: 'Agent', id },
  attrs: { trustLevel, suspended },
  parents: roles.map((r) => ({ type: 'Role', id: r })),
});

const ENTITIES = [
  { uid: { type: 'Role', id: 'finance' }, attrs: {}, parents: [] },
  { uid: { type: 'Role', id: 'admin' }, attrs: {}, parents: [] },
  { uid: { type: 'Folder', id: 'public' }, attrs: {}, parents: [] },
  { uid: { type: 'Folder', id: 'secret' }, attrs: {}, parents: [] },
  { uid: { type: 'Folder', id: 'drafts' }, attrs: {}, parents: [] },
  agent('alice', ['finance'], 3),
  agent('bob', [], 1),
  agent('root', ['admin'], 5),
  agent('mallory', ['finance'], 5, true),
  { uid: { type: 'Document', id: 'readme' }, attrs: { owner: { __entity: { type: 'Agent', id: 'alice' } } }, parents: [{ type: 'Folder', id: 'public' }] },
  { uid: { type: 'Document', id: 'plans' }, attrs: { owner: { __entity: { type: 'Agent', id: 'root' } } }, parents: [{ type: 'Folder', id: 'secret' }] },
  { uid: { type: 'Document', id: 'draft-1' }, attrs: { owner: { __entity: { type: 'Agent', id: 'bob' } } }, parents: [{ type: 'Folder', id: 'drafts' }] },
  { uid: { type: 'Account', id: 'ops' }, attrs: { frozen: false }, parents: [] },
  { uid: { type: 'Account', id: 'frozen' }, attrs: { frozen: true }, parents: [] },
  // Action groups (no schema-derived action entities when loaded without a schema).
  { uid: { type: 'Action', id: 'read_ops' }, attrs: {}, parents: [] },
  { uid: { type: 'Action', id: 'read' }, attrs: {}, parents: [{ type: 'Action', id: 'read_ops' }] },
  { uid: { type: 'Action', id: 'search' }, attrs: {}, parents: [{ type: 'Action', id: 'read_ops' }] },
];

function open(extra = {}) {
  return openMemory({ policies: POLICIES, entities: ENTITIES, ...extra });
}

// [agent, action, params, resource, extra context, expected decision, expected policy ids]
const CASES = [
  ['alice', 'pay', { amount: 500 }, 'Account::"ops"', {}, 'allow', ['finance-pay-small']],
  ['alice', 'pay', { amount: 5000 }, 'Account::"ops"', {}, 'deny', []],
  ['alice', 'pay', { amount: 10 }, 'Account::"frozen"', {}, 'deny', ['forbid-frozen']],
  ['root', 'pay', { amount: 5000 }, 'Account::"ops"', { approvals: ['cfo'] }, 'allow', ['admin-pay-approved']],
  ['root', 'pay', { amount: 5000 }, 'Account::"ops"', { approvals: [] }, 'deny', []],
  ['root', 'pay', { amount: 5000 }, 'Account::"frozen"', { approvals: ['cfo'] }, 'deny', ['forbid-frozen']],
  ['bob', 'pay', { amount: 5 }, 'Account::"ops"', {}, 'deny', []],
  ['bob', 'read', {}, 'Document::"readme"', {}, 'allow', ['anyone-reads-public']],
  ['bob', 'search', {}, 'Folder::"public"', {}, 'allow', ['anyone-reads-public']],
  ['bob', 'read', {}, 'Document::"plans"', {}, 'deny', []],
  ['alice', 'read', {}, 'Document::"plans"', {}, 'allow', ['trusted-reads-secret']],
  ['alice', 'write', {}, 'Document::"readme"', {}, 'allow', ['owner-writes']],
  ['bob', 'write', {}, 'Document::"readme"', {}, 'deny', []],
  ['mallory', 'pay', { amount: 5 }, 'Account::"ops"', {}, 'deny', ['forbid-suspended']],
  ['mallory', 'read', {}, 'Document::"readme"', {}, 'deny', ['forbid-suspended']],
  ['bob', 'delete', {}, 'Document::"draft-1"', { priorSteps: ['read'] }, 'allow', ['anyone-deletes-drafts']],
  ['bob', 'delete', {}, 'Document::"draft-1"', { priorSteps: ['close'] }, 'deny', ['forbid-delete-after-close']],
  // carol is not an entity: forbid-suspended cannot read her `suspended` flag, so it fails closed.
  ['carol', 'get_weather', {}, 'Resource::"s"', {}, 'deny', ['forbid-suspended']],
];

test('Cedar decides 18 requests with the right determining policies', async () => {
  const sys = await open();
  for (const [agentId, name, params, resource, extra, decision, ids] of CASES) {
    const v = sys.verifyAction({ name, params, resource }, { agentId, ...extra });
    const label = `${agentId} ${name} ${resource} ${JSON.stringify(params)}`;
    assert.equal(v.decision, decision, `${label}: ${v.reasons.join('; ')}`);
    assert.deepEqual(v.determiningPolicies.map((p) => p.id).sort(), [...ids].sort(), label);
    assert.equal(v.certificate.decision, decision);
  }
  await sys.close();
});

test('default deny explains the near miss; forbid overrides permit', async () => {
  const sys = await open();
  const miss = sys.verifyAction({ name: 'pay', params: { amount: 5000 }, resource: 'Account::"ops"' }, { agentId: 'alice' });
  assert.equal(miss.decision, 'deny');
  assert.ok(miss.reasons.some((r) => /default deny/.test(r)), miss.reasons.join('; '));
  const near = miss.nearMiss.find((n) => n.policyId === 'finance-pay-small');
  assert.ok(near, JSON.stringify(miss.nearMiss));
  assert.ok(near.failed.some((f) => f.includes('amount < 1000')), JSON.stringify(near));
  assert.ok(near.satisfied.some((s) => s.includes('Role::"finance"')), JSON.stringify(near));
  const frozen = sys.verifyAction({ name: 'pay', params: { amount: 1 }, resource: 'Account::"frozen"' }, { agentId: 'alice' });
  assert.ok(frozen.reasons.some((r) => /forbid overrides permit/.test(r)), frozen.reasons.join('; '));
  const asyncV = await sys.verifyActionAsync({ name: 'pay', params: { amount: 500 }, resource: 'Account::"ops"' }, { agentId: 'alice' });
  assert.equal(asyncV.decision, 'allow');
  await sys.close();
});

test('a missing attribute is an evaluation error, and the erroring policy denies (fail closed)', async () => {
  const sys = await open();
  // No `params.amount`: finance-pay-small cannot be evaluated, so it decides: deny.
  const v = sys.verifyAction({ name: 'pay', params: {}, resource: 'Account::"ops"' }, { agentId: 'alice' });
  assert.equal(v.decision, 'deny');
  assert.ok(v.errors.some((e) => e.includes('finance-pay-small')), JSON.stringify(v.errors));
  assert.deepEqual(v.determiningPolicies.map((p) => p.id), ['finance-pay-small']);
  await sys.close();
});

test('parse and schema errors name the policy, line and column', async () => {
  await rejectsWithCode(() => openMemory({ policies: '@id("broken")\npermit(principal, action, resource) when { context.x < };' }), 'ERR_POLICY_PARSE');
  const sys = await openMemory();
  assert.throws(
    () => sys.loadPolicies('@id("ok") permit(principal, action, resource);\n@id("broken")\npermit(principal, action resource);'),
    (e) => e.code === 'ERR_POLICY_PARSE' && /broken/.test(e.message) && /line 3/.test(e.message),
  );
  const misspelled = POLICIES.replace('principal.trustLevel >= 3', 'principal.trustLevle >= 3').replace(/@id\("weather-for-all"\)[^;]*;/, '');
  assert.throws(
    () => sys.loadPolicies(misspelled, SCHEMA),
    (e) => e.code === 'ERR_POLICY_INVALID' && /trusted-reads-secret/.test(e.message) && /trustLevle/.test(e.message) && /line \d+, column \d+/.test(e.message),
  );
  const info = sys.loadPolicies(POLICIES, SCHEMA);
  assert.equal(info.validated, true);
  assert.equal(info.forbidCount, 3);
  assert.throws(() => sys.loadPolicies(42), (e) => e.code === 'ERR_POLICY_PARSE');
  assert.throws(() => sys.setEntities('not json'), (e) => e.code === 'ERR_INVALID_JSON' || e.code === 'ERR_POLICY_PARSE');
  await sys.close();
});

test('certificates replay, and tampered ones fail', async () => {
  const sys = await open();
  const v = sys.verifyAction({ name: 'pay', params: { amount: 500 }, resource: 'Account::"ops"' }, { agentId: 'alice' });
  const ok = LeanAgenticSystem.checkCertificate(v.certificate, POLICIES, null, ENTITIES);
  assert.equal(ok.valid, true, ok.reasons.join('; '));
  const flipped = { ...v.certificate, decision: 'deny' };
  assert.equal(LeanAgenticSystem.checkCertificate(flipped, POLICIES, null, ENTITIES).valid, false);
  const moreMoney = structuredClone(v.certificate);
  moreMoney.request.context.params.amount = 50000;
  assert.equal(LeanAgenticSystem.checkCertificate(moreMoney, POLICIES, null, ENTITIES).valid, false);
  const otherPolicies = POLICIES.replace('amount < 1000', 'amount < 100000');
  assert.equal(LeanAgenticSystem.checkCertificate(v.certificate, otherPolicies, null, ENTITIES).valid, false);
  assert.throws(() => LeanAgenticSystem.checkCertificate({ nope: 1 }, POLICIES), (e) => e.code === 'ERR_INVALID_INPUT');
  await sys.close();
});

test('processChunk verifies every step; denied actions never run', async () => {
  const sys = await open();
  let paid = 0;
  sys.registerAction({ name: 'get_weather', description: 'Weather forecast', keywords: ['weather'], handler: async () => ({ success: true }) });
  sys.registerAction({ name: 'pay', description: 'Pay the invoice', keywords: ['pay', 'invoice'], handler: async () => ((paid += 1), { success: true }) });
  const ctx = sys.createContext('chat', { agentId: 'bob' });
  const w = await sys.processChunk('How is the weather in Oslo?', ctx);
  assert.equal(w.verification.decision, 'allow');
  assert.equal(w.verified, true);
  assert.deepEqual(w.verification.determiningPolicies.map((p) => p.id), ['weather-for-all']);
  const p = await sys.processChunk('Please pay the invoice', ctx);
  assert.equal(p.verification.decision, 'deny');
  assert.equal(p.verified, false);
  assert.equal(p.observation.success, false);
  assert.ok(p.reward < 0);
  assert.equal(paid, 0, 'the denied handler never ran');
  assert.equal((await sys.stats()).deniedActions, 1);
  await sys.close();
});

test('determiningPolicies is one type everywhere: PolicyRef[] in steps, summaries, verifyAction and workflow checks', async () => {
  const sys = await open();
  sys.registerAction({ name: 'get_weather', description: 'Weather forecast', keywords: ['weather'] });
  const ctx = sys.createContext('chat', { agentId: 'bob' });
  const step = (await sys.processChunk('How is the weather in Oslo?', ctx)).verification.determiningPolicies;
  const [summary] = await sys.processBatch(['weather in Bergen'], ctx, { detail: 'summary' });
  const direct = sys.verifyAction({ name: 'get_weather' }, { agentId: 'bob' }).determiningPolicies;
  const wf = sys.verifyWorkflow({ id: 'w', steps: [{ id: 'a', agentId: 'bob', action: 'get_weather' }] });
  const checked = wf.stepChecks[0].determiningPolicies;
  assert.equal(step.length, 1);
  assert.equal(step[0].id, 'weather-for-all');
  assert.equal(typeof step[0].annotations, 'object');
  for (const [label, refs] of [['summary', summary.determiningPolicies], ['verifyAction', direct], ['workflow', checked]]) {
    assert.deepEqual(refs, step, label);
  }
  await sys.close();
});

test('new policies and entities take effect at once (no stale cached decision)', async () => {
  const sys = await open();
  const q = () => sys.verifyAction({ name: 'read', resource: 'Document::"plans"' }, { agentId: 'bob' }).decision;
  assert.equal(q(), 'deny');
  assert.equal(q(), 'deny');
  sys.setEntities(ENTITIES.map((e) => (e.uid.id === 'bob' ? agent('bob', [], 4) : e)));
  assert.equal(q(), 'allow');
  sys.loadPolicies(POLICIES.replace('trustLevel >= 3', 'trustLevel >= 10'));
  assert.equal(q(), 'deny');
  await sys.close();
});

const PAYMENT_FLOW = {
  id: 'invoice',
  steps: [
    { id: 'fetch', agentId: 'alice', action: 'read' },
    { id: 'auto-check', agentId: 'alice', action: 'search', dependsOn: ['fetch'], branch: { group: 'review', option: 'auto' } },
    { id: 'approve', agentId: 'root', action: 'approve', dependsOn: ['fetch'], branch: { group: 'review', option: 'manual' } },
    { id: 'pay', agentId: 'alice', action: 'pay', dependsOn: ['auto-check', 'approve'], inputs: { amount: 100 } },
  ],
};
const MUST_APPROVE = [{ type: 'precedes', before: { action: 'approve' }, after: { action: 'pay' } }];

test('a workflow where payment can run before approval is rejected with that path', async () => {
  const sys = await openMemory();
  const bad = sys.verifyWorkflow(PAYMENT_FLOW, MUST_APPROVE);
  assert.equal(bad.ok, false);
  const v = bad.violations[0];
  assert.deepEqual(v.counterexample, ['fetch', 'auto-check', 'pay']);
  // The fixed version: payment depends on approval on every path.
  const fixed = {
    ...PAYMENT_FLOW,
    steps: [
      { id: 'fetch', agentId: 'alice', action: 'read' },
      { id: 'auto-check', agentId: 'alice', action: 'search', dependsOn: ['fetch'] },
      { id: 'approve', agentId: 'root', action: 'approve', dependsOn: ['auto-check'] },
      { id: 'pay', agentId: 'alice', action: 'pay', dependsOn: ['approve'], inputs: { amount: 100 } },
    ],
  };
  const good = sys.verifyWorkflow(fixed, MUST_APPROVE);
  assert.equal(good.ok, true, JSON.stringify(good.violations));
  const cyclic = { id: 'c', steps: [{ id: 'a', agentId: 'x', action: 'a', dependsOn: ['b'] }, { id: 'b', agentId: 'x', action: 'b', dependsOn: ['a'] }] };
  assert.equal(sys.verifyWorkflow(cyclic, []).ok, false);
  assert.throws(() => sys.verifyWorkflow({ id: 'w', steps: [{ id: 'a', agentId: 'x', action: 'a', dependsOn: ['zz'] }] }), (e) => e.code === 'ERR_INVALID_WORKFLOW');
  await sys.close();
});

test('workflow steps are Cedar-checked with the steps guaranteed to precede them', async () => {
  const sys = await open();
  const wf = {
    id: 'cleanup',
    steps: [
      { id: 'close', agentId: 'bob', action: 'close', resource: 'Document::"draft-1"' },
      { id: 'delete', agentId: 'bob', action: 'delete', dependsOn: ['close'], resource: 'Document::"draft-1"' },
    ],
  };
  const r = sys.verifyWorkflow(wf);
  assert.equal(r.ok, false);
  const check = r.stepChecks.find((s) => s.stepId === 'delete');
  assert.deepEqual(check.priorSteps, ['close']);
  assert.equal(check.decision, 'deny');
  assert.deepEqual(check.determiningPolicies.map((p) => p.id), ['forbid-delete-after-close']);
  await sys.close();
});

const RULES = `
% Layer 1: membership through teams.
member(A, G) :- in_team(A, T), team_of(T, G).
% Layer 2: who may transfer, unless the transaction is frozen (negation).
@id(can_transfer) can_transfer(A, X) :- member(A, finance), approved(X), not frozen(X).
% Layer 3: a transfer may execute when someone may do it and it is not flagged.
@id(may_execute) may_execute(A, X) :- can_transfer(A, X), not flagged(X).
`;

test('proofs with several rule layers and negation; tampered proofs are rejected', async () => {
  const sys = await openMemory();
  const ids = sys.addRule(RULES);
  assert.deepEqual(ids.slice(1), ['can_transfer', 'may_execute']);
  for (const f of ['in_team(alice, payments)', 'team_of(payments, finance)', 'approved(tx1)', 'approved(tx2)', 'frozen(tx2)']) sys.assertFact(f);
  const t = sys.proveTheorem('may_execute(alice, tx1)');
  assert.equal(t.proved, true, JSON.stringify(t));
  assert.equal(t.statement, 'may_execute(alice, tx1)');
  assert.equal(t.proof.rule, 'may_execute');
  assert.deepEqual(t.proof.absent, ['flagged(tx1)']);
  const ct = t.proof.premises[0];
  assert.equal(ct.rule, 'can_transfer');
  assert.deepEqual(ct.bindings, { A: 'alice', X: 'tx1' });
  assert.deepEqual(ct.absent, ['frozen(tx1)']);
  assert.equal(ct.premises[0].premises.length, 2, 'member/2 via two facts');
  assert.equal((await sys.stats()).totalTheorems >= 1, true);
  assert.ok(sys.theorems().some((x) => x.id === t.id));

  const failed = sys.proveTheorem('may_execute(alice, tx2)');
  assert.equal(failed.proved, false);
  assert.match(failed.reason, /frozen\(tx2\)/);
  const missing = sys.proveTheorem('may_execute(alice, tx9)');
  assert.ok(missing.failedSubgoals.includes('approved(tx9)'), JSON.stringify(missing));

  const facts = ['in_team(alice, payments)', 'team_of(payments, finance)', 'approved(tx1)', 'approved(tx2)', 'frozen(tx2)'];
  assert.deepEqual(LeanAgenticSystem.checkProof(t.proof, RULES, facts), { valid: true });
  const tampered = structuredClone(t.proof);
  tampered.premises[0].bindings.X = 'tx2';
  assert.equal(LeanAgenticSystem.checkProof(tampered, RULES, facts).valid, false);
  const swapped = structuredClone(t.proof);
  swapped.conclusion = 'may_execute(alice, tx2)';
  assert.equal(LeanAgenticSystem.checkProof(swapped, RULES, facts).valid, false);
  const pruned = structuredClone(t.proof);
  pruned.premises[0].premises.pop();
  assert.equal(LeanAgenticSystem.checkProof(pruned, RULES, facts).valid, false);
  // Negation: with tx1 frozen, the `absent` claim is false.
  const r = LeanAgenticSystem.checkProof(t.proof, RULES, [...facts, 'frozen(tx1)']);
  assert.equal(r.valid, false);
  assert.match(r.reason, /frozen\(tx1\)/);
  // A fact the checker was not given.
  assert.equal(LeanAgenticSystem.checkProof(t.proof, RULES, facts.filter((f) => f !== 'approved(tx1)')).valid, false);

  assert.throws(() => sys.addRule('p(X) :- q(Y).'), (e) => e.code === 'ERR_RULE_PARSE' && /X/.test(e.message));
  assert.throws(() => sys.addRule('a(X) :- b(X), not a(X).'), (e) => e.code === 'ERR_RULE_PARSE');
  assert.throws(() => sys.addRule('broken(:- .'), (e) => e.code === 'ERR_RULE_PARSE' && /line 1, column/.test(e.message));
  await sys.close();
});

test('action preconditions are proved at verification; unprovable ones deny with the goal named', async () => {
  const sys = await openMemory({ policies: '@id("all") permit(principal, action, resource);' });
  sys.addRule('can_pay(U) :- verified(U), not blocked(U).');
  let paid = 0;
  sys.registerAction({
    name: 'pay',
    description: 'Pay the invoice',
    keywords: ['pay'],
    preconditions: ['can_pay(user)'],
    handler: async () => ((paid += 1), { success: true }),
  });
  const ctx = sys.createContext('p', { environment: { verified: 'user' } });
  const ok = await sys.processChunk('pay the invoice', ctx);
  assert.equal(ok.verification.decision, 'allow', ok.verification.reasons.join('; '));
  assert.equal(ok.verification.proofs[0].conclusion, 'can_pay(user)');
  assert.equal(ok.verification.proofs[0].rule, 'r1');
  assert.equal(paid, 1);
  sys.assertFact('blocked(user)');
  const v = sys.verifyAction('pay', ctx);
  assert.equal(v.decision, 'deny');
  assert.match(v.reasons[0], /can_pay\(user\)/);
  const blocked = await sys.processChunk('pay the invoice', ctx);
  assert.equal(blocked.action.actionType, 'none', 'the planner finds no runnable action');
  assert.match(blocked.observation.error, /can_pay\(user\)/);
  assert.equal(paid, 1);
  await sys.close();
});

test('verifyAction proves preconditions without policies too, like the verify stage of a step', async () => {
  const sys = await openMemory();
  sys.addRule('can_pay(U) :- verified(U), not blocked(U).');
  sys.registerAction({ name: 'pay', description: 'Pay the invoice', keywords: ['pay'], preconditions: ['can_pay(user)'] });
  const ctx = sys.createContext('np', { environment: { verified: 'user' } });
  const ok = sys.verifyAction('pay', ctx);
  assert.equal(ok.decision, 'skipped', 'no policies: Cedar is skipped, never a fake pass');
  assert.equal(ok.proofs[0].conclusion, 'can_pay(user)');
  sys.assertFact('blocked(user)');
  const denied = sys.verifyAction('pay', ctx);
  assert.equal(denied.decision, 'deny');
  assert.match(denied.reasons[0], /can_pay\(user\)/);
  const step = await sys.processChunk('pay the invoice', ctx);
  assert.match(step.observation.error, /can_pay\(user\)/, 'the step agrees with verifyAction');
  await rejectsWithCode(() => sys.verifyAction('pay', { sessionId: 'no-such-session' }), 'ERR_UNKNOWN_SESSION');
  await sys.close();
});

test('knowledge-graph facts reach the rule engine', async () => {
  const sys = await openMemory();
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  await sys.processChunk('Note that Ada Lovelace works at Acme Corp.', sys.createContext('kg'));
  sys.addRule('employee(P) :- works_at(P, O), organization(O).');
  const t = sys.proveTheorem('employee("person:ada_lovelace")');
  assert.equal(t.proved, true, JSON.stringify(t));
  await sys.close();
});

test('numbers Cedar cannot hold as a Long reach it as decimals or strings, never as an error', async () => {
  const sys = await openMemory({ policies: '@id("all") permit(principal, action, resource) when { context.params.amount == "9223372036854776000" };' });
  const big = sys.verifyAction({ name: 'pay', params: { amount: 2 ** 63 } }, { agentId: 'al' });
  assert.equal(big.decision, 'allow', big.reasons.join('; '));
  const frac = sys.verifyAction({ name: 'pay', params: { amount: 1.5 } }, { agentId: 'al' });
  assert.equal(frac.decision, 'deny');
  assert.deepEqual(frac.certificate.request.context.params.amount, { __extn: { fn: 'decimal', arg: '1.5' } });
  const long = sys.verifyAction({ name: 'pay', params: { amount: 1.23456 } }, { agentId: 'al' });
  assert.equal(long.certificate.request.context.params.amount, '1.23456');
  await sys.close();
});

// Differential test against Cedar's reference implementation (@cedar-policy/cedar-wasm):
// thousands of seeded random requests over a realistic policy set and entity hierarchy must get
// the same decision, the same determining policy ids and the same erroring policy ids from
// `sys.verifyAction` as from the official `isAuthorized`.
//
// The Cedar request for cedar-wasm is built here independently, from the documented mapping:
// principal `Agent::"<agentId>"`, action `Action::"<name>"`, resource `Type::"id"` (a bare id is
// `Resource::"<id>"`; no resource is `Resource::"<agentId>"`), context
// `{ ...extra, params, priorSteps, deniedSteps, failedSteps, approvals, stepIndex }` with
// non-integer numbers as Cedar decimals when they have at most four fractional digits (else as
// strings) and nulls as empty strings. One deliberate difference from Cedar, the engine's fail
// closed rule: when a policy errors, the decision is deny and the erroring policies decide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { openMemory, prng } from './helpers.mjs';
import { failClosed, ourAnswer, referenceRequest, uid } from './cedar-reference.mjs';

const require = createRequire(import.meta.url);
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const REQUESTS = 4000;
const SEED = 0x5eed_c3da;

// [id, policy text without the @id annotation]
const POLICIES = [
  ['finance-pay-small', `permit(principal in Role::"finance", action == Action::"pay", resource is Account)
    when { context.params.amount < 1000 };`],
  ['lead-money-within-limit', `permit(principal in Role::"finance-lead", action in Action::"money", resource is Account)
    when { context.params.amount <= resource.limit };`],
  ['admin-money-approved', `permit(principal in Role::"admin", action in Action::"money", resource)
    when { context.approvals.contains("cfo") };`],
  ['anyone-reads-public', `permit(principal, action in Action::"read_ops", resource in Folder::"public");`],
  ['trusted-reads-secret', `permit(principal is Agent, action in Action::"read_ops", resource in Folder::"secret")
    when { principal.trustLevel >= 3 };`],
  ['owner-writes', `permit(principal, action in Action::"write_ops", resource is Document)
    when { resource has owner && resource.owner == principal };`],
  ['staff-writes-drafts', `permit(principal in Group::"staff", action == Action::"write", resource in Folder::"drafts");`],
  ['auditor-reads-unless-top-secret', `permit(principal in Role::"auditor", action in Action::"read_ops", resource)
    unless { resource is Document && resource.classification == "top-secret" };`],
  ['weather-for-all', `permit(principal, action == Action::"get_weather", resource);`],
  ['closes-after-first-step', `permit(principal, action == Action::"close", resource)
    when { context.stepIndex >= 1 };`],
  ['employee-deletes-reviewed-drafts', `permit(principal in Role::"employee", action == Action::"delete", resource in Folder::"drafts")
    when { context.priorSteps.contains("read") };`],
  ['employee-shares-with-mfa', `permit(principal in Role::"employee", action == Action::"share", resource)
    when { context has mfa && context.mfa == true };`],
  ['finance-refund-low-rate', `permit(principal in Role::"finance", action == Action::"refund", resource is Account)
    when { context.params.rate.lessThan(decimal("0.5")) };`],
  ['eng-reads-secret-from-vpn', `permit(principal in Group::"eng", action in Action::"read_ops", resource in Folder::"secret")
    when { context has sourceIp && ip(context.sourceIp).isInRange(ip("10.0.0.0/8")) };`],
  ['owner-reads-account', `permit(principal, action == Action::"read", resource is Account)
    when { resource.owner == principal };`],
  ['platform-deploys', `permit(principal is Agent in Group::"platform", action == Action::"deploy", resource)
    when { context.approvals.containsAny(["manager", "cto"]) && principal.trustLevel >= 2 };`],
  ['same-department-reads', `permit(principal is Agent, action == Action::"read", resource is Document)
    when { principal has department && resource has department && principal.department == resource.department };`],
  ['forbid-frozen', `forbid(principal, action in Action::"money", resource is Account)
    when { resource.frozen };`],
  ['forbid-suspended', `forbid(principal is Agent, action, resource)
    when { principal has suspended && principal.suspended };`],
  ['forbid-delete-after-close', `forbid(principal, action == Action::"delete", resource)
    when { context.priorSteps.contains("close") };`],
  ['forbid-contractor-secret', `forbid(principal in Role::"contractor", action, resource in Folder::"secret");`],
  ['forbid-large-unapproved', `forbid(principal, action == Action::"pay", resource)
    when { context.params.amount > 10000 }
    unless { context.approvals.contains("cfo") && context.approvals.contains("ceo") };`],
  ['forbid-low-trust-write-secret', `forbid(principal is Agent, action in Action::"write_ops", resource in Folder::"secret")
    unless { principal.trustLevel >= 4 };`],
  ['forbid-high-risk', `forbid(principal, action in Action::"all", resource)
    when { context has risk && context.risk > 7 };`],
];

const POLICY_TEXT = POLICIES.map(([id, text]) => `@id("${id}")\n${text}`).join('\n\n');
const POLICY_MAP = Object.fromEntries(POLICIES.map(([id, text]) => [id, `@id("${id}")\n${text}`]));

const ref = (type, id) => ({ __entity: { type, id } });
const entity = (type, id, attrs = {}, parents = []) => ({ uid: uid(type, id), attrs, parents: parents.map(([t, i]) => uid(t, i)) });

const ENTITIES = [
  // Roles: finance-lead ⊂ finance ⊂ employee; admin ⊂ employee.
  entity('Role', 'employee'),
  entity('Role', 'finance', {}, [['Role', 'employee']]),
  entity('Role', 'finance-lead', {}, [['Role', 'finance']]),
  entity('Role', 'admin', {}, [['Role', 'employee']]),
  entity('Role', 'auditor'),
  entity('Role', 'contractor'),
  // Nested groups: platform ⊂ eng ⊂ staff.
  entity('Group', 'staff'),
  entity('Group', 'eng', {}, [['Group', 'staff']]),
  entity('Group', 'platform', {}, [['Group', 'eng']]),
  // Agents (dave has no trustLevel: policies reading it error).
  entity('Agent', 'alice', { trustLevel: 4, suspended: false, department: 'finance' }, [['Role', 'finance-lead'], ['Group', 'staff']]),
  entity('Agent', 'bob', { trustLevel: 1, suspended: false, department: 'eng' }, [['Role', 'employee'], ['Group', 'eng']]),
  entity('Agent', 'carol', { trustLevel: 5, suspended: false }, [['Role', 'admin'], ['Group', 'platform']]),
  entity('Agent', 'dave', { department: 'eng' }, [['Role', 'contractor'], ['Group', 'platform']]),
  entity('Agent', 'erin', { trustLevel: 3, suspended: true }, [['Role', 'auditor'], ['Role', 'finance']]),
  entity('Agent', 'frank', { trustLevel: 2, department: 'eng' }, [['Role', 'employee'], ['Group', 'platform']]),
  entity('Agent', 'grace', { trustLevel: 3, suspended: false, department: 'finance' }, [['Role', 'finance'], ['Role', 'auditor']]),
  // Folders: root > public > drafts; root > secret > finance; archive (detached).
  entity('Folder', 'root'),
  entity('Folder', 'public', {}, [['Folder', 'root']]),
  entity('Folder', 'drafts', {}, [['Folder', 'public']]),
  entity('Folder', 'secret', {}, [['Folder', 'root']]),
  entity('Folder', 'finance', {}, [['Folder', 'secret']]),
  entity('Folder', 'archive'),
  // Documents.
  entity('Document', 'readme', { owner: ref('Agent', 'alice'), classification: 'public', department: 'eng' }, [['Folder', 'public']]),
  entity('Document', 'draft-1', { owner: ref('Agent', 'bob'), classification: 'internal' }, [['Folder', 'drafts']]),
  entity('Document', 'draft-2', { owner: ref('Agent', 'frank') }, [['Folder', 'drafts']]),
  entity('Document', 'plans', { owner: ref('Agent', 'carol'), classification: 'top-secret', department: 'eng' }, [['Folder', 'secret']]),
  entity('Document', 'budget', { owner: ref('Agent', 'alice'), classification: 'secret', department: 'finance' }, [['Folder', 'finance']]),
  entity('Document', 'old-memo', { classification: 'top-secret' }, [['Folder', 'archive']]),
  entity('Document', 'q"uote', { owner: ref('Agent', 'bob') }, [['Folder', 'public'], ['Folder', 'archive']]),
  // Accounts (payroll has no limit and no owner; legacy has no frozen flag).
  entity('Account', 'ops', { frozen: false, limit: 5000, owner: ref('Agent', 'alice') }),
  entity('Account', 'frozen', { frozen: true, limit: 100000, owner: ref('Agent', 'grace') }),
  entity('Account', 'payroll', { frozen: false }),
  entity('Account', 'legacy', { limit: 50 }),
  // Action groups: all > read_ops, write_ops, money.
  entity('Action', 'all'),
  entity('Action', 'read_ops', {}, [['Action', 'all']]),
  entity('Action', 'write_ops', {}, [['Action', 'all']]),
  entity('Action', 'money', {}, [['Action', 'all']]),
  entity('Action', 'read', {}, [['Action', 'read_ops']]),
  entity('Action', 'search', {}, [['Action', 'read_ops']]),
  entity('Action', 'download', {}, [['Action', 'read_ops']]),
  entity('Action', 'write', {}, [['Action', 'write_ops']]),
  entity('Action', 'delete', {}, [['Action', 'write_ops']]),
  entity('Action', 'share', {}, [['Action', 'write_ops'], ['Action', 'read_ops']]),
  entity('Action', 'pay', {}, [['Action', 'money']]),
  entity('Action', 'refund', {}, [['Action', 'money']]),
  entity('Action', 'close', {}, [['Action', 'all']]),
  entity('Action', 'deploy', {}, [['Action', 'all']]),
  entity('Action', 'get_weather'),
];

const AGENTS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'ghost'];
const ACTIONS = ['read', 'search', 'download', 'write', 'delete', 'share', 'pay', 'refund', 'close', 'deploy', 'get_weather', 'fly'];
const RESOURCES = [
  'Document::"readme"', 'Document::"draft-1"', 'Document::"draft-2"', 'Document::"plans"', 'Document::"budget"',
  'Document::"old-memo"', 'Document::"q\\"uote"', 'Document::"missing"',
  'Folder::"public"', 'Folder::"drafts"', 'Folder::"secret"', 'Folder::"finance"', 'Folder::"archive"',
  'Account::"ops"', 'Account::"frozen"', 'Account::"payroll"', 'Account::"legacy"', 'Account::"nope"',
  'sensor-7', undefined,
];
const STEPS = ['read', 'close', 'approve', 'search'];
const APPROVERS = ['cfo', 'ceo', 'manager', 'cto'];


function randomRequest(rnd) {
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const chance = (p) => rnd() < p;
  const subset = (xs) => xs.filter(() => chance(0.4));

  const agentId = pick(AGENTS);
  const name = pick(ACTIONS);
  const resource = pick(RESOURCES);
  let params;
  if (!chance(0.1)) {
    params = {};
    const r = rnd();
    if (r < 0.6) params.amount = Math.floor(rnd() * 15000) - 100; // integers, some negative, some > 10000
    else if (r < 0.75) params.amount = pick([0, 999, 1000, 1001, 5000, 10000, 10001, 50]);
    else if (r < 0.82) params.amount = String(Math.floor(rnd() * 2000)); // wrong type: error on `<`
    else if (r < 0.88) params.amount = Math.floor(rnd() * 200000) / 100 + 0.5; // float: becomes a string
    // else: no amount (missing attribute)
    const q = rnd();
    if (q < 0.5) params.rate = Math.round(rnd() * 1000) / 1000; // float -> decimal("0.123")
    else if (q < 0.6) params.rate = pick(['0.25', 0.123456, 'abc', 1.5]); // strings and long fractions: errors
    else if (q < 0.7) params.rate = Math.floor(rnd() * 3); // integer: type error for lessThan
    if (chance(0.1)) params.note = null; // null becomes ""
  }
  const ctx = { agentId };
  if (chance(0.8)) ctx.approvals = subset(APPROVERS);
  else if (chance(0.3)) ctx.approvals = null;
  if (chance(0.8)) ctx.priorSteps = subset(STEPS);
  if (chance(0.7)) ctx.stepIndex = Math.floor(rnd() * 4);
  if (chance(0.4)) ctx.mfa = chance(0.8) ? chance(0.5) : 'yes';
  if (chance(0.4)) ctx.sourceIp = pick(['10.1.2.3', '10.255.0.1', '192.168.1.5', '10.0.0.0/16', 'not-an-ip']);
  if (chance(0.3)) ctx.risk = chance(0.85) ? Math.floor(rnd() * 11) : pick(['high', 7.5]);
  const action = { name };
  if (params !== undefined) action.params = params;
  if (resource !== undefined) action.resource = resource;
  return { action, ctx };
}

/** The reference request, built from the documented mapping, with the policies and entities. */
function referenceCall({ action, ctx }) {
  return { ...referenceRequest(action, ctx), policies: { staticPolicies: POLICY_MAP }, entities: ENTITIES };
}


test('our Cedar decisions equal @cedar-policy/cedar-wasm on random requests', async () => {
  assert.ok(POLICIES.length >= 15);
  const sys = await openMemory({ policies: POLICY_TEXT, entities: ENTITIES });
  const rnd = prng(SEED);
  const counts = { allow: 0, deny: 0, forbid: 0, defaultDeny: 0, error: 0 };
  const byPolicy = Object.fromEntries(POLICIES.map(([id]) => [id, 0]));
  const mismatches = [];
  for (let i = 0; i < REQUESTS; i++) {
    const req = randomRequest(rnd);
    const call = referenceCall(req);
    const ref = cedar.isAuthorized(call);
    assert.equal(ref.type, 'success', `cedar-wasm failed on request #${i}: ${JSON.stringify(ref)} for ${JSON.stringify(call.context)}`);
    // Fail closed: an erroring policy denies, and the erroring policies decide.
    const want = failClosed(ref.response);
    const v = sys.verifyAction(req.action, req.ctx);
    const got = ourAnswer(v);
    const c = v.certificate?.request;
    const gotRequest = c && { principal: uid(c.principal.entityType, c.principal.id), action: uid(c.action.entityType, c.action.id), resource: uid(c.resource.entityType, c.resource.id), context: c.context };
    const wantRequest = { principal: call.principal, action: call.action, resource: call.resource, context: call.context };
    try {
      assert.deepEqual(got, want);
      assert.deepEqual(gotRequest, wantRequest, 'the certified request differs from the documented mapping');
    } catch (e) {
      mismatches.push(
        `#${i} verifyAction(${JSON.stringify(req.action)}, ${JSON.stringify(req.ctx)})\n` +
          `  cedar-wasm request: ${JSON.stringify(wantRequest)}\n` +
          `  ours: ${JSON.stringify(got)} (reasons: ${v.reasons.join('; ')})\n  cedar-wasm: ${JSON.stringify(want)}\n` +
          `  ${e.message.split('\n').slice(0, 12).join('\n  ')}`,
      );
      continue;
    }
    counts[want.decision] += 1;
    if (want.erroring.length) counts.error += 1;
    else if (want.decision === 'deny') counts[want.determining.length ? 'forbid' : 'defaultDeny'] += 1;
    for (const id of want.determining) byPolicy[id] += 1;
  }
  await sys.close();
  assert.equal(mismatches.length, 0, `${mismatches.length} of ${REQUESTS} requests differ:\n${mismatches.slice(0, 10).join('\n')}`);
  const covered = Object.entries(byPolicy).filter(([, n]) => n > 0).length;
  console.log(`cedar-wasm ${cedar.getCedarVersion()} (lang ${cedar.getCedarLangVersion()}): ${REQUESTS} requests agree;`, JSON.stringify(counts), `${covered}/${POLICIES.length} policies determined some decision`);
  for (const k of ['allow', 'deny', 'forbid', 'defaultDeny', 'error']) {
    assert.ok(counts[k] >= 200, `only ${counts[k]} ${k} cases: ${JSON.stringify(counts)}`);
  }
  assert.ok(covered >= POLICIES.length - 2, `policies never determining a decision: ${Object.entries(byPolicy).filter(([, n]) => n === 0).map(([id]) => id).join(', ')}`);
});

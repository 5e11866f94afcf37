// The agentic-flow bridge: verified workflows, voting swarms with learned reliability, the
// reasoning bank synced with agentic-flow's own memory.db, and Claude Agent SDK hooks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// agentic-flow reads its database path on the first migration: set it before anything loads it.
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'lean-bridge-'));
const AF_DB = path.join(TMP, 'af', 'memory.db');
process.env.CLAUDE_FLOW_DB_PATH = AF_DB;
process.env.SKIP_AGENTDB_PATCH = '1';

const require = createRequire(import.meta.url);
const bridgeModule = require('../dist/agentic_flow_bridge.js');
const { AgenticFlowBridge, openAgenticFlowMemory, canonicalJson } = bridgeModule;
const { LeanAgenticSystem } = require('../dist/index.js');

after(() => fs.rmSync(TMP, { recursive: true, force: true }));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const POLICIES = `
@id("researcher-researches")
permit(principal == Agent::"researcher", action == Action::"research", resource);

@id("coder-implements-after-research")
permit(principal == Agent::"coder", action == Action::"implement", resource)
when { context.priorSteps.contains("research") };

@id("reviewers-review")
permit(principal in Role::"reviewers", action == Action::"review", resource);

@id("coder-builds")
permit(principal == Agent::"coder", action in [Action::"build", Action::"purge_cache", Action::"publish", Action::"deploy"], resource);

@id("reviewers-announce-and-document")
permit(principal in Role::"reviewers", action in [Action::"announce", Action::"write_docs"], resource);

@id("no-deploy-without-review")
forbid(principal, action == Action::"deploy", resource)
unless { context.priorSteps.contains("review") };

@id("no-purge-after-announce")
forbid(principal, action == Action::"purge_cache", resource)
when { context.priorSteps.contains("announce") };

@id("swarm-open")
permit(principal, action == Action::"solve", resource);

@id("no-suspended-agents")
forbid(principal in Role::"suspended", action, resource);
`;

const ENTITIES = [
  { uid: { type: 'Role', id: 'reviewers' }, attrs: {}, parents: [] },
  { uid: { type: 'Role', id: 'suspended' }, attrs: {}, parents: [] },
  { uid: { type: 'Agent', id: 'researcher' }, attrs: {}, parents: [] },
  { uid: { type: 'Agent', id: 'coder' }, attrs: {}, parents: [] },
  { uid: { type: 'Agent', id: 'reviewer' }, attrs: {}, parents: [{ type: 'Role', id: 'reviewers' }] },
];

function openSystem(extra = {}) {
  return LeanAgenticSystem.open({ path: ':memory:', seed: 1, policies: POLICIES, entities: ENTITIES, ...extra });
}

/** An agent that logs what it ran and returns `{ success, result, reward }` from `fn`. */
function agent(id, log, fn = (step, input) => ({ success: true, result: `${step.action} done`, input })) {
  return {
    id,
    name: id,
    type: 'coder',
    capabilities: [id],
    config: {},
    execute: async (step, input, ctx) => {
      log.push(step.id);
      return fn(step, input, ctx);
    },
  };
}

const FEATURE = {
  id: 'feature',
  name: 'Feature',
  steps: [
    { id: 'r', agentId: 'researcher', action: 'research', inputs: { topic: 'caching' } },
    { id: 'i', agentId: 'coder', action: 'implement', dependsOn: ['r'], inputs: { files: 2 } },
    { id: 'v', agentId: 'reviewer', action: 'review', dependsOn: ['i'] },
  ],
  properties: [{ type: 'precedes', before: { action: 'research' }, after: { action: 'implement' } }],
};

test('importing the bridge does not load agentic-flow', () => {
  const loaded = Object.keys(require.cache).filter((k) => k.includes(`${path.sep}agentic-flow${path.sep}`));
  assert.deepEqual(loaded, []);
  assert.equal(typeof AgenticFlowBridge, 'function');
  // The package subpath resolves to the same module (package.json "exports").
  assert.equal(require('lean-agentic-native/agentic-flow').AgenticFlowBridge, AgenticFlowBridge);
});

test('a three-step workflow runs verified end to end and is learned from', async () => {
  const sys = await openSystem();
  const log = [];
  const bridge = new AgenticFlowBridge({
    system: sys,
    agents: [
      agent('researcher', log, () => ({ success: true, result: { notes: 'LRU fits' }, reward: 0.7 })),
      agent('coder', log, (step, input) => ({ success: true, result: { usedNotes: input.dependencies.r.result.notes, files: input.files, ticket: input.ticket } })),
      agent('reviewer', log, (step, input) => ({ success: true, result: { approved: input.dependencies.i.success } })),
    ],
    workflows: [FEATURE],
  });
  const before = sys.bank.count();
  const statsBefore = await sys.stats();
  const run = await bridge.executeWorkflow('feature', { ticket: 'T-1' }, { approvals: [] });
  assert.equal(run.refused, undefined);
  assert.equal(run.success, true, JSON.stringify(run.results));
  assert.deepEqual(log, ['r', 'i', 'v']);
  assert.deepEqual(run.completionOrder, ['r', 'i', 'v']);
  assert.equal(run.verification.ok, true);
  assert.deepEqual(run.results.map((r) => r.stepId), ['r', 'i', 'v']);
  assert.deepEqual(run.results.map((r) => r.verification.decision), ['allow', 'allow', 'allow']);
  assert.deepEqual(
    run.results.map((r) => r.verification.determiningPolicies.map((p) => p.id)),
    [['researcher-researches'], ['coder-implements-after-research'], ['reviewers-review']],
  );
  // Inputs flow: workflow inputs, step inputs and the dependencies' results.
  assert.deepEqual(run.results[1].result, { success: true, result: { usedNotes: 'LRU fits', files: 2, ticket: 'T-1' } });
  assert.deepEqual(run.results.map((r) => r.reward), [0.7, 1, 1]);
  assert.equal(run.totalReward, 2.7);
  // Learned from: three outcomes journaled, three learnings and one summary memory in the bank.
  const statsAfter = await sys.stats();
  assert.equal(statsAfter.totalActions - statsBefore.totalActions, 3);
  assert.equal(statsAfter.learningIterations - statsBefore.learningIterations, 3);
  const count = sys.bank.count();
  assert.equal(count.learnings - before.learnings, 3);
  assert.equal(count.memories - before.memories, 1);
  const memory = sys.bank.get(run.memoryId);
  assert.equal(memory.title, 'Workflow Feature succeeded');
  assert.equal(memory.domain, 'workflow');
  assert.equal(memory.source.taskId, 'feature');
  assert.match(memory.content, /i \(implement by coder\): succeeded, reward 1/);
  const learnings = sys.bank.exportJson().learnings.filter((l) => l.pattern.startsWith('Feature/'));
  assert.deepEqual(learnings.map((l) => l.pattern).sort(), ['Feature/implement', 'Feature/research', 'Feature/review']);
  assert.ok(learnings.every((l) => l.outcome === 'Success' && l.session === 'wf:feature:1'));
  const hits = await bridge.queryReasoningBank('Feature', 10);
  assert.ok(hits.some((h) => h.kind === 'memory' && h.id === run.memoryId), JSON.stringify(hits));
  // A second run is a new session.
  const again = await bridge.executeWorkflow('feature', {});
  assert.equal(again.runId, 'wf:feature:2');
  await bridge.close(); // does not close a system it was given
  assert.equal(sys.closed, false);
  await sys.close();
});

test('a workflow that cannot pass verification is refused before any agent runs', async () => {
  const sys = await openSystem();
  const log = [];
  const agents = ['researcher', 'coder', 'reviewer'].map((id) => agent(id, log));
  const bridge = new AgenticFlowBridge({
    system: sys,
    agents,
    workflows: [
      // Cedar: deploy runs without a review on its path.
      {
        id: 'hotfix',
        steps: [
          { id: 'b', agentId: 'coder', action: 'build' },
          { id: 'd', agentId: 'coder', action: 'deploy', dependsOn: ['b'] },
        ],
      },
      // Temporal property: on the "fast" branch, implement runs before any review.
      {
        id: 'branchy',
        steps: [
          { id: 'r', agentId: 'researcher', action: 'research' },
          { id: 'fast', agentId: 'coder', action: 'implement', dependsOn: ['r'], branch: { group: 'path', option: 'fast' } },
          { id: 'careful', agentId: 'reviewer', action: 'review', dependsOn: ['r'], branch: { group: 'path', option: 'careful' } },
          { id: 'ship', agentId: 'coder', action: 'build', dependsOn: ['fast', 'careful'] },
        ],
        properties: [{ type: 'precedes', before: { action: 'review' }, after: { action: 'build' } }],
      },
    ],
  });
  const statsBefore = await sys.stats();
  const hotfix = await bridge.executeWorkflow('hotfix', {});
  assert.equal(hotfix.refused, true);
  assert.equal(hotfix.success, false);
  assert.deepEqual(hotfix.results, []);
  assert.equal(hotfix.totalReward, 0);
  assert.deepEqual(hotfix.counterexample, ['b', 'd']);
  const check = hotfix.verification.stepChecks.find((c) => c.stepId === 'd');
  assert.equal(check.decision, 'deny');
  assert.deepEqual(check.determiningPolicies.map((p) => p.id), ['no-deploy-without-review']);
  assert.match(hotfix.reason, /no-deploy-without-review/);
  assert.deepEqual(hotfix.counterexample.at(-1), 'd');

  const branchy = await bridge.executeWorkflow('branchy', {});
  assert.equal(branchy.refused, true);
  assert.deepEqual(branchy.counterexample, ['r', 'fast', 'ship']);
  assert.match(branchy.reason, /violates a property/);
  assert.deepEqual(log, [], 'no agent ran');
  assert.equal((await sys.stats()).totalActions, statsBefore.totalActions, 'nothing was executed or journaled');

  // The contract's errors.
  await assert.rejects(bridge.executeWorkflow('nope', {}), (e) => e.code === 'ERR_NOT_FOUND' && /nope/.test(e.message));
  bridge.registerWorkflow({ id: 'ghost', steps: [{ id: 'g', agentId: 'ghost-agent', action: 'research' }] });
  await assert.rejects(bridge.executeWorkflow('ghost', {}), (e) => e.code === 'ERR_INVALID_WORKFLOW' && /ghost-agent/.test(e.message));
  await sys.close();
});

test('branches: the option in inputs.branches runs, else the first; dependencies on untaken options are satisfied', async () => {
  const sys = await LeanAgenticSystem.open({ path: ':memory:' }); // no policies: decisions are 'skipped'
  const log = [];
  const bridge = new AgenticFlowBridge({
    system: sys,
    agents: [agent('a', log)],
    workflows: [
      {
        id: 'b',
        steps: [
          { id: 'start', agentId: 'a', action: 'start' },
          { id: 'auto', agentId: 'a', action: 'check', dependsOn: ['start'], branch: { group: 'review', option: 'auto' } },
          { id: 'manual', agentId: 'a', action: 'approve', dependsOn: ['start'], branch: { group: 'review', option: 'manual' } },
          { id: 'end', agentId: 'a', action: 'finish', dependsOn: ['auto', 'manual'] },
        ],
      },
    ],
  });
  const first = await bridge.executeWorkflow('b', {});
  assert.equal(first.success, true);
  assert.deepEqual(first.branches, { review: 'auto' });
  assert.deepEqual(first.notTaken, ['manual']);
  assert.deepEqual(log, ['start', 'auto', 'end']);
  log.length = 0;
  const chosen = await bridge.executeWorkflow('b', { branches: { review: 'manual' } });
  assert.deepEqual(log, ['start', 'manual', 'end']);
  assert.deepEqual(chosen.results.map((r) => r.verification.decision), ['skipped', 'skipped', 'skipped']);
  await assert.rejects(bridge.executeWorkflow('b', { branches: { review: 'yolo' } }), (e) => e.code === 'ERR_INVALID_INPUT' && /auto/.test(e.message));
  await sys.close();
});

// build (slow) and announce (fast) start together; purge_cache depends on build. verifyWorkflow
// allows purge (announce is not guaranteed to precede it), but at run time announce has
// completed first, so "no-purge-after-announce" denies purge_cache.
const RELEASE = {
  id: 'release',
  steps: [
    { id: 'build', agentId: 'coder', action: 'build' },
    { id: 'announce', agentId: 'reviewer', action: 'announce' },
    { id: 'purge', agentId: 'coder', action: 'purge_cache', dependsOn: ['build'] },
    { id: 'docs', agentId: 'reviewer', action: 'write_docs', dependsOn: ['build'] },
    { id: 'publish', agentId: 'coder', action: 'publish', dependsOn: ['purge'] },
  ],
};

function releaseBridge(sys, log) {
  return new AgenticFlowBridge({
    system: sys,
    agents: [
      agent('coder', log, async (step) => (step.action === 'build' ? (await sleep(40), { success: true }) : { success: true })),
      agent('reviewer', log),
    ],
    workflows: [RELEASE],
  });
}

test('a run follows the path the verifier checked: a step whose only dependency is an untaken option does not run', async () => {
  const sys = await openSystem();
  const log = [];
  const bridge = new AgenticFlowBridge({
    system: sys,
    agents: [agent('researcher', log), agent('coder', log), agent('reviewer', log)],
    workflows: [
      {
        id: 'paths',
        steps: [
          { id: 'r', agentId: 'researcher', action: 'research' },
          { id: 'fast', agentId: 'coder', action: 'build', dependsOn: ['r'], branch: { group: 'path', option: 'fast' } },
          { id: 'careful', agentId: 'reviewer', action: 'review', dependsOn: ['r'], branch: { group: 'path', option: 'careful' } },
          // Runs only after a review: on the "fast" path it does not run at all.
          { id: 'after-review', agentId: 'coder', action: 'build', dependsOn: ['careful'] },
        ],
      },
    ],
  });
  const fast = await bridge.executeWorkflow('paths', { branches: { path: 'fast' } });
  assert.equal(fast.refused, undefined, fast.reason);
  assert.deepEqual(log, ['r', 'fast'], 'after-review does not run on the fast path (it used to, with no dependency left)');
  assert.deepEqual(fast.notTaken.sort(), ['after-review', 'careful']);
  log.length = 0;
  const careful = await bridge.executeWorkflow('paths', { branches: { path: 'careful' } });
  assert.deepEqual(log, ['r', 'careful', 'after-review']);
  assert.deepEqual(careful.notTaken, ['fast']);
  await assert.rejects(bridge.executeWorkflow('paths', { branches: { path: 'slow' } }), (e) => e.code === 'ERR_INVALID_INPUT' && /"fast", "careful"/.test(e.message));
  await sys.close();
});

test("a step denied at run time stops the workflow (onDeny: 'stop')", async () => {
  const sys = await openSystem();
  const log = [];
  const bridge = releaseBridge(sys, log);
  assert.equal(sys.verifyWorkflow(RELEASE).ok, true, 'statically, purge is allowed');
  const run = await bridge.executeWorkflow('release', {});
  assert.equal(run.refused, undefined);
  assert.equal(run.success, false);
  const by = Object.fromEntries(run.results.map((r) => [r.stepId, r]));
  assert.equal(by.purge.denied, true);
  assert.equal(by.purge.verification.decision, 'deny');
  assert.deepEqual(by.purge.verification.determiningPolicies.map((p) => p.id), ['no-purge-after-announce']);
  assert.equal(by.purge.reward, -0.5);
  assert.match(by.purge.error, /no-purge-after-announce/);
  // Nothing new started after the deny: docs (ready at the same time) and publish were skipped.
  assert.equal(by.docs.skipped, true);
  assert.equal(by.publish.skipped, true);
  assert.deepEqual(log.sort(), ['announce', 'build']);
  assert.deepEqual(run.completionOrder, ['announce', 'build']);
  const failures = sys.bank.exportJson().learnings.filter((l) => l.pattern === 'release/purge_cache');
  assert.equal(failures.length, 1);
  assert.equal(failures[0].outcome, 'Failure');
  assert.equal(sys.bank.get(run.memoryId).title, 'Workflow release failed');
  await sys.close();
});

test("a step denied at run time is skipped with its dependents (onDeny: 'skip')", async () => {
  const sys = await openSystem();
  const log = [];
  const bridge = releaseBridge(sys, log);
  const run = await bridge.executeWorkflow('release', {}, {}, { onDeny: 'skip' });
  const by = Object.fromEntries(run.results.map((r) => [r.stepId, r]));
  assert.equal(by.purge.denied, true);
  assert.equal(by.publish.skipped, true);
  assert.match(by.publish.error, /dependency "purge" was denied/);
  assert.equal(by.docs.success, true, 'independent steps go on');
  assert.deepEqual(log.sort(), ['announce', 'build', 'docs']);
  assert.equal(run.success, false);
  await sys.close();
});

test('agents that fail, lack execute or time out fail their step clearly', async () => {
  const sys = await LeanAgenticSystem.open({ path: ':memory:' });
  let aborted = false;
  const bridge = new AgenticFlowBridge({
    system: sys,
    timeoutMs: 50,
    agents: [
      { id: 'thrower', execute: async () => { throw new Error('disk full'); } },
      { id: 'no-exec' },
      { id: 'slow', execute: (step, input, ctx) => new Promise((r) => ctx.signal.addEventListener('abort', () => { aborted = true; r({ success: true }); })) },
      { id: 'soft-fail', execute: async () => ({ success: false, error: 'bad input' }) },
    ],
    workflows: [
      { id: 'f', steps: [
        { id: 't', agentId: 'thrower', action: 'x' },
        { id: 'n', agentId: 'no-exec', action: 'x' },
        { id: 's', agentId: 'slow', action: 'x' },
        { id: 'q', agentId: 'soft-fail', action: 'x' },
        { id: 'after', agentId: 'soft-fail', action: 'y', dependsOn: ['t'] },
      ] },
    ],
  });
  const run = await bridge.executeWorkflow('f', {});
  const by = Object.fromEntries(run.results.map((r) => [r.stepId, r]));
  assert.match(by.t.error, /disk full/);
  assert.match(by.n.error, /has no execute/);
  assert.match(by.s.error, /within 50 ms/);
  assert.equal(aborted, true, 'the agent saw its signal abort');
  assert.equal(by.q.error, 'bad input');
  assert.equal(by.after.skipped, true);
  assert.deepEqual([by.t.reward, by.n.reward, by.s.reward, by.q.reward], [-1, -1, -1, -1]);
  assert.equal(run.success, false);
  assert.throws(() => new AgenticFlowBridge({ agnets: [] }), (e) => e.code === 'ERR_INVALID_CONFIG' && /agnets/.test(e.message));
  await sys.close();
});

/** Five voters whose answers come from `answers[agentId]`. */
function voters(answers) {
  const ids = ['a', 'b', 'c', 'd', 'e'];
  return ids.map((id) => ({ id, name: id, type: 'analyst', capabilities: ['vote'], config: {}, execute: async () => ({ success: true, answer: answers[id] }) }));
}

test('a swarm of five reaches majority, weighted and quorum decisions, and reports failures and ties', async () => {
  const sys = await openSystem();
  const answers = { a: { x: 1, y: 2 }, b: { y: 2, x: 1 }, c: { x: 1, y: 2 }, d: 'other', e: 'third' };
  const bridge = new AgenticFlowBridge({ system: sys, agents: voters(answers) });
  const ids = ['a', 'b', 'c', 'd', 'e'];
  const task = { action: 'solve', question: 'pick' };

  const maj = await bridge.createSwarm(ids, task, {}, { consensus: 'majority' });
  assert.equal(maj.success, true);
  assert.equal(maj.consensus, 'majority');
  assert.deepEqual(maj.winner, { x: 1, y: 2 }, 'votes are compared by canonical JSON');
  assert.equal(maj.agreement, 3 / 5);
  assert.equal(maj.tie, false);
  assert.deepEqual(maj.votes.map((v) => v.agreed), [true, true, true, false, false]);
  assert.deepEqual(maj.votes.map((v) => v.verification.determiningPolicies.map((p) => p.id)), ids.map(() => ['swarm-open']));

  const weighted = await bridge.createSwarm(ids, task, {}, { consensus: 'weighted' });
  assert.equal(weighted.success, true);
  assert.deepEqual(weighted.winner, { x: 1, y: 2 });
  // Weights are the reliabilities learned in the first round: (1+1)/(1+2) and (0+1)/(1+2).
  assert.deepEqual(weighted.votes.map((v) => v.weight), [2 / 3, 2 / 3, 2 / 3, 1 / 3, 1 / 3]);
  assert.ok(Math.abs(weighted.agreement - 2 / (2 + 2 / 3)) < 1e-12);

  const failed = await bridge.createSwarm(ids, task, {}, { consensus: 'quorum' }); // 3/5 < 2/3
  assert.equal(failed.success, false);
  assert.equal(failed.winner, null);
  assert.match(failed.reason, /quorum not reached: .*3 of 5/);
  assert.deepEqual(failed.leading, { x: 1, y: 2 });
  const passed = await bridge.createSwarm(ids, task, {}, { consensus: 'quorum', quorum: 0.6 });
  assert.equal(passed.success, true);
  assert.deepEqual(passed.winner, { x: 1, y: 2 });
  await assert.rejects(bridge.createSwarm(ids, task, {}, { consensus: 'quorum', quorum: 1.5 }), (e) => e.code === 'ERR_INVALID_INPUT');
  await assert.rejects(bridge.createSwarm(['a', 'zz'], task), (e) => e.code === 'ERR_NOT_FOUND');

  // A tie: e is suspended (denied by policy, does not vote); a,b vote "right", c,d vote "left".
  const suspended = [...ENTITIES, { uid: { type: 'Agent', id: 'e' }, attrs: {}, parents: [{ type: 'Role', id: 'suspended' }] }];
  const tieAnswers = { a: 'right', b: 'right', c: 'left', d: 'left', e: 'left' };
  const fresh = new AgenticFlowBridge({ system: await openSystem({ entities: suspended }), agents: voters(tieAnswers) });
  const tie = await fresh.createSwarm(ids, task, {}, { consensus: 'majority' });
  const e = tie.votes.find((v) => v.agentId === 'e');
  assert.equal(e.status, 'denied');
  assert.equal(e.weight, 0);
  assert.match(e.error, /no-suspended-agents/);
  assert.equal(tie.tie, true);
  assert.equal(tie.success, true);
  // Equal weight, reliability and voter count: the smallest canonical JSON wins ("left" < "right").
  assert.equal(tie.winner, 'left');
  assert.equal(tie.agreement, 0.5);
  // A tie on weight broken by reliability: c and d agreed last round (2/3), a and b did not (1/3),
  // so c and d's answer wins although it sorts last.
  Object.assign(tieAnswers, { a: 'aaa', b: 'aaa', c: 'zzz', d: 'zzz' });
  const tie2 = await fresh.createSwarm(['a', 'b', 'c', 'd'], task, {}, { consensus: 'majority' });
  assert.equal(tie2.tie, true);
  assert.equal(tie2.winner, 'zzz');
  assert.deepEqual(tie2.result, { success: true, answer: 'zzz' });
  const sys2 = await fresh.system();
  await sys2.close();
  await sys.close();
});

test('after several swarms the weighted vote favours the historically reliable agents, also in a new bridge', async () => {
  const store = path.join(TMP, 'swarm', 'store.db');
  fs.mkdirSync(path.dirname(store), { recursive: true });
  const answers = {};
  const make = () => new AgenticFlowBridge({ path: store, agents: voters(answers) });
  const ids = ['a', 'b', 'c', 'd', 'e'];
  let bridge = make();
  // Training: a and b always give the right answer; one of c, d, e joins them, the others err.
  for (let round = 0; round < 6; round++) {
    Object.assign(answers, { a: 'right', b: 'right', c: `wrong-c-${round}`, d: `wrong-d-${round}`, e: `wrong-e-${round}` });
    answers['cde'[round % 3]] = 'right';
    const r = await bridge.createSwarm(ids, { task: round }, {}, { consensus: 'majority' });
    assert.equal(r.winner, 'right');
  }
  assert.equal(await bridge.reliability('a'), 7 / 8);
  assert.equal(await bridge.reliability('c'), 3 / 8);
  // c, d and e now agree on a wrong answer: they outnumber a and b, but weigh less.
  Object.assign(answers, { a: 'right', b: 'right', c: 'wrong', d: 'wrong', e: 'wrong' });
  const weighted = await bridge.createSwarm(ids, { task: 'hard' }, {}, { consensus: 'weighted' });
  assert.equal(weighted.winner, 'right');
  assert.equal(weighted.tie, false);
  const majority = await bridge.createSwarm(ids, { task: 'hard' }, {}, { consensus: 'majority' });
  assert.equal(majority.winner, 'wrong', 'one agent, one vote');
  const learned = await bridge.reliability();
  await bridge.close();

  // A new bridge on the same store reloads the reliabilities from the bank's learnings.
  bridge = make();
  assert.deepEqual(await bridge.reliability(), learned);
  assert.equal(learned.a, 8 / 10);
  assert.equal(learned.c, 4 / 10);
  const again = await bridge.createSwarm(ids, { task: 'hard' }, {}, { consensus: 'weighted' });
  assert.equal(again.winner, 'right');
  assert.deepEqual(again.votes.map((v) => v.weight), [0.8, 0.8, 0.4, 0.4, 0.4]);
  const hits = await bridge.queryReasoningBank('swarm-reliability', 10);
  assert.ok(hits.filter((h) => h.kind === 'learning').length >= 5, JSON.stringify(hits));
  await bridge.close();
});

test('memories of workflows reach agentic-flow: its retrieveMemories finds them after syncWithAgenticFlow', async () => {
  const af = await openAgenticFlowMemory(); // imports agentic-flow/reasoningbank, runs its migrations
  try {
    // 1. The built-in embedding: the rows are agentic-flow candidates and retrievable.
    const sys = await openSystem();
    const log = [];
    const plain = new AgenticFlowBridge({
      system: sys,
      memoryDbPath: AF_DB,
      agents: ['researcher', 'coder', 'reviewer'].map((id) => agent(id, log)),
      workflows: [FEATURE],
    });
    const run = await plain.executeWorkflow('feature', { ticket: 'T-9' });
    assert.equal(run.success, true);
    const since = Date.now() - 60_000;
    const mine = await plain.getMemories(since);
    assert.ok(mine.some((m) => m.id === run.memoryId));
    assert.deepEqual(await plain.getMemories(Date.now() + 60_000), []);
    const sync = await plain.syncWithAgenticFlow({ direction: 'export' });
    assert.equal(sync.path, AF_DB);
    assert.equal(sync.via, 'connection', 'agentic-flow has the file open in this process: go through its connection');
    assert.ok(sync.exported.memories >= 1 && sync.exported.embeddings >= 1, JSON.stringify(sync));
    const candidates = af.db.fetchMemoryCandidates({ domain: 'workflow', minConfidence: 0.3 });
    const row = candidates.find((c) => c.id === run.memoryId);
    assert.ok(row, 'an agentic-flow retrieval candidate');
    assert.equal(row.pattern_data.title, 'Workflow Feature succeeded');
    assert.equal(row.pattern_data.source.task_id, 'feature');
    assert.equal(row.embedding.length, 384, 'a 384-d vector, as its MiniLM model makes');
    const all = await af.retrieveMemories('Workflow Feature', { k: 10, domain: 'workflow' });
    assert.ok(all.some((m) => m.id === run.memoryId && m.title === 'Workflow Feature succeeded'), JSON.stringify(all));

    // 2. With agentic-flow's own embedder (`embed`), its similarity ranks the right memory first.
    const embedded = new AgenticFlowBridge({
      system: await openSystem(),
      memoryDbPath: AF_DB,
      embed: af.computeEmbedding,
      agents: ['researcher', 'coder', 'reviewer'].map((id) => agent(id, log)),
      workflows: ['alpha', 'beta', 'gamma'].map((name) => ({ ...FEATURE, id: `wf-${name}`, name: `Feature ${name}` })),
    });
    const runs = [];
    for (const name of ['alpha', 'beta', 'gamma']) runs.push(await embedded.executeWorkflow(`wf-${name}`, { ticket: name }));
    const both = await embedded.syncWithAgenticFlow({ direction: 'both' });
    assert.ok(both.exported.memories >= 3 && both.imported.memories >= 3, JSON.stringify(both));
    const esys = await embedded.system();
    for (const r of runs) {
      const m = esys.bank.get(r.memoryId);
      // agentic-flow embeds `title description content` (as its distiller does); offline that is its hash embedding.
      const found = await af.retrieveMemories(`${m.title} ${m.description} ${m.content}`, { k: 1, domain: 'workflow' });
      assert.equal(found[0]?.id, r.memoryId, `${m.title}: ${JSON.stringify(found.map((f) => [f.title, f.components]))}`);
      assert.ok(found[0].components.similarity > 0.999);
    }

    // 3. The other way: a memory written by agentic-flow is imported into the bank.
    af.db.upsertMemory({
      id: 'af-native-1',
      type: 'reasoning_memory',
      pattern_data: { title: 'Prefer exponential backoff', description: 'Retries', content: 'Back off exponentially on HTTP 429', source: { task_id: 't', agent_id: 'af', outcome: 'Success', evidence: [] }, tags: [], domain: 'http', created_at: new Date().toISOString(), confidence: 0.8, n_uses: 0 },
      confidence: 0.8,
      usage_count: 0,
    });
    af.db.upsertEmbedding({ id: 'af-native-1', model: 'hash', dims: 384, vector: await af.computeEmbedding('Prefer exponential backoff Retries Back off exponentially on HTTP 429'), created_at: new Date().toISOString() });
    const imported = await plain.syncWithAgenticFlow({ direction: 'import' });
    assert.ok(imported.imported.memories >= 1);
    assert.equal(sys.bank.get('af-native-1').title, 'Prefer exponential backoff');
    const hits = await plain.queryReasoningBank('backoff', 5);
    assert.equal(hits[0]?.id, 'af-native-1');

    // A file agentic-flow does not hold open: the engine writes it itself; a reader opened
    // afterwards (agentic-flow's better-sqlite3) sees agentic-flow's schema and rows.
    const other = path.join(TMP, 'other', 'memory.db');
    const native = await plain.syncWithAgenticFlow({ dbPath: other, direction: 'export' });
    assert.equal(native.via, 'native');
    assert.equal(native.exported.memories, sys.bank.count().memories);
    const Database = createRequire(require.resolve('agentic-flow/package.json'))('better-sqlite3');
    const reader = new Database(other, { readonly: true });
    const ids = reader.prepare("SELECT p.id FROM patterns p JOIN pattern_embeddings e ON e.id = p.id WHERE p.type = 'reasoning_memory'").all().map((r) => r.id);
    reader.close();
    assert.ok(ids.includes(run.memoryId) && ids.includes('af-native-1'), JSON.stringify(ids));

    // Export / import of the whole bank as JSON.
    const doc = await plain.exportReasoningBank();
    const copy = new AgenticFlowBridge({});
    const rep = await copy.importReasoningBank(doc);
    assert.equal(rep.memories, doc.memories.length);
    assert.equal((await copy.system()).bank.count().memories, doc.memories.length);
    await copy.close();
    await sys.close();
    await esys.close();
  } finally {
    af.db.closeDb();
    af.module.clearEmbeddingCache?.();
  }
});

/** A Claude Agent SDK hook input. */
const sdkInput = (event, tool, toolInput, extra = {}) => ({
  hook_event_name: event,
  session_id: 'sess-1',
  transcript_path: '/tmp/t.jsonl',
  cwd: '/work',
  tool_name: tool,
  tool_input: toolInput,
  tool_use_id: `${tool}-${Math.random()}`,
  ...extra,
});

const TOOL_POLICIES = `
@id("read-anything")
permit(principal, action == Action::"Read", resource);

@id("bash-for-dev")
permit(principal == Agent::"dev", action == Action::"Bash", resource);

@id("no-rm-rf")
forbid(principal, action == Action::"Bash", resource)
when { context.params.command like "*rm -rf*" };

@id("write-after-read")
permit(principal, action == Action::"Write", resource)
when { context.priorSteps.contains("Read") };
`;

test("a tool call's input cannot forge Cedar entity or extension values (reserved JSON escape keys deny)", async () => {
  const policies = `
    @id("cfo-approved") permit(principal, action == Action::"Pay", resource) when { context.params.approver == Agent::"cfo" };
    @id("small") permit(principal, action == Action::"Transfer", resource) when { context.params.amount.lessThan(decimal("10.0")) };
    @id("notes") permit(principal, action == Action::"Note", resource);`;
  const sys = await LeanAgenticSystem.open({ path: ':memory:', policies });
  const bridge = new AgenticFlowBridge({ system: sys });
  const hooks = bridge.hooks({ agentId: 'dev', onError: () => {} });
  const [pre] = hooks.PreToolUse[0].hooks;
  const signal = new AbortController().signal;
  const call = (tool, input) => pre({ hook_event_name: 'PreToolUse', session_id: 'forge', tool_name: tool, tool_input: input, tool_use_id: `${tool}-${Math.random()}` }, undefined, { signal });
  const forged = await call('Pay', { approver: { __entity: { type: 'Agent', id: 'cfo' } } });
  assert.equal(forged.hookSpecificOutput.permissionDecision, 'deny');
  assert.match(forged.hookSpecificOutput.permissionDecisionReason, /__entity/);
  const nested = await call('Transfer', { amount: { __extn: { fn: 'decimal', arg: '1.0' } } });
  assert.equal(nested.hookSpecificOutput.permissionDecision, 'deny');
  const deep = await call('Pay', { list: [{ x: { __expr: 'true' } }] });
  assert.equal(deep.hookSpecificOutput.permissionDecision, 'deny');
  // an escape nested past the scan's depth bound is refused too: the input guard refuses nesting
  // deeper than 64 levels, so a deep input is denied before Cedar could read it
  let deepInput = { approver: { __entity: { type: 'Agent', id: 'cfo' } } };
  for (let i = 0; i < 70; i++) deepInput = { d: deepInput };
  const tooDeep = await call('Note', deepInput);
  assert.equal(tooDeep.hookSpecificOutput.permissionDecision, 'deny');
  assert.match(tooDeep.hookSpecificOutput.permissionDecisionReason, /nested more than 64 levels/);
  // refused input, not a failed verification: failOpen does not let it through
  const open = bridge.hooks({ agentId: 'dev', failOpen: true }).PreToolUse[0].hooks[0];
  const again = await open({ hook_event_name: 'PreToolUse', session_id: 'forge', tool_name: 'Pay', tool_input: { approver: { __entity: { type: 'Agent', id: 'cfo' } } }, tool_use_id: 'p2' }, undefined, { signal });
  assert.equal(again.hookSpecificOutput.permissionDecision, 'deny');
  assert.deepEqual(sys.verifyAction({ name: 'Pay' }, 'hook:forge').certificate.request.context.deniedSteps, ['Pay', 'Transfer']);
  // the same policies still allow through trusted code, which may use the escapes on purpose
  assert.equal(sys.verifyAction({ name: 'Pay', params: { approver: { __entity: { type: 'Agent', id: 'cfo' } } } }, { agentId: 'dev' }).decision, 'allow');
  await sys.close();
});

test('a tool hook given an input without a tool (another SDK event) denies, even under a permit-all', async () => {
  const sys = await LeanAgenticSystem.open({ path: ':memory:', policies: 'permit(principal, action, resource);' });
  const bridge = new AgenticFlowBridge({ system: sys });
  const errors = [];
  const hooks = bridge.hooks({ agentId: 'dev', onError: (e) => errors.push(e) });
  const signal = new AbortController().signal;
  const notification = { hook_event_name: 'Notification', session_id: 'n-1', message: 'hi' };
  const out = await hooks.PreToolUse[0].hooks[0](notification, undefined, { signal });
  assert.equal(out.hookSpecificOutput.permissionDecision, 'deny');
  assert.match(out.hookSpecificOutput.permissionDecisionReason, /no tool_name/);
  assert.deepEqual(await hooks.PostToolUse[0].hooks[0](notification, undefined, { signal }), {});
  assert.deepEqual(errors.map((e) => e.code), ['ERR_INVALID_INPUT', 'ERR_INVALID_INPUT'], 'both hooks report it');
  assert.equal((await sys.stats()).totalActions, 0, 'nothing was recorded as a tool call');
  await sys.close();
});

test('hooks deny forbidden tool calls with the policy id and record outcomes', async () => {
  const sys = await LeanAgenticSystem.open({ path: ':memory:', policies: TOOL_POLICIES });
  const bridge = new AgenticFlowBridge({ system: sys });
  const errors = [];
  const hooks = bridge.hooks({ agentId: 'dev', onError: (e) => errors.push(e) });
  assert.deepEqual(Object.keys(hooks), ['PreToolUse', 'PostToolUse', 'PostToolUseFailure']);
  const [pre] = hooks.PreToolUse[0].hooks;
  const [post] = hooks.PostToolUse[0].hooks;
  const [postFail] = hooks.PostToolUseFailure[0].hooks;
  const signal = new AbortController().signal;
  const before = sys.bank.count();
  const statsBefore = await sys.stats();

  const rm = sdkInput('PreToolUse', 'Bash', { command: 'rm -rf /', description: 'clean' });
  const denied = await pre(rm, rm.tool_use_id, { signal });
  assert.equal(denied.hookSpecificOutput.hookEventName, 'PreToolUse');
  assert.equal(denied.hookSpecificOutput.permissionDecision, 'deny');
  assert.match(denied.hookSpecificOutput.permissionDecisionReason, /no-rm-rf/);

  // Write needs an earlier completed Read in this session.
  const w1 = sdkInput('PreToolUse', 'Write', { file_path: '/work/a.txt', content: 'x' });
  const noWrite = await pre(w1, w1.tool_use_id, { signal });
  assert.equal(noWrite.hookSpecificOutput.permissionDecision, 'deny');
  assert.match(noWrite.hookSpecificOutput.permissionDecisionReason, /no policy permits/);

  const read = sdkInput('PreToolUse', 'Read', { file_path: '/work/a.txt' });
  const allowed = await pre(read, read.tool_use_id, { signal });
  assert.equal(allowed.hookSpecificOutput.permissionDecision, 'allow');
  assert.match(allowed.hookSpecificOutput.permissionDecisionReason, /read-anything/);
  assert.deepEqual(await post({ ...read, hook_event_name: 'PostToolUse', tool_response: { content: 'hello' } }, read.tool_use_id, { signal }), {});

  const w2 = sdkInput('PreToolUse', 'Write', { file_path: '/work/a.txt', content: 'x' });
  const nowWrite = await pre(w2, w2.tool_use_id, { signal });
  assert.equal(nowWrite.hookSpecificOutput.permissionDecision, 'allow');
  assert.match(nowWrite.hookSpecificOutput.permissionDecisionReason, /write-after-read/);

  const ls = sdkInput('PreToolUse', 'Bash', { command: 'ls' });
  assert.equal((await pre(ls, ls.tool_use_id, { signal })).hookSpecificOutput.permissionDecision, 'allow');
  assert.deepEqual(await postFail({ ...ls, hook_event_name: 'PostToolUseFailure', error: 'exit code 2' }, ls.tool_use_id, { signal }), {});

  assert.deepEqual(errors, []);
  const count = sys.bank.count();
  assert.equal(count.learnings - before.learnings, 2);
  assert.equal(count.memories - before.memories, 2);
  const stats = await sys.stats();
  // Two calls ran (Read, ls), two were refused: the refusals are steps of the session too.
  assert.equal(stats.totalActions - statsBefore.totalActions, 4);
  assert.equal(stats.deniedActions - statsBefore.deniedActions, 2);
  assert.ok(stats.averageReward < 1);
  // The SDK session's record: what ran, what was refused, what failed.
  const record = sys.verifyAction({ name: 'Read' }, 'hook:sess-1').certificate.request.context;
  assert.deepEqual(record.priorSteps, ['Read']);
  assert.deepEqual(record.deniedSteps, ['Bash', 'Write']);
  assert.deepEqual(record.failedSteps, ['Bash']);
  const learnings = sys.bank.exportJson().learnings;
  assert.deepEqual(learnings.map((l) => [l.pattern, l.outcome, l.reward]).sort(), [['tool/Bash', 'Failure', -1], ['tool/Read', 'Success', 1]]);
  const titles = (await bridge.getMemories()).map((m) => m.patternData.title).sort();
  assert.deepEqual(titles, ['Tool Bash failed', 'Tool Read succeeded']);
  const failedMemory = (await bridge.getMemories()).find((m) => m.patternData.title === 'Tool Bash failed');
  assert.equal(failedMemory.patternData.domain, 'tools');
  assert.equal(failedMemory.patternData.source.task_id, 'sess-1');
  assert.equal(failedMemory.patternData.source.agent_id, 'dev');
  assert.match(failedMemory.patternData.content, /exit code 2/);

  // Verification errors fail closed, or open when asked; without policies there is no opinion.
  const broken = { resource: () => { throw new Error('no resource'); } };
  const closed = await bridge.hooks(broken).PreToolUse[0].hooks[0](read, read.tool_use_id, { signal });
  assert.equal(closed.hookSpecificOutput.permissionDecision, 'deny');
  assert.match(closed.hookSpecificOutput.permissionDecisionReason, /no resource/);
  assert.deepEqual(await bridge.hooks({ ...broken, failOpen: true }).PreToolUse[0].hooks[0](read, read.tool_use_id, { signal }), {});
  const bare = new AgenticFlowBridge({});
  const bareHooks = bare.hooks({ matcher: 'Bash' });
  assert.equal(bareHooks.PreToolUse[0].matcher, 'Bash');
  assert.deepEqual(await bareHooks.PreToolUse[0].hooks[0](rm, rm.tool_use_id, { signal }), {});
  await bare.close();
  await sys.close();
});

test('canonicalJson sorts keys at every level', () => {
  assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: null }), '{"a":null,"b":[{"c":2,"d":1}]}');
});

test('canonicalJson: equal texts exactly for equal JSON values; what JSON cannot carry is refused, not mapped onto a string', () => {
  // The defect: NaN, BigInt, undefined, functions and cycles were mapped onto strings or null, so
  // `canonicalJson(NaN) === canonicalJson("NaN")` and two different votes could agree.
  for (const bad of [NaN, Infinity, -Infinity, 10n, undefined, () => 1, Symbol('s'), { a: NaN }, [1, 2n], { f() {} }.f]) {
    assert.throws(() => canonicalJson(bad), (e) => e.code === 'ERR_INVALID_INPUT', `refuses ${String(bad)}`);
  }
  const cyc = { a: 1 };
  cyc.self = cyc;
  assert.throws(() => canonicalJson(cyc), (e) => e.code === 'ERR_INVALID_INPUT' && /cycle/.test(e.message));
  // Brute force over a seeded family of values: canonical texts are equal exactly when the values
  // are deeply equal up to key order (the oracle is assert.deepStrictEqual on parsed values).
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const leaf = () => [null, true, false, 0, 1, -1, 0.5, 1e21, 'a', 'b', '1', 'null', 'NaN', ''][Math.floor(rnd() * 14)];
  const gen = (d) => {
    const r = rnd();
    if (d <= 0 || r < 0.4) return leaf();
    if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 3) }, () => gen(d - 1));
    const o = {};
    for (const k of ['x', 'y', 'z'].filter(() => rnd() < 0.5)) o[k] = gen(d - 1);
    return o;
  };
  const shuffled = (v) => {
    if (Array.isArray(v)) return v.map(shuffled);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).reverse().map((k) => [k, shuffled(v[k])]));
    return v;
  };
  const values = Array.from({ length: 300 }, () => gen(3));
  let equalPairs = 0;
  let distinctPairs = 0;
  for (let i = 0; i < values.length; i++) {
    assert.equal(canonicalJson(shuffled(values[i])), canonicalJson(values[i]));
    assert.deepStrictEqual(JSON.parse(canonicalJson(values[i])), values[i]);
    for (let j = i + 1; j < values.length; j++) {
      let deepEqual = true;
      try {
        assert.deepStrictEqual(values[i], values[j]);
      } catch {
        deepEqual = false;
      }
      assert.equal(canonicalJson(values[i]) === canonicalJson(values[j]), deepEqual, `${JSON.stringify(values[i])} vs ${JSON.stringify(values[j])}`);
      if (deepEqual) equalPairs++;
      else distinctPairs++;
    }
  }
  assert.ok(equalPairs > 10 && distinctPairs > 1000, `both outcomes exercised: ${equalPairs} equal, ${distinctPairs} distinct`);
  // Typed arrays are sequences of numbers, like the arrays they hold.
  assert.equal(canonicalJson({ v: Float32Array.of(0.5, 1) }), '{"v":[0.5,1]}');
});

test('a swarm vote JSON cannot carry does not count (it agreed with nothing before: NaN matched "NaN")', async () => {
  const sys = await LeanAgenticSystem.open({ path: ':memory:' });
  const voter = (id, vote) => ({ id, name: id, type: 'voter', capabilities: [], config: {}, execute: async () => ({ success: true, vote }) });
  const bridge = new AgenticFlowBridge({ system: sys, agents: [voter('a', NaN), voter('b', 'NaN'), voter('c', 'NaN'), voter('d', 5n)] });
  const r = await bridge.createSwarm(['a', 'b', 'c', 'd'], { action: 'solve' }, {}, { consensus: 'majority' });
  const by = Object.fromEntries(r.votes.map((v) => [v.agentId, v]));
  assert.equal(by.a.status, 'failed');
  assert.match(by.a.error, /vote .*NaN/);
  assert.equal(by.d.status, 'failed');
  assert.equal(by.a.agreed, false);
  assert.equal(r.winner, 'NaN');
  assert.equal(r.agreement, 1, 'only b and c voted');
  await bridge.close();
  await sys.close();
});

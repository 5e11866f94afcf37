// What the console reads of the engine besides steps: `rankActions` (a dry run of the choice —
// nothing may change), the `driftAlarm` flag on the step whose reward fired the detector, and
// `bank.recent`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMemory, rejectsWithCode } from './helpers.mjs';

const POLICIES = `
@id("all") permit(principal, action, resource);
@id("no-delete") forbid(principal, action == Action::"delete_file", resource);`;

async function system() {
  const sys = await openMemory({ seed: 11, policies: POLICIES });
  sys.registerAction({ name: 'read_file', description: 'Read a file', keywords: ['file', 'read'] });
  sys.registerAction({ name: 'delete_file', description: 'Delete a file', keywords: ['file', 'delete'] });
  sys.registerAction({ name: 'summarize', description: 'Summarize a file', keywords: ['file', 'summary'], preconditions: ['file_read'] });
  sys.createContext('s');
  return sys;
}

test('rankActions ranks the runnable plans with the verifier and changes nothing', async (t) => {
  const sys = await system();
  t.after(() => sys.close());
  // What a step changes: counters, learner, journal, graph, history. (The decision cache may keep
  // the verifications, as any verifyAction does.)
  const snapshot = async () => {
    const s = await sys.stats();
    return {
      steps: [s.totalActions, s.successfulActions, s.deniedActions, s.learningIterations, s.averageReward],
      learner: [s.learner.iterations, s.learner.averageReward, s.learner.driftEvents, s.learner.explorationRateObserved],
      journal: sys.journalCount(),
      graph: sys.knowledge.stats(),
      history: sys.history('s').length,
    };
  };
  const before = await snapshot();
  const r = sys.rankActions('delete or read the file report.txt from Alice Smith', 's');
  assert.equal(r.sessionId, 's');
  const names = r.candidates.map((c) => c.action).sort();
  assert.deepEqual(names, ['delete_file', 'read_file']);
  const del = r.candidates.find((c) => c.action === 'delete_file');
  assert.equal(del.decision, 'deny');
  assert.match(del.reasons[0], /no-delete/);
  assert.equal(r.masked, true, 'safe exploration applies (exploration is never spent on the denied action)');
  assert.ok(Math.abs(r.candidates.reduce((s, c) => s + c.probability, 0) - 1) < 1e-9);
  assert.ok(r.candidates[0].probability >= r.candidates[1].probability, 'most probable first');
  assert.deepEqual(r.blocked.map((b) => [b.action, b.missing]), [['summarize', ['file_read']]]);
  assert.deepEqual(await snapshot(), before, 'no step, no learning, no graph change');
  // The ranking is the distribution the next step draws from.
  const step = await sys.processChunk('delete or read the file report.txt from Alice Smith', 's');
  const ranked = r.candidates.find((c) => c.action === step.action.actionType);
  assert.ok(Math.abs(step.propensity - ranked.probability) < 1e-9, `${step.propensity} vs ${ranked.probability}`);
  assert.equal(step.verification.decision, ranked.decision);
});

test('rankActions: bad input is a coded error', async (t) => {
  const sys = await system();
  t.after(() => sys.close());
  await rejectsWithCode(async () => sys.rankActions('', 's'), 'ERR_EMPTY_CHUNK');
  await rejectsWithCode(async () => sys.rankActions('hello', 'nobody'), 'ERR_UNKNOWN_SESSION');
  await rejectsWithCode(async () => sys.rankActions(42, 's'), 'ERR_INVALID_INPUT');
});

test('driftAlarm marks the step whose reward fired the drift detector, and only those', async (t) => {
  const sys = await openMemory({ seed: 5 });
  t.after(() => sys.close());
  let reward = 1;
  sys.registerAction({ name: 'work', description: 'work', keywords: ['work'], handler: () => ({ success: true, reward }) });
  sys.createContext('d');
  const alarms = [];
  for (let i = 0; i < 400; i++) {
    if (i === 200) reward = -1;
    const r = await sys.processChunk(`work item ${i % 7}`, 'd');
    if (r.driftAlarm) alarms.push(i);
    else assert.equal('driftAlarm' in r, false, 'serialised only when true');
  }
  assert.ok(alarms.length >= 1, 'the change of rewards raised an alarm');
  assert.ok(alarms.every((i) => i >= 200), `no alarm before the change: ${alarms}`);
  assert.equal((await sys.stats()).learner.driftEvents, alarms.length, 'one flagged step per alarm');
});

test('bank.recent lists the newest memories first', async (t) => {
  const sys = await openMemory();
  t.after(() => sys.close());
  assert.deepEqual(sys.bank.recent(), []);
  for (let i = 0; i < 5; i++) sys.bank.store({ title: `m${i}` });
  assert.deepEqual(sys.bank.recent(3).map((m) => m.title), ['m4', 'm3', 'm2']);
  assert.equal(sys.bank.recent(1000).length, 5);
  for (const bad of [0, 1001, 1.5, '3']) assert.throws(() => sys.bank.recent(bad), (e) => e.code === 'ERR_INVALID_INPUT');
});

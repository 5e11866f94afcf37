// Input limits: no policy, schema, entity, rule or config text can crash the process; every one
// is parsed or answered with a coded error that names the limit. Each risky input runs in a
// child process whose exit status is asserted, so a regression fails a test instead of killing
// the test runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

// Must match src/reasoning/policy/nesting.rs, hierarchy.rs and src/error.rs.
const MAX_POLICY_NESTING = 100;
const MAX_TEXT_NESTING = 1000;
const MAX_SCHEMA_NESTING = 64;
const MAX_HIERARCHY_LINKS = 2000000;
const MAX_JSON_NESTING = 128;

/**
 * Runs `body` (the source of an async function of the library) in a child Node process and
 * returns `{ status, signal, out }` where `out` is `{ ok, result }` or `{ ok: false, code,
 * message }`.
 */
function inChild(body) {
  const script = `
    import { createRequire } from 'node:module';
    const lib = createRequire(import.meta.url)(${JSON.stringify(DIST)});
    const policy = (cond) => 'permit(principal, action, resource) when { ' + cond + ' };';
    try {
      const result = await (${body})(lib, policy);
      console.log(JSON.stringify({ ok: true, result }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, code: e.code ?? null, message: String(e.message) }));
    }
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 180_000,
    maxBuffer: 64 << 20,
  });
  const lines = (child.stdout ?? '').trim().split('\n');
  let out = null;
  try {
    out = JSON.parse(lines[lines.length - 1]);
  } catch {
    // Left null: the assertions below report the child's stderr.
  }
  return { status: child.status, signal: child.signal, out, stderr: child.stderr };
}

/** Asserts the child exited normally with a coded error whose message matches `pattern`. */
function assertCoded(run, code, pattern) {
  assert.equal(run.signal, null, `the child was killed by ${run.signal}: ${run.stderr.slice(-2000)}`);
  assert.equal(run.status, 0, `the child exited with ${run.status}: ${run.stderr.slice(-2000)}`);
  assert.ok(run.out, `no result line: ${run.stderr.slice(-2000)}`);
  assert.equal(run.out.ok, false, `expected ${code}, got a result: ${JSON.stringify(run.out).slice(0, 300)}`);
  assert.equal(run.out.code, code, run.out.message);
  assert.match(run.out.message, pattern);
}

/** Asserts the child exited normally with a result, and returns it. */
function assertOk(run) {
  assert.equal(run.signal, null, `the child was killed by ${run.signal}: ${run.stderr.slice(-2000)}`);
  assert.equal(run.status, 0, `the child exited with ${run.status}: ${run.stderr.slice(-2000)}`);
  assert.ok(run.out, `no result line: ${run.stderr.slice(-2000)}`);
  assert.equal(run.out.ok, true, `unexpected error: ${JSON.stringify(run.out).slice(0, 500)}`);
  return run.out.result;
}

// The inputs of issue #14 that killed Node with SIGSEGV (600 parentheses now parse: they do not
// nest the expression, and the parser thread has room for them; 5000 do not).
test('loadPolicies: parentheses 600 deep parse and evaluate; 5000 deep are refused', () => {
  const run = inChild(`async ({ LeanAgenticSystem }, policy) => {
    const sys = await LeanAgenticSystem.open({ path: ':memory:' });
    sys.loadPolicies(policy('('.repeat(600) + 'true' + ')'.repeat(600)));
    return sys.verifyAction({ name: 'x' }, { agentId: 'a' }).decision;
  }`);
  assert.equal(assertOk(run), 'allow');
  const deeper = inChild(`async ({ LeanAgenticSystem }, policy) => {
    const sys = await LeanAgenticSystem.open({ path: ':memory:' });
    return sys.loadPolicies(policy('('.repeat(5000) + 'true' + ')'.repeat(5000)));
  }`);
  assertCoded(deeper, 'ERR_POLICY_PARSE', new RegExp(`more than ${MAX_TEXT_NESTING} levels`));
});

const DEEP_POLICIES = {
  '[ x 1000': `policy('['.repeat(1000) + '1' + ']'.repeat(1000) + '.contains(1)')`,
  'if true then x 5000': `policy('if true then '.repeat(5000) + 'true' + ' else false'.repeat(5000))`,
  '.a x 5000 after context': `policy('context' + '.a'.repeat(5000) + ' == 1')`,
  'true && x 100,000': `policy('true && '.repeat(100000) + 'true')`,
};

for (const [name, text] of Object.entries(DEEP_POLICIES)) {
  test(`loadPolicies: ${name} is refused with ERR_POLICY_PARSE, the process survives`, () => {
    const run = inChild(`async ({ LeanAgenticSystem }, policy) => {
      const sys = await LeanAgenticSystem.open({ path: ':memory:' });
      return sys.loadPolicies(${text});
    }`);
    assertCoded(run, 'ERR_POLICY_PARSE', /nests|limit/);
    assert.match(run.out.message, new RegExp(`${MAX_TEXT_NESTING}|${MAX_POLICY_NESTING}`));
  });
}

test('open({ policies }) with deep nesting is refused with ERR_POLICY_PARSE', () => {
  const run = inChild(`async ({ LeanAgenticSystem }, policy) =>
    LeanAgenticSystem.open({ path: ':memory:', policies: policy('('.repeat(5000) + 'true' + ')'.repeat(5000)) })`);
  assertCoded(run, 'ERR_POLICY_PARSE', new RegExp(`more than ${MAX_TEXT_NESTING} levels`));
});

// `if true then` nested k times around `true` nests k + 1 levels.
const ifNest = (k, inner = 'true') => `'if true then '.repeat(${k}) + '${inner}' + ' else false'.repeat(${k})`;

test('the deepest accepted policy loads and evaluates via verifyAction, processChunk and batches', () => {
  // `context.params.text like "note*"` nests 4 levels, so this policy nests exactly the limit. It
  // reads the step's text, so every step below is evaluated (no cached decision), and the large
  // batch runs on the session's batch thread.
  const run = inChild(`async ({ LeanAgenticSystem }, policy) => {
    const sys = await LeanAgenticSystem.open({ path: ':memory:', seed: 1 });
    const info = sys.loadPolicies('@id("deep") ' + policy(${ifNest(MAX_POLICY_NESTING - 4, 'context.params.text like \\"note*\\"')}));
    const v = sys.verifyAction({ name: 'note', params: { text: 'note a' } }, { agentId: 'a' });
    const no = sys.verifyAction({ name: 'note', params: { text: 'other' } }, { agentId: 'a' });
    sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
    const ctx = sys.createContext('s', { agentId: 'a' });
    const step = await sys.processChunk('note this down', ctx);
    const batch = await sys.processBatch(Array.from({ length: 600 }, (_, i) => 'note this ' + i), ctx, { detail: 'summary' });
    await sys.close();
    return { ids: info.policyIds, v: { decision: v.decision, errors: v.errors }, no: no.decision,
             step: { decision: step.verification.decision, errors: step.verification.errors },
             batch: batch.map((s) => s.verified) };
  }`);
  const r = assertOk(run);
  assert.deepEqual(r.ids, ['deep']);
  assert.deepEqual(r.v, { decision: 'allow', errors: [] });
  assert.equal(r.no, 'deny');
  assert.deepEqual(r.step, { decision: 'allow', errors: [] });
  assert.equal(r.batch.length, 600);
  assert.ok(r.batch.every((verified) => verified === true), 'every batch step was verified (evaluated without error)');
});

test('one level deeper than the limit is refused with a message naming the limit', () => {
  const run = inChild(`async ({ LeanAgenticSystem }, policy) => {
    const sys = await LeanAgenticSystem.open({ path: ':memory:' });
    return sys.loadPolicies('@id("too-deep") ' + policy(${ifNest(MAX_POLICY_NESTING)}));
  }`);
  assertCoded(
    run,
    'ERR_POLICY_PARSE',
    new RegExp(`policy "too-deep" nests expressions ${MAX_POLICY_NESTING + 1} levels deep, over the limit of ${MAX_POLICY_NESTING}`),
  );
});

test('schemas nested too deeply are refused (Cedar and JSON syntax)', () => {
  for (const schema of [
    `'entity A { a: ' + 'Set<'.repeat(20000) + 'Long' + '>'.repeat(20000) + ' }; action x appliesTo { principal: A, resource: A };'`,
    `'entity A { a: ' + '{ b: '.repeat(20000) + 'Long' + ' }'.repeat(20000) + ' }; action x appliesTo { principal: A, resource: A };'`,
    `'{"": {"entityTypes": {"A": {"shape": ' + '{"type": "Record", "attributes": {"a": '.repeat(5000) + '{"type": "Long"}' + '}}'.repeat(5000) + '}}, "actions": {}}}'`,
  ]) {
    const run = inChild(`async ({ LeanAgenticSystem }, policy) => {
      const sys = await LeanAgenticSystem.open({ path: ':memory:' });
      return sys.loadPolicies(policy('true'), ${schema});
    }`);
    assertCoded(run, 'ERR_POLICY_PARSE', new RegExp(`more than ${MAX_SCHEMA_NESTING} brackets deep`));
  }
});

test('schemas with action-group or entity-type chains past the link bound are refused quickly', () => {
  // A 3000-deep action chain took Cedar ~30 s (release build) before the bound; 10,000 did not finish.
  const run = inChild(`async ({ LeanAgenticSystem }, policy) => {
    const sys = await LeanAgenticSystem.open({ path: ':memory:' });
    const lines = ['entity A;', 'action a0;'];
    for (let i = 1; i < 10000; i += 1) lines.push('action a' + i + ' in [a' + (i - 1) + '];');
    return sys.loadPolicies(policy('true'), lines.join('\\n'));
  }`);
  assertCoded(run, 'ERR_POLICY_PARSE', new RegExp(`action hierarchy .* more than ${MAX_HIERARCHY_LINKS}`));
});

test('entities: deep attribute values, deep parent chains and cycles get coded errors', () => {
  const deepValue = inChild(`async ({ LeanAgenticSystem }) => {
    const sys = await LeanAgenticSystem.open({ path: ':memory:' });
    return sys.setEntities('[{"uid": {"type": "A", "id": "a"}, "attrs": {"x": ' + '['.repeat(100000) + ']'.repeat(100000) + '}, "parents": []}]');
  }`);
  assertCoded(deepValue, 'ERR_INVALID_JSON', new RegExp(`more than ${MAX_JSON_NESTING} arrays/objects deep`));

  const chain = inChild(`async ({ LeanAgenticSystem }) => {
    const sys = await LeanAgenticSystem.open({ path: ':memory:' });
    const n = 100000;
    const list = Array.from({ length: n }, (_, i) => ({ uid: { type: 'R', id: 'r' + i }, attrs: {},
      parents: i + 1 < n ? [{ type: 'R', id: 'r' + (i + 1) }] : [] }));
    const t = Date.now();
    try { return sys.setEntities(list); } finally { console.error('setEntities took', Date.now() - t, 'ms'); }
  }`);
  assertCoded(chain, 'ERR_POLICY_PARSE', new RegExp(`more than ${MAX_HIERARCHY_LINKS} \\(entity, ancestor\\) links`));

  const cycle = inChild(`async ({ LeanAgenticSystem }) => {
    const sys = await LeanAgenticSystem.open({ path: ':memory:' });
    const n = 100000;
    return sys.setEntities(Array.from({ length: n }, (_, i) => ({ uid: { type: 'R', id: 'r' + i }, attrs: {},
      parents: [{ type: 'R', id: 'r' + ((i + 1) % n) }] })));
  }`);
  assertCoded(cycle, 'ERR_POLICY_PARSE', /is its own ancestor/);

  const viaOpen = inChild(`async ({ LeanAgenticSystem }) => {
    const n = 5000;
    return LeanAgenticSystem.open({ path: ':memory:', entities: Array.from({ length: n }, (_, i) => ({ uid: { type: 'R', id: 'r' + i }, attrs: {},
      parents: i + 1 < n ? [{ type: 'R', id: 'r' + (i + 1) }] : [] })) });
  }`);
  assertCoded(viaOpen, 'ERR_POLICY_PARSE', /entity hierarchy is too large/);
});

test('a deep config object is refused with ERR_INVALID_CONFIG', () => {
  for (const key of ['learner', 'bank', 'entities']) {
    const run = inChild(`async ({ LeanAgenticSystem }) => {
      let deep = {};
      for (let i = 0; i < 1000; i += 1) deep = { a: deep };
      return LeanAgenticSystem.open({ path: ':memory:', ${key}: deep });
    }`);
    // The JS API refuses values nested more than 64 levels before they cross (json_input.ts);
    // JSON text is bounded natively at MAX_JSON_NESTING.
    assertCoded(run, 'ERR_INVALID_CONFIG', new RegExp(`nested more than 64 levels deep|more than ${MAX_JSON_NESTING} arrays/objects deep`));
  }
});

test('rules, facts, goals and proofs: hostile text gets ERR_RULE_PARSE / coded errors', () => {
  const run = inChild(`async ({ LeanAgenticSystem }) => {
    const sys = await LeanAgenticSystem.open({ path: ':memory:' });
    const codes = [];
    const tryIt = (f) => { try { f(); codes.push('ok'); } catch (e) { codes.push(e.code ?? 'UNCODED ' + e.message); } };
    tryIt(() => sys.addRule('p(X) :- ' + 'q(X), '.repeat(50000) + 'q(X).'));
    tryIt(() => sys.addRule('p(' + '('.repeat(100000) + 'X).'));
    tryIt(() => sys.assertFact('p(' + 'a, '.repeat(100000) + 'a)'));
    tryIt(() => sys.assertFact('"'.repeat(100001)));
    tryIt(() => sys.proveTheorem('p(' + '('.repeat(100000) + ')'));
    tryIt(() => sys.proveTheorem('q(a)', { premises: ['q(' + '['.repeat(100000) + ')'] }));
    const proof = LeanAgenticSystem.checkProof('{"rule": ' + '['.repeat(100000) + ']'.repeat(100000) + '}', 'p(a).', 'p(a).');
    await sys.close();
    return { codes, proof };
  }`);
  const { codes, proof } = assertOk(run);
  assert.deepEqual(codes, ['ok', 'ERR_RULE_PARSE', 'ok', 'ERR_RULE_PARSE', 'ERR_RULE_PARSE', 'ERR_RULE_PARSE']);
  assert.equal(proof.valid, false);
  assert.match(proof.reason, /proof JSON does not parse/);
});

test('learner.hashBits 10 and 11 open on their own (the session model follows them)', async () => {
  const { LeanAgenticSystem } = await import('./helpers.mjs');
  for (const hashBits of [10, 11, 26]) {
    const sys = await LeanAgenticSystem.open({ path: ':memory:', learner: { hashBits } });
    await sys.close();
  }
  await assert.rejects(
    LeanAgenticSystem.open({ path: ':memory:', learner: { hashBits: 10, sessionHashBits: 11 } }),
    (e) => e.code === 'ERR_INVALID_CONFIG' && /sessionHashBits must be in 6\.\.=hashBits \(10\), got 11/.test(e.message),
  );
});

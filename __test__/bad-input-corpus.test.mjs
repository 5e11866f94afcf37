// The standing bad-input corpus (issue #14): every public method, each argument replaced in
// turn by ~40 hostile values, in a child process per seed. The child must exit normally (no
// crash, whatever the input), every failure must be a coded error with a message (never an
// uncoded TypeError, never ERR_INTERNAL), and no input may pollute Object.prototype.
// `npm run fuzz` runs more seeds (CORPUS_SEEDS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const driver = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'bad_input_corpus.mjs');
const seeds = (process.env.CORPUS_SEEDS ?? '1,2').split(',').map(Number);

for (const seed of seeds) {
  test(`hostile inputs to the whole JS API get coded errors and never crash the process (seed ${seed})`, () => {
    const child = spawnSync(process.execPath, [driver, String(seed)], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(child.signal, null, `the child was killed by ${child.signal}: ${child.stderr.slice(-2000)}`);
    assert.equal(child.status, 0, `the child exited with ${child.status}: ${child.stderr.slice(-2000)}`);
    const summary = JSON.parse(child.stdout.trim().split('\n').at(-1));
    console.log(`corpus seed ${seed}: ${summary.cases} cases, ${summary.ok} ok, ${summary.coded} coded errors, ${summary.uncoded} uncoded`, JSON.stringify(summary.byCode));
    assert.ok(summary.cases >= 2000, `only ${summary.cases} cases`);
    assert.equal(summary.uncoded, 0, `uncoded failures:\n${summary.uncodedCases.join('\n')}`);
    assert.equal(summary.polluted, false, 'Object.prototype was polluted');
  });
}

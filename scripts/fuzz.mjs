#!/usr/bin/env node
// `npm run fuzz`: the long runs of the standing fuzz and fault suite (issue #14), each a longer
// version of a test that `npm test` runs briefly. Seeds are printed, so a failure reproduces.
//
//   1. parser fuzz (proptest): policies, schemas, entities, rules, configs — nested near and past
//      the limits — parse or get a coded error, never crash (tests/parser_fuzz.rs);
//   2. verification soundness against cedar-wasm on random policies and histories
//      (__test__/soundness-property.test.mjs);
//   3. the bad-input corpus over the whole JS API, many seeds (__test__/bad-input-corpus.test.mjs);
//   4. SIGKILL crash safety and two writers with agentic-flow on one file
//      (__test__/crash-safety.test.mjs, __test__/bank-two-writers.test.mjs).
//
// Knobs (environment): PROPTEST_CASES (5000 per target), PARSER_FUZZ_SEED (random),
// SOUNDNESS_CASES (600 policy sets × 60 steps), SOUNDNESS_SEED (random), CORPUS_SEEDS (1..10),
// LA_FAULT_KILLS (40), LA_FAULT_ROWS (5000). FUZZ_ONLY=parser,soundness,corpus,faults picks some.
'use strict';

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = (process.env.FUZZ_ONLY ?? 'parser,soundness,corpus,faults').split(',');
const seed = () => String(Math.floor(Math.random() * 2 ** 31));

const runs = [
  {
    name: 'parser',
    cmd: 'cargo',
    args: ['test', '--profile', 'bench', '--test', 'parser_fuzz', '--', '--nocapture'],
    env: { PROPTEST_CASES: process.env.PROPTEST_CASES ?? '5000', PARSER_FUZZ_SEED: process.env.PARSER_FUZZ_SEED ?? 'random' },
  },
  {
    name: 'soundness',
    cmd: process.execPath,
    args: ['--test', '__test__/soundness-property.test.mjs'],
    env: { SOUNDNESS_CASES: process.env.SOUNDNESS_CASES ?? '600', SOUNDNESS_SEED: process.env.SOUNDNESS_SEED ?? seed() },
  },
  {
    name: 'corpus',
    cmd: process.execPath,
    args: ['--test', '__test__/bad-input-corpus.test.mjs'],
    env: { CORPUS_SEEDS: process.env.CORPUS_SEEDS ?? '1,2,3,4,5,6,7,8,9,10' },
  },
  {
    name: 'faults',
    cmd: process.execPath,
    args: ['--test', '--test-concurrency=1', '__test__/crash-safety.test.mjs', '__test__/bank-two-writers.test.mjs'],
    env: { LA_FAULT_LONG: '1' },
  },
];

let failed = 0;
for (const r of runs.filter((r) => only.includes(r.name))) {
  const started = Date.now();
  console.log(`\n== fuzz: ${r.name} ${JSON.stringify(r.env)}`);
  const out = spawnSync(r.cmd, r.args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...r.env } });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const ok = out.status === 0;
  if (!ok) failed += 1;
  console.log(`== fuzz: ${r.name} ${ok ? 'passed' : `FAILED (exit ${out.status}, signal ${out.signal})`} in ${secs} s`);
}
process.exit(failed ? 1 : 0);

// Learning benchmark (issue #18): our learner against Vowpal Wabbit on the same simulated streams.
//
//   npm run bench:learning [-- --seeds 5] [--kinds stationary,abrupt,...] [--length 6000]
//                          [--config '{"learningRate":0.3}'] [--no-vw] [--sweep] [--safe]
//
// Streams come from `streams.mjs` (seeded); our side runs them through `processChunk` with JS
// handlers (`ours.mjs`), VW 9.11.9 (`--cb_explore_adf --epsilon 0.05 -q sa`, `vw_side.py`) runs
// the very same chunks and reward draws in a Python process at the same time. VW comes from PyPI
// into `.venv-learning/` (created on first use). Prints per stream kind and seed the average reward
// (the draws earned, and the expected reward of the choices), the first 500 chunks after a change,
// and the per-500 curves; writes everything to `bench-results-learning.json`.
//
// `--sweep` runs our side only, on the abrupt stream, for learning rates 0.01 … 1 (robustness).
// `--safe` runs our side only on the stationary and many-action streams with guardrails (about
// half of each intent's non-best actions forbidden by Cedar policies, `streams.mjs` guardrails()),
// safe exploration on against off: the reward earned (a denied step earns nothing) and the
// steps denied.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KINDS, generate, guardrails, summarize } from './streams.mjs';
import { runOurs } from './ours.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const SEEDS = Number(opt('seeds', 5));
const LENGTH = Number(opt('length', 6000));
const KIND_LIST = opt('kinds', KINDS.join(',')).split(',');
const CONFIG = JSON.parse(opt('config', '{}'));
const NO_VW = args.includes('--no-vw') || args.includes('--sweep') || args.includes('--safe');
const SWEEP = args.includes('--sweep');
const SAFE = args.includes('--safe');

/** The venv's Python with vowpalwabbit 9.11.9, created on first use. */
function vwPython() {
  const venv = path.join(root, '.venv-learning');
  const py = path.join(venv, 'bin', 'python');
  const ok = () => fs.existsSync(py) && spawnSync(py, ['-c', 'import vowpalwabbit'], { stdio: 'ignore' }).status === 0;
  if (!ok()) {
    console.error('installing vowpalwabbit 9.11.9 into .venv-learning/ (PyPI) ...');
    const mk = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    if (mk.status !== 0) throw new Error('python3 -m venv failed: install python3 with venv support');
    const pip = spawnSync(py, ['-m', 'pip', 'install', '-q', '-r', path.join(here, 'requirements.txt')], { stdio: 'inherit' });
    if (pip.status !== 0 || !ok()) throw new Error('pip install vowpalwabbit failed');
  }
  return py;
}

/** Runs VW on `streams` in a child process; resolves to its choices by `${kind}/${seed}`. */
function runVw(streams) {
  const py = vwPython();
  return new Promise((resolve, reject) => {
    const child = spawn(py, [path.join(here, 'vw_side.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`vw_side.py exited ${code}`));
      const byKey = new Map();
      for (const line of out.split('\n')) {
        if (!line.trim()) continue;
        const r = JSON.parse(line);
        byKey.set(`${r.kind}/${r.seed}`, r.choices);
      }
      resolve(byKey);
    });
    for (const s of streams) child.stdin.write(JSON.stringify(s) + '\n');
    child.stdin.end();
  });
}

const f3 = (x) => (x == null || Number.isNaN(x) ? '—' : x.toFixed(3));
const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function sweep() {
  const rates = [0.01, 0.03, 0.1, 0.3, 1];
  const streams = Array.from({ length: SEEDS }, (_, i) => generate('abrupt', i + 1, LENGTH));
  const rows = [];
  for (const learningRate of rates) {
    const per = [];
    for (const s of streams) per.push(summarize(s, await runOurs(s, { ...CONFIG, learningRate })));
    rows.push({ learningRate, average: avg(per.map((p) => p.average)), expected: avg(per.map((p) => p.expected)), perSeed: per.map((p) => p.average) });
    console.log(`learningRate ${String(learningRate).padEnd(5)} average ${f3(rows.at(-1).average)} expected ${f3(rows.at(-1).expected)} (seeds ${per.map((p) => f3(p.average)).join(' ')})`);
  }
  const best = Math.max(...rows.map((r) => r.expected));
  console.log(`worst setting ${f3(Math.min(...rows.map((r) => r.expected)))} vs best ${f3(best)} (expected reward; gap ${f3(best - Math.min(...rows.map((r) => r.expected)))})`);
  return { sweep: rows };
}

async function safe() {
  const out = {};
  for (const kind of ['stationary', 'many']) {
    const rows = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const s = generate(kind, seed, LENGTH);
      const { policies } = guardrails(s);
      const on = summarize(s, await runOurs(s, { ...CONFIG, policies, safeExploration: true }));
      const off = summarize(s, await runOurs(s, { ...CONFIG, policies, safeExploration: false }));
      rows.push({ seed, on: { average: on.average, expected: on.expected, denied: on.denied }, off: { average: off.average, expected: off.expected, denied: off.denied } });
      console.log(`${kind} seed ${seed}: safe exploration on ${f3(on.average)} (${on.denied} denied) / off ${f3(off.average)} (${off.denied} denied)  gain ${f3(on.average - off.average)}`);
    }
    const m = (sel, k) => avg(rows.map((r) => r[sel][k]));
    console.log(`${kind} mean: on ${f3(m('on', 'average'))} / off ${f3(m('off', 'average'))}, gain ${f3(m('on', 'average') - m('off', 'average'))}; denied steps ${m('on', 'denied')} vs ${m('off', 'denied')} per stream`);
    out[kind] = rows;
  }
  return { safe: out };
}

async function main() {
  const started = new Date().toISOString();
  const load = os.loadavg();
  const results = { started, machine: { cpus: os.cpus().length, loadavg: load, node: process.version }, length: LENGTH, config: CONFIG };
  if (SWEEP) {
    Object.assign(results, await sweep());
  } else if (SAFE) {
    Object.assign(results, await safe());
  } else {
    const streams = [];
    for (const kind of KIND_LIST) for (let seed = 1; seed <= SEEDS; seed++) streams.push(generate(kind, seed, LENGTH));
    const vw = NO_VW ? null : runVw(streams);
    const ours = new Map();
    for (const s of streams) ours.set(`${s.kind}/${s.seed}`, await runOurs(s, CONFIG));
    const vwChoices = vw ? await vw : null;
    results.kinds = {};
    for (const kind of KIND_LIST) {
      const rows = [];
      for (const s of streams.filter((x) => x.kind === kind)) {
        const key = `${kind}/${s.seed}`;
        rows.push({ seed: s.seed, ours: summarize(s, ours.get(key)), vw: vwChoices ? summarize(s, vwChoices.get(key)) : null });
      }
      results.kinds[kind] = rows;
      console.log(`\n${kind} (${LENGTH} chunks, ${streams.find((x) => x.kind === kind).actions.length} actions; oracle ${f3(avg(rows.map((r) => r.ours.oracle)))}, uniform ${f3(avg(rows.map((r) => r.ours.uniform)))})`);
      console.log('seed  ours    vw      diff    | expected ours/vw | first 500 after change ours/vw');
      for (const r of rows) {
        const d = r.vw ? r.ours.average - r.vw.average : NaN;
        console.log(`${String(r.seed).padEnd(5)} ${f3(r.ours.average)}   ${f3(r.vw?.average)}   ${d >= 0 ? '+' : ''}${f3(d)}  | ${f3(r.ours.expected)} / ${f3(r.vw?.expected)} | ${f3(r.ours.afterChange500)} / ${f3(r.vw?.afterChange500)}`);
      }
      const mo = avg(rows.map((r) => r.ours.average));
      const mv = rows.every((r) => r.vw) ? avg(rows.map((r) => r.vw.average)) : NaN;
      console.log(`mean  ${f3(mo)}   ${f3(mv)}   ${mo - mv >= 0 ? '+' : ''}${f3(mo - mv)}`);
      console.log(`curve ours ${rows[0].ours.curve.map(f3).join(' ')}`);
      if (rows[0].vw) console.log(`curve vw   ${rows[0].vw.curve.map(f3).join(' ')}`);
    }
  }
  results.loadAfter = os.loadavg();
  fs.writeFileSync(path.join(root, 'bench-results-learning.json'), JSON.stringify(results, null, 1));
  console.log(`\n${started}, ${os.cpus().length} cores, load ${load.map((x) => x.toFixed(2)).join(' ')} → ${results.loadAfter.map((x) => x.toFixed(2)).join(' ')}; results in bench-results-learning.json`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

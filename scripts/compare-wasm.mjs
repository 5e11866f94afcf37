#!/usr/bin/env node
// `npm run bench:wasm`: the WebAssembly fallback's speed against the native addon on the same
// cases of benches/bench.mjs (`--case <name> --quick`, each in a process of its own), printed as
// a table with the WASM/native ratio. Both builds must exist: the native one is npm/<platform>/'s
// binary when `npm run build:platforms` built it (a release build), else this checkout's own
// `lean-agentic-native.<platform>.node` (make sure that is a release build: `npm run build:native`);
// the WASM one is npm/wasm32-wasi/ (`npm run build:platforms -- wasm32-wasi`). The loader is
// pointed at each with NAPI_RS_NATIVE_LIBRARY_PATH.
//
//   node scripts/compare-wasm.mjs [case...]   (default: the four cases below)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { platformArchAbi } = createRequire(import.meta.url)('./source-build.js');
const CASES = ['processChunk_verified', 'processChunk_unverified', 'processBatch_single_verified', 'processBatch_100_sessions_verified'];

const host = platformArchAbi();
const shipped = path.join(root, 'npm', host, `lean-agentic-native.${host}.node`);
const local = path.join(root, `lean-agentic-native.${host}.node`);
const builds = {
  native: fs.existsSync(shipped) ? shipped : local,
  wasm: path.join(root, 'npm', 'wasm32-wasi', 'lean-agentic-native.wasi.cjs'),
};
for (const [name, file] of Object.entries(builds)) {
  if (!fs.existsSync(file)) {
    console.error(`compare-wasm: no ${name} build at ${path.relative(root, file)} (see the header of this script)`);
    process.exit(2);
  }
}

function runCase(name, binding) {
  const bench = path.join(root, 'benches', 'bench.mjs');
  const r = spawnSync(process.execPath, ['--expose-gc', '--no-warnings', bench, '--case', name, '--quick'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: binding },
    maxBuffer: 1 << 24,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('CASE '));
  if (r.status !== 0 || !line) throw new Error(`${name} on ${binding} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(5));
}

const headline = (result) =>
  'msg_per_s' in result ? { value: result.msg_per_s, unit: 'msg/s', higherIsBetter: true } : { value: result.p50_us, unit: 'µs p50', higherIsBetter: false };

console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`);
console.log(`native: ${path.relative(root, builds.native)}  wasm: ${path.relative(root, builds.wasm)}`);
for (const name of process.argv.slice(2).length ? process.argv.slice(2) : CASES) {
  const native = runCase(name, builds.native);
  const wasm = runCase(name, builds.wasm);
  const n = headline(native.result);
  const w = headline(wasm.result);
  const slower = n.higherIsBetter ? n.value / w.value : w.value / n.value;
  console.log(
    `${name}: native ${n.value} ${n.unit} (peak RSS ${(native.peakRss / 1e6).toFixed(0)} MB), ` +
      `wasm ${w.value} ${w.unit} (peak RSS ${(wasm.peakRss / 1e6).toFixed(0)} MB): WASM ${slower.toFixed(2)}× slower`,
  );
}

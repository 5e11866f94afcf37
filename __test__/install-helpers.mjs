// Shared by the install tests: a fresh project that installs packed tarballs the way a user
// without Rust does (no cargo or rustc on PATH, install scripts off), and a user program that
// exercises the engine through the public API.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** PATH without every folder that holds a Rust toolchain (`cargo` or `rustc`). */
export function pathWithoutRust() {
  const exe = process.platform === 'win32' ? '.exe' : '';
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir && !['cargo', 'rustc'].some((t) => fs.existsSync(path.join(dir, t + exe))))
    .join(path.delimiter);
}

/** An empty npm project in a new folder under `scratch`. */
export function freshProject(scratch, name = 'app') {
  const project = path.join(scratch, name);
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  return project;
}

/**
 * Installs packed packages into `project` as a user without Rust would: `dependencies` and
 * `optionalDependencies` (each `{ name, tarball }`) go into its package.json as `file:` specs,
 * then `npm install` runs with install scripts off and no Rust on PATH. Returns the wall time in
 * seconds and npm's output (stdout and stderr). `--prefer-offline`: the registry dependencies (ws,
 * eventsource-parser, the WASM runtime) come from npm's cache, which this checkout's own
 * `npm install` filled, so the time is the install's and not the network's.
 */
export function installWithoutRust(project, { dependencies = [], optionalDependencies = [] }, extraArgs = []) {
  const specs = (list) => Object.fromEntries(list.map((p) => [p.name, `file:${p.tarball}`]));
  const manifest = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8'));
  manifest.dependencies = specs(dependencies);
  manifest.optionalDependencies = specs(optionalDependencies);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(manifest, null, 2));
  const env = { ...process.env, PATH: pathWithoutRust() };
  delete env.CARGO_TARGET_DIR;
  const started = process.hrtime.bigint();
  const r = spawnSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', ...extraArgs], {
    cwd: project,
    env,
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`npm install failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { seconds, output: r.stdout + r.stderr };
}

/** Bytes on disk under `project`/node_modules/<name> for each of `names` (files' sizes). */
export function installedBytes(project, names) {
  let total = 0;
  const walk = (p) => {
    const st = fs.lstatSync(p);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    else total += st.size;
  };
  for (const name of names) walk(path.join(project, 'node_modules', name));
  return total;
}

/**
 * What a user's first program does: a chunk through the loop with its handler, verification
 * with Cedar policies (allow and deny), a 300-chunk batch (which runs on the engine's batch and
 * pipeline threads), a reasoning-bank store and retrieval, and a file store where the build
 * supports one. Prints one JSON line.
 */
export const USER_PROGRAM = `
const { LeanAgenticSystem } = require('lean-agentic-native');
const native = require('lean-agentic-native/native');
(async () => {
  const out = { binding: native.__napiBindingTarget };
  const policies = \`
    @id("notes") permit(principal, action == Action::"take_note", resource);
    @id("pay-small") permit(principal, action == Action::"pay", resource) when { context.params.amount < 1000 };\`;
  const sys = await LeanAgenticSystem.open({ path: ':memory:', policies });
  sys.registerAction({ name: 'take_note', description: 'Take a note', keywords: ['note'],
    handler: async () => ({ success: true, result: 'noted' }) });
  const ctx = sys.createContext('s1', { agentId: 'alice' });
  const step = await sys.processChunk('note that the build is green', ctx);
  out.chunk = { action: step.action.actionType, result: step.observation.result, decision: step.verification.decision };
  out.verify = [500, 5000].map((amount) => sys.verifyAction({ name: 'pay', params: { amount } }, ctx).decision);
  const batch = await sys.processBatch(Array.from({ length: 300 }, (_, i) => 'note item ' + i), sys.createContext('s2'), { detail: 'summary' });
  out.batch = batch.length;
  sys.bank.store({ title: 'Retry with backoff', description: 'HTTP 429 from the API', content: 'Wait 2^n s, max 5 tries',
    outcome: 'Success', taskId: 't-42', agentId: 'coder', tags: ['http'], domain: 'web', confidence: 0.8 });
  sys.bank.store({ title: 'Cache the token', description: 'auth is slow', content: 'Keep the bearer token for its lifetime',
    outcome: 'Success', taskId: 't-43', agentId: 'coder', tags: ['auth'], domain: 'web', confidence: 0.8 });
  out.retrieve = sys.bank.retrieve('the API says too many requests', { k: 1, domain: 'web' }).map((h) => h.memory.title);
  await sys.close();
  try {
    const file = await LeanAgenticSystem.open({ path: require('node:path').join(process.cwd(), 'data', 'store.db') });
    await file.close();
    out.fileStore = 'ok';
  } catch (e) {
    out.fileStore = { code: e.code, message: e.message };
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

/** Runs USER_PROGRAM in `project` and returns what it printed (parsed). */
export function runUserProgram(project, env = {}) {
  const printed = execFileSync(process.execPath, ['--no-warnings', '-e', USER_PROGRAM], {
    cwd: project,
    env: { ...process.env, PATH: pathWithoutRust(), ...env },
    encoding: 'utf8',
    timeout: 5 * 60 * 1000,
  });
  return JSON.parse(printed.trim().split('\n').pop());
}

/** A scratch folder removed by the returned function. */
export function scratchDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

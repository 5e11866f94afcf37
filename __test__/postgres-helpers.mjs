// The PostgreSQL server of the PostgreSQL bank's tests: `npm test` (scripts/test.mjs) starts one
// and sets LEAN_AGENTIC_PG_URL / LEAN_AGENTIC_PG_DATA. Without it the tests fail under CI and are
// skipped elsewhere (with the reason). `.ci/run` sets LEAN_AGENTIC_REQUIRE_PG=1.
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PG_URL = process.env.LEAN_AGENTIC_PG_URL;
export const PG_DATA = process.env.LEAN_AGENTIC_PG_DATA;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `test()` options: skip without a server, except under CI, where the test must fail. */
export function pgOptions(extra = {}) {
  if (PG_URL) return extra;
  if (process.env.CI || process.env.LEAN_AGENTIC_REQUIRE_PG) return extra; // runs, and fails on the missing URL
  return { ...extra, skip: 'LEAN_AGENTIC_PG_URL is not set (npm test starts a server; see README)' };
}

/** The server's URL; throws (failing the test) without one. */
export function pgUrl() {
  if (!PG_URL) throw new Error('LEAN_AGENTIC_PG_URL is not set: CI must run the PostgreSQL bank tests against a real server');
  return PG_URL;
}

let counter = 0;
/** A fresh schema name, so each test has its own empty bank. */
export function freshSchema(tag) {
  return `t_${tag}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}

/** A PostgreSQL bank config with a fresh schema. */
export function pgBank(tag, extra = {}) {
  return { url: pgUrl(), pgSchema: freshSchema(tag), ...extra };
}

/** Runs scripts/postgres.sh `command` (start, stop, restart) on the test server. */
export function serverControl(command) {
  if (!PG_DATA) throw new Error('LEAN_AGENTIC_PG_DATA is not set: cannot control the server');
  execFileSync('bash', [join(root, 'scripts/postgres.sh'), command], {
    env: { ...process.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Deterministic full-rank vectors (xorshift Gaussian-ish), so runs are reproducible. */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  return {
    next,
    gauss() {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    vector(dims) {
      return Array.from({ length: dims }, () => Math.fround(this.gauss()));
    },
  };
}

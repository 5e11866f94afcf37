/**
 * The benchmarks tab: micro-benchmarks the user starts from the page, run here through the
 * native engine on a scratch in-memory system (the live one is never touched: a benchmark must
 * not teach its learner, fill its journal or skew its counters). Each run reports a latency
 * histogram, p50/p95/p99, throughput and the machine's load before and after — on a shared
 * machine a number without its load is not worth reading.
 *
 * The loop yields to the event loop every few milliseconds, so the service keeps answering
 * while a benchmark runs (which also means concurrent traffic shows up in the numbers: the
 * page says so next to them).
 */

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { LeanAgenticError } from '../../errors';
import { LeanAgenticSystem } from '../../system';

/** The benchmarks the console offers. */
export const BENCHMARKS = {
  'verify-miss': 'verifyAction, every request distinct (decision-cache misses), the loaded policy text',
  'verify-hit': 'verifyAction, one request repeated (decision-cache hits), the loaded policy text',
  step: 'processChunk: a whole step (perceive, plan, learn, verify, built-in execute, journal), distinct chunks',
  retrieve: 'bank.retrieve k=5 over 2,000 stored memories (exact scan, built-in 384-d embedder), distinct queries',
} as const;

export type BenchmarkKind = keyof typeof BENCHMARKS;

/** A benchmark's numbers. */
export interface BenchmarkReport {
  kind: BenchmarkKind;
  what: string;
  iterations: number;
  /** Microseconds. */
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  /** Operations per second over the measured loop (yields excluded). */
  throughput: number;
  /** Log-spaced latency histogram: `[fromUs, toUs, count]`. */
  histogram: [number, number, number][];
  /** 1-minute load average before and after, and the number of CPUs. */
  load: { before: number; after: number; cpus: number };
  policies: 'loaded' | 'none';
}

function percentile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function histogram(sorted: number[], bins = 24): [number, number, number][] {
  const lo = Math.max(sorted[0], 0.01);
  const hi = Math.max(sorted[sorted.length - 1], lo * 1.0001);
  const step = Math.log(hi / lo) / bins;
  const out: [number, number, number][] = [];
  for (let b = 0; b < bins; b++) out.push([lo * Math.exp(step * b), lo * Math.exp(step * (b + 1)), 0]);
  for (const v of sorted) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(Math.log(Math.max(v, lo) / lo) / step)));
    out[b][2]++;
  }
  return out;
}

const WORDS = ['weather', 'tokyo', 'flight', 'note', 'remember', 'invoice', 'paris', 'meeting', 'budget', 'hello', 'question', 'deploy', 'report', 'alice', 'berlin', 'refund'];

function sentence(i: number): string {
  const w = (k: number) => WORDS[(i * 7 + k * 13 + (i >> k)) % WORDS.length];
  return `${w(1)} ${w(2)} about ${w(3)} and ${w(4)} number ${i}`;
}

/**
 * Runs benchmark `kind` for `iterations` operations (10–20,000) on a fresh scratch system with
 * `policyText` loaded (when given) and actions named `actions` (built-in, no handlers).
 */
export async function runBenchmark(kind: unknown, iterations: unknown, policyText: string | null, actions: string[]): Promise<BenchmarkReport> {
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(BENCHMARKS, kind)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `"kind" must be one of ${Object.keys(BENCHMARKS).join(', ')}`);
  }
  const n = iterations === undefined ? 2000 : iterations;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 10 || n > 20_000) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', '"iterations" must be an integer from 10 to 20000');
  }
  const k = kind as BenchmarkKind;
  const sys = await LeanAgenticSystem.open({ path: ':memory:', seed: 1 });
  try {
    let policies: 'loaded' | 'none' = 'none';
    if (policyText !== null && policyText.trim() !== '') {
      sys.loadPolicies(policyText);
      policies = 'loaded';
    }
    for (const name of actions.length > 0 ? actions : ['respond']) sys.registerAction({ name, description: name, keywords: [name.replace(/_/g, ' ')] });
    sys.createContext('bench');
    let op: (i: number) => unknown;
    const action = actions[0] ?? 'respond';
    if (k === 'verify-miss') op = (i) => sys.verifyAction({ name: action, params: { text: sentence(i), n: i } }, { sessionId: 'bench' });
    else if (k === 'verify-hit') op = () => sys.verifyAction({ name: action, params: { text: 'the same request' } }, { sessionId: 'bench' });
    else if (k === 'step') op = (i) => sys.processChunk(sentence(i), 'bench');
    else {
      for (let i = 0; i < 2000; i++) sys.bank.store({ title: sentence(i), content: `${sentence(i * 3 + 1)} ${sentence(i * 5 + 2)}` });
      op = (i) => sys.bank.retrieve(sentence(i * 11 + 5), { k: 5 });
    }
    // Warm-up (caches, allocator, JIT), not measured.
    for (let i = 0; i < Math.min(200, n); i++) await op(-1 - i);
    const before = os.loadavg()[0];
    const samples: number[] = new Array(n);
    let busy = 0;
    let sliceStart = performance.now();
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = op(i);
      if (r instanceof Promise) await r;
      const dt = performance.now() - t0;
      samples[i] = dt * 1000;
      busy += dt;
      if (performance.now() - sliceStart > 8) {
        await yieldNow();
        sliceStart = performance.now();
      }
    }
    const sorted = samples.slice().sort((a, b) => a - b);
    return {
      kind: k,
      what: BENCHMARKS[k],
      iterations: n,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      mean: sorted.reduce((a, b) => a + b, 0) / n,
      throughput: n / (busy / 1000),
      histogram: histogram(sorted),
      load: { before, after: os.loadavg()[0], cpus: os.cpus().length },
      policies,
    };
  } finally {
    await sys.close();
  }
}

/**
 * A drop-in for agentic-flow's reasoning bank (`agentic-flow/reasoningbank`): the same
 * `retrieveMemories`, `formatMemoriesForPrompt` and `db` functions, with the same signatures
 * and result shapes, on the same `.swarm/memory.db`, run by the native engine.
 *
 * Why: agentic-flow users switch with a one-line import change
 * (`from 'agentic-flow/reasoningbank'` → `from 'lean-agentic-native/agentic-flow'`) and keep
 * their database, their code and their results; retrieval becomes the native bank's
 * (agentic-flow's score and MMR over an in-memory int8 index, exact picks) instead of a
 * JavaScript scan of every row.
 *
 * How it stays faithful:
 * - the file is found as agentic-flow finds it (`CLAUDE_FLOW_DB_PATH`, else
 *   `<cwd>/.swarm/memory.db`, read when the connection opens) and opened once per process;
 * - every `db` function runs agentic-flow 2.1.3's SQL unchanged (`src/memory/agentic_flow_db.rs`),
 *   so rows, side effects and `pruneOldMemories`'s criteria are agentic-flow's;
 * - `retrieveMemories` uses agentic-flow's effective configuration (k 3, weights 0.65/0.15/0.20,
 *   MMR λ 0.1, half-life 45 days, confidence ≥ 0.3, `agent` ignored), counts usage on the
 *   picks and logs `rb.retrieve.latency_ms`, as agentic-flow does;
 * - the query is embedded by the same function agentic-flow uses: its own `computeEmbedding`
 *   (loaded lazily from the installed `agentic-flow`), so stored vectors and query vectors
 *   come from one model. {@link setQueryEmbedder} chooses another (or the engine's built-in
 *   embedder, `'builtin'`), and `options.embedding` passes a precomputed query vector.
 *
 * What differs (on purpose): bad input is a coded error (`ERR_INVALID_INPUT`, `ERR_NOT_FOUND`
 * for an embedding or link of a memory that does not exist) instead of a TypeError or a raw
 * SQLite error; `getDb()` cannot hand out a better-sqlite3 connection and throws
 * `ERR_UNSUPPORTED`; the engine adds its own `la_*` tables to the file (agentic-flow ignores
 * them).
 */

import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { call, LeanAgenticError } from '../errors';
import { native } from '../native';
import type { Vector } from '../bank';
import type { Retrieved } from '../generated/Retrieved';

// ---------------------------------------------------------------- types (agentic-flow's)

/** A reasoning memory row (`agentic-flow/reasoningbank` `ReasoningMemory`). */
export interface ReasoningMemory {
  id: string;
  type: 'reasoning_memory';
  pattern_data: {
    title: string;
    description: string;
    content: string;
    source: { task_id: string; agent_id: string; outcome: 'Success' | 'Failure'; evidence: string[] };
    tags: string[];
    domain?: string;
    created_at: string;
    confidence: number;
    n_uses: number;
  };
  confidence: number;
  usage_count: number;
  created_at: string;
  last_used?: string;
}

/** A memory's embedding (`PatternEmbedding`). */
export interface PatternEmbedding {
  id: string;
  model: string;
  dims: number;
  vector: Float32Array;
  created_at: string;
}

/** A link between two memories (`PatternLink`). */
export interface PatternLink {
  src_id: string;
  dst_id: string;
  relation: 'entails' | 'contradicts' | 'refines' | 'duplicate_of';
  weight: number;
  created_at: string;
}

/** A task trajectory (`TaskTrajectory`). */
export interface TaskTrajectory {
  task_id: string;
  agent_id: string;
  query: string;
  trajectory_json: string;
  started_at?: string;
  ended_at?: string;
  judge_label?: 'Success' | 'Failure';
  judge_conf?: number;
  judge_reasons?: string;
  matts_run_id?: string;
  created_at: string;
}

/** A MaTTS run (`MattsRun`). */
export interface MattsRun {
  run_id: string;
  task_id: string;
  mode: 'parallel' | 'sequential';
  k: number;
  status: 'pending' | 'running' | 'completed' | 'failed';
  summary?: string;
  created_at: string;
}

/** A consolidation run (`ConsolidationRun`). */
export interface ConsolidationRun {
  run_id: string;
  items_processed: number;
  duplicates_found: number;
  contradictions_found: number;
  items_pruned: number;
  duration_ms: number;
  created_at: string;
}

/** One result of {@link retrieveMemories} (`RetrievedMemory`). */
export interface RetrievedMemory {
  id: string;
  title: string;
  description: string;
  content: string;
  score: number;
  components: { similarity: number; recency: number; reliability: number };
}

/** Options of {@link retrieveMemories}: agentic-flow's, plus an optional precomputed query vector. */
export interface RetrieveMemoriesOptions {
  k?: number;
  domain?: string;
  /** Accepted and ignored, as agentic-flow ignores it. */
  agent?: string;
  /** The query's vector (skips the query embedder). */
  embedding?: Vector;
}

/** A query embedder: text → vector (agentic-flow's `computeEmbedding` has this shape). */
export type QueryEmbedder = (text: string) => Vector | Promise<Vector>;

// ---------------------------------------------------------------- agentic-flow's constants

/** agentic-flow 2.1.3's effective retrieval configuration (its packaged `reasoningbank.yaml`). */
const RETRIEVE = { k: 3, alpha: 0.65, beta: 0.15, gamma: 0.2, delta: 0.1, halfLifeDays: 45, minScore: 0.3 } as const;
/** The largest `k` the native bank takes. */
const MAX_K = 1000;

// ---------------------------------------------------------------- the connection

type NativeDb = InstanceType<typeof native.NativeAgenticFlowDb>;

let instance: NativeDb | null = null;

/** The database path, found as agentic-flow finds it. */
function dbPath(): string {
  return process.env.CLAUDE_FLOW_DB_PATH || join(process.cwd(), '.swarm', 'memory.db');
}

/** The open connection (opened on first use; the file must exist, as for agentic-flow). */
function connection(): NativeDb {
  if (instance !== null && !instance.closed) return instance;
  const path = dbPath();
  if (!existsSync(path)) {
    throw new LeanAgenticError('ERR_NOT_FOUND', `Database not found at ${path}. Run migrations first (await db.runMigrations()).`);
  }
  instance = call(() => native.NativeAgenticFlowDb.open(path));
  return instance;
}

/** Runs one of agentic-flow's `db` statements natively. */
function run<T>(op: string, args: Record<string, unknown> = {}): T {
  const db = connection();
  const text = JSON.stringify({ op, ...args });
  return JSON.parse(call(() => db.call(text))) as T;
}

// ---------------------------------------------------------------- input checks

function requireText(v: unknown, what: string): string {
  if (typeof v !== 'string') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} must be a string, got ${v === null ? 'null' : typeof v}`);
  }
  return v;
}

function optionalText(v: unknown, what: string): string | null {
  // agentic-flow stores `value || null`: an empty string is stored as NULL too.
  if (v === undefined || v === null || v === '') return null;
  return requireText(v, what);
}

function requireNumber(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} must be a finite number, got ${typeof v === 'number' ? String(v) : v === null ? 'null' : typeof v}`);
  }
  return v;
}

function requireInteger(v: unknown, what: string): number {
  const n = requireNumber(v, what);
  if (!Number.isSafeInteger(n)) throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} must be an integer, got ${n}`);
  return n;
}

function requireObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} must be an object`);
  }
  return v as Record<string, unknown>;
}

/** A vector as a plain array of numbers (typed arrays and arrays accepted). */
function vectorValues(v: unknown, what: string): number[] {
  if (v instanceof Float32Array || v instanceof Float64Array || Array.isArray(v)) {
    const out = Array.from(v as ArrayLike<unknown>, (x, i) => requireNumber(x, `${what}[${i}]`));
    if (out.length === 0) throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} is empty`);
    return out;
  }
  throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} must be a Float32Array or an array of numbers`);
}

// ---------------------------------------------------------------- db functions

/** Creates the database file, its directory and every table (agentic-flow's and the engine's). */
async function runMigrations(): Promise<void> {
  const path = dbPath();
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const db = call(() => native.NativeAgenticFlowDb.open(path));
  call(() => db.close());
  closeDb(); // agentic-flow resets its connection here, so the next call reopens (and re-reads the path)
}

/**
 * agentic-flow returns its better-sqlite3 connection here. The engine has none to give: a
 * second SQLite library on the same file in one process corrupts it (see the README).
 */
function getDb(): never {
  throw new LeanAgenticError(
    'ERR_UNSUPPORTED',
    'db.getDb() returns a better-sqlite3 connection in agentic-flow; lean-agentic-native runs the database natively and has none. Use the db functions of lean-agentic-native/agentic-flow, or query the file from another process',
  );
}

interface CandidateRow extends Omit<ReasoningMemory, 'last_used'> {
  last_used: string | null;
  embedding: number[];
  age_days: number;
}

function fetchMemoryCandidates(options: { domain?: string; agent?: string; minConfidence?: number }): Array<ReasoningMemory & { embedding: Float32Array; age_days: number }> {
  const o = requireObject(options, 'fetchMemoryCandidates options');
  const domain = o.domain === undefined || o.domain === null || o.domain === '' ? undefined : requireText(o.domain, 'domain');
  const minConfidence = o.minConfidence === undefined || o.minConfidence === null || o.minConfidence === 0 ? RETRIEVE.minScore : requireNumber(o.minConfidence, 'minConfidence');
  const rows = run<CandidateRow[]>('fetchMemoryCandidates', { domain, min_confidence: minConfidence });
  return rows.map((r) => ({ ...r, embedding: Float32Array.from(r.embedding) })) as unknown as Array<ReasoningMemory & { embedding: Float32Array; age_days: number }>;
}

function upsertMemory(memory: Omit<ReasoningMemory, 'created_at' | 'last_used'>): string {
  const m = requireObject(memory, 'memory');
  const id = requireText(m.id, 'memory.id');
  const type = requireText(m.type, 'memory.type');
  const patternData = requireObject(m.pattern_data, 'memory.pattern_data');
  return run<string>('upsertMemory', {
    id,
    type,
    pattern_data: JSON.stringify(patternData),
    confidence: requireNumber(m.confidence, 'memory.confidence'),
    usage_count: requireInteger(m.usage_count, 'memory.usage_count'),
  });
}

function upsertEmbedding(embedding: PatternEmbedding): void {
  const e = requireObject(embedding, 'embedding');
  run('upsertEmbedding', {
    id: requireText(e.id, 'embedding.id'),
    model: requireText(e.model, 'embedding.model'),
    dims: requireInteger(e.dims, 'embedding.dims'),
    vector: vectorValues(e.vector, 'embedding.vector'),
  });
}

function incrementUsage(memoryId: string): void {
  run('incrementUsage', { id: requireText(memoryId, 'memoryId') });
}

function storeTrajectory(trajectory: Omit<TaskTrajectory, 'created_at'>): void {
  const t = requireObject(trajectory, 'trajectory');
  const conf = t.judge_conf === undefined || t.judge_conf === null || t.judge_conf === 0 ? null : requireNumber(t.judge_conf, 'trajectory.judge_conf');
  run('storeTrajectory', {
    task_id: requireText(t.task_id, 'trajectory.task_id'),
    agent_id: requireText(t.agent_id, 'trajectory.agent_id'),
    query: requireText(t.query, 'trajectory.query'),
    trajectory_json: requireText(t.trajectory_json, 'trajectory.trajectory_json'),
    started_at: optionalText(t.started_at, 'trajectory.started_at'),
    ended_at: optionalText(t.ended_at, 'trajectory.ended_at'),
    judge_label: optionalText(t.judge_label, 'trajectory.judge_label'),
    judge_conf: conf,
    judge_reasons: optionalText(t.judge_reasons, 'trajectory.judge_reasons'),
    matts_run_id: optionalText(t.matts_run_id, 'trajectory.matts_run_id'),
  });
}

function storeMattsRun(run_: Omit<MattsRun, 'created_at'>): void {
  const r = requireObject(run_, 'run');
  run('storeMattsRun', {
    run_id: requireText(r.run_id, 'run.run_id'),
    task_id: requireText(r.task_id, 'run.task_id'),
    mode: requireText(r.mode, 'run.mode'),
    k: requireInteger(r.k, 'run.k'),
    status: requireText(r.status, 'run.status'),
    summary: optionalText(r.summary, 'run.summary'),
  });
}

function logMetric(name: string, value: number): void {
  // agentic-flow: optional logging that never throws.
  try {
    if (typeof name !== 'string' || typeof value !== 'number' || !Number.isFinite(value)) return;
    run('logMetric', { name, value });
  } catch {
    /* not critical */
  }
}

function countNewMemoriesSinceConsolidation(): number {
  return run<number>('countNewMemoriesSinceConsolidation');
}

function getAllActiveMemories(): ReasoningMemory[] {
  return run<ReasoningMemory[]>('getAllActiveMemories');
}

function storeLink(srcId: string, dstId: string, relation: PatternLink['relation'], weight: number): void {
  run('storeLink', {
    src_id: requireText(srcId, 'srcId'),
    dst_id: requireText(dstId, 'dstId'),
    relation: requireText(relation, 'relation'),
    weight: requireNumber(weight, 'weight'),
  });
}

function getContradictions(memoryId: string): string[] {
  return run<string[]>('getContradictions', { id: requireText(memoryId, 'memoryId') });
}

function storeConsolidationRun(run_: Omit<ConsolidationRun, 'created_at'>): void {
  const r = requireObject(run_, 'run');
  run('storeConsolidationRun', {
    run_id: requireText(r.run_id, 'run.run_id'),
    items_processed: requireInteger(r.items_processed, 'run.items_processed'),
    duplicates_found: requireInteger(r.duplicates_found, 'run.duplicates_found'),
    contradictions_found: requireInteger(r.contradictions_found, 'run.contradictions_found'),
    items_pruned: requireInteger(r.items_pruned, 'run.items_pruned'),
    duration_ms: requireInteger(r.duration_ms, 'run.duration_ms'),
  });
}

/**
 * Deletes, by agentic-flow's own criteria, reasoning memories never used, with confidence
 * below `minConfidence` and older than `maxAgeDays` whole days; returns how many.
 */
function pruneOldMemories(options: { maxAgeDays: number; minConfidence: number }): number {
  const o = requireObject(options, 'pruneOldMemories options');
  return run<number>('pruneOldMemories', {
    max_age_days: requireNumber(o.maxAgeDays, 'maxAgeDays'),
    min_confidence: requireNumber(o.minConfidence, 'minConfidence'),
  });
}

/** Closes the connection (checkpointing the WAL); the next call reopens it. */
function closeDb(): void {
  const db = instance;
  instance = null;
  if (db !== null) call(() => db.close());
}

/** agentic-flow's `db` module, natively. */
export const db = Object.freeze({
  runMigrations,
  getDb,
  fetchMemoryCandidates,
  upsertMemory,
  upsertEmbedding,
  incrementUsage,
  storeTrajectory,
  storeMattsRun,
  logMetric,
  countNewMemoriesSinceConsolidation,
  getAllActiveMemories,
  storeLink,
  getContradictions,
  storeConsolidationRun,
  pruneOldMemories,
  closeDb,
});

// ---------------------------------------------------------------- retrieval

let embedder: QueryEmbedder | 'builtin' | null = null;

/**
 * Chooses how {@link retrieveMemories} embeds a query: a function (e.g. your model, or
 * agentic-flow's `computeEmbedding`), `'builtin'` (the engine's offline hash embedder, for
 * memories stored with it) or `null` (the default: agentic-flow's own `computeEmbedding`,
 * loaded lazily from the installed `agentic-flow`).
 */
export function setQueryEmbedder(e: QueryEmbedder | 'builtin' | null): void {
  if (e !== null && e !== 'builtin' && typeof e !== 'function') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', "setQueryEmbedder takes a function, 'builtin' or null");
  }
  embedder = e;
}

let agenticFlowEmbed: Promise<(text: string) => Promise<Float32Array>> | null = null;

/**
 * Imports `agentic-flow/reasoningbank` (ESM; resolved from this package, where the dependency
 * is installed). Only its `computeEmbedding` is used: its database functions stay untouched, so
 * loading it opens no second connection to the file.
 */
async function importAgenticFlow(): Promise<Record<string, unknown>> {
  let specifier = 'agentic-flow/reasoningbank';
  try {
    specifier = pathToFileURL(require.resolve(specifier)).href;
  } catch {
    /* let import() resolve the bare specifier */
  }
  // A real dynamic import() (tsconfig `module: node16` keeps it): agentic-flow is ESM-only.
  return (await import(specifier)) as Record<string, unknown>;
}

/** agentic-flow's `computeEmbedding`, loaded once (a failed load is retried at the next call). */
function agenticFlowEmbedder(): Promise<(text: string) => Promise<Float32Array>> {
  agenticFlowEmbed ??= (async () => {
    try {
      const m = await importAgenticFlow();
      if (typeof m.computeEmbedding !== 'function') throw new Error('agentic-flow/reasoningbank exports no computeEmbedding');
      return m.computeEmbedding as (text: string) => Promise<Float32Array>;
    } catch (e) {
      agenticFlowEmbed = null;
      throw new LeanAgenticError(
        'ERR_INVALID_CONFIG',
        `retrieveMemories embeds the query with agentic-flow's computeEmbedding, which could not be loaded (${e instanceof Error ? e.message : String(e)}); install agentic-flow, pass { embedding }, or call setQueryEmbedder(yourModel) or setQueryEmbedder('builtin')`,
      );
    }
  })();
  return agenticFlowEmbed;
}

/** The query vector, or null for the engine's built-in embedder. */
async function queryVector(query: string, given: unknown): Promise<number[] | null> {
  if (given !== undefined) return vectorValues(given, 'options.embedding');
  if (embedder === 'builtin') return null;
  const embed = embedder ?? (await agenticFlowEmbedder());
  return vectorValues(await embed(query), 'the query embedding');
}

/**
 * Top-k memories for `query`, as agentic-flow's `retrieveMemories`: its score
 * (`0.65·cos + 0.15·recency + 0.20·reliability`) and MMR, usage counted on the picks.
 */
export async function retrieveMemories(query: string, options: RetrieveMemoriesOptions = {}): Promise<RetrievedMemory[]> {
  const started = Date.now();
  requireText(query, 'query');
  const o = requireObject(options, 'retrieveMemories options');
  let k: number = RETRIEVE.k;
  if (o.k !== undefined && o.k !== 0) {
    k = requireInteger(o.k, 'k');
    if (k < 1 || k > MAX_K) throw new LeanAgenticError('ERR_INVALID_INPUT', `k must be between 1 and ${MAX_K}, got ${k}`);
  }
  const domain = o.domain === undefined || o.domain === null || o.domain === '' ? undefined : requireText(o.domain, 'domain');
  if (o.agent !== undefined && o.agent !== null) requireText(o.agent, 'agent');
  const embedding = await queryVector(query, o.embedding);
  const conn = connection();
  const opts = JSON.stringify({
    k,
    domain,
    minConfidence: RETRIEVE.minScore,
    embedding: embedding ?? undefined,
    weights: { similarity: RETRIEVE.alpha, recency: RETRIEVE.beta, reliability: RETRIEVE.gamma },
    halfLifeDays: RETRIEVE.halfLifeDays,
    mmrLambda: RETRIEVE.delta,
    exact: true,
    fetchOrderWhenAll: true,
  });
  const picked = JSON.parse(call(() => conn.retrieve(query, opts))) as Retrieved[];
  if (picked.length > 0) logMetric('rb.retrieve.latency_ms', Date.now() - started);
  return picked.map((r) => ({
    id: r.memory.id,
    title: r.memory.title,
    description: r.memory.description,
    content: r.memory.content,
    score: r.score,
    components: { similarity: r.components.similarity, recency: r.components.recency, reliability: r.components.reliability },
  }));
}

/** The memories as a system-prompt section, exactly as agentic-flow formats them. */
export function formatMemoriesForPrompt(memories: RetrievedMemory[]): string {
  if (!Array.isArray(memories)) throw new LeanAgenticError('ERR_INVALID_INPUT', 'formatMemoriesForPrompt takes an array of retrieved memories');
  if (memories.length === 0) {
    return '';
  }
  let formatted = '\n## Relevant Memories from Past Experience\n\n';
  for (let i = 0; i < memories.length; i++) {
    const mem = memories[i];
    formatted += `### Memory ${i + 1}: ${mem.title}\n\n`;
    formatted += `${mem.description}\n\n`;
    formatted += `**Strategy:**\n${mem.content}\n\n`;
    formatted += `*Confidence: ${(mem.score * 100).toFixed(1)}% | `;
    formatted += `Similarity: ${(mem.components.similarity * 100).toFixed(1)}%*\n\n`;
    formatted += '---\n\n';
  }
  return formatted;
}

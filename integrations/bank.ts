/**
 * `sys.bank`: the reasoning bank — agentic-flow's `.swarm/memory.db` schema in the system's
 * store, searched natively (agentic-flow's scoring and MMR), with full-text query, eviction,
 * consolidation and import/export to agentic-flow memory databases.
 *
 * Eviction is never silent: `bank.stats()` counts it, and the bank is an `EventEmitter` whose
 * `'evict'` event fires (synchronously, before the call returns) after every `store`,
 * `storeLearning`, `importJson` or `importAgenticFlow` that evicted something. With the default
 * `bank.evict: 'own'` only memories this engine wrote are ever evicted.
 */

import { EventEmitter } from 'node:events';
import { optionsObject, requireString, toJsonText } from './json_input';
import { call, LeanAgenticError } from './errors';
import type { NativeSystemHandle } from './native';
import { toMs } from './time';

// The records the bank returns are generated from the Rust types (`src/ts_types.rs`).
export type { MemoryRecord } from './generated/MemoryRecord';
export type { LearningRecord } from './generated/LearningRecord';
export type { SearchInfo } from './generated/SearchInfo';
export type { Retrieved } from './generated/Retrieved';
export type { EvictMode } from './generated/EvictMode';
export type { EvictionReport, EvictionReport as EvictionEvent } from './generated/EvictionReport';
export type { BankStats } from './generated/BankStats';
export type { ImportReport } from './generated/ImportReport';
export type { QueryHit } from './generated/QueryHit';
export type { VoteCounts } from './generated/VoteCounts';
import type { VoteCounts } from './generated/VoteCounts';
import type { MemoryRecord } from './generated/MemoryRecord';
import type { LearningRecord } from './generated/LearningRecord';
import type { SearchInfo } from './generated/SearchInfo';
import type { Retrieved } from './generated/Retrieved';
import type { EvictionReport as EvictionEvent } from './generated/EvictionReport';
import type { BankStats } from './generated/BankStats';
import type { ImportReport } from './generated/ImportReport';
import type { QueryHit } from './generated/QueryHit';

/**
 * A vector: an array of numbers or a typed array — what agentic-flow's `computeEmbedding`
 * returns (`Float32Array`) is taken as it is.
 */
export type Vector = readonly number[] | Float32Array | Float64Array;

/** A memory to store (agentic-flow `ReasoningMemory` fields). */
export interface MemoryInput {
  id?: string;
  title: string;
  description?: string;
  content?: string;
  outcome?: 'Success' | 'Failure';
  taskId?: string;
  agentId?: string;
  evidence?: unknown[];
  tags?: string[];
  domain?: string;
  confidence?: number;
  /** Your own vector (any dimension, the same for the whole store); else the built-in 384-d hash embedder. */
  embedding?: Vector;
}

/** A learning to store. */
export interface LearningInput {
  id?: string;
  pattern: string;
  outcome: 'Success' | 'Failure' | string;
  reward: number;
  context?: unknown;
  session?: string;
  action?: string;
}

/** Options of {@link ReasoningBank.retrieve}; defaults are agentic-flow's. */
export interface RetrieveOptions {
  k?: number;
  domain?: string;
  agent?: string;
  minConfidence?: number;
  /** The query's vector from your own model (the store's dimension); else the built-in embedder. */
  embedding?: Vector;
  weights?: { similarity?: number; recency?: number; reliability?: number };
  halfLifeDays?: number;
  mmrLambda?: number;
  /**
   * Scan every row exactly even past `annThreshold` (default false). The approximate path
   * re-scores its candidate rows exactly and runs MMR among them; domain/agent filters always
   * scan the rows they allow exactly.
   */
  exact?: boolean;
}

/** Events of {@link ReasoningBank}. */
export interface ReasoningBankEvents {
  evict: [EvictionEvent];
}

/**
 * The reasoning bank of a system. It emits `'evict'` ({@link EvictionEvent}) whenever a call
 * evicted memories or learnings over a cap; listeners run before that call returns.
 */
export class ReasoningBank extends EventEmitter<ReasoningBankEvents> {
  /** @internal */
  constructor(private readonly nat: NativeSystemHandle) {
    super();
  }

  /** Stores (upserts, keeping `createdAt` and the embedding) a memory. */
  store(memory: MemoryInput): MemoryRecord {
    const m = readObject<MemoryInput>(memory, 'memory');
    checkConfidence(m);
    return this.evicting(() => JSON.parse(call(() => this.nat.bankStore(json('memory', m)))));
  }

  /** Stores a learning (pattern, outcome, reward). */
  storeLearning(learning: LearningInput): LearningRecord {
    const l = readObject<LearningInput>(learning, 'learning');
    if (typeof l.reward === 'number' && !Number.isFinite(l.reward)) {
      throw new LeanAgenticError('ERR_INVALID_REWARD', `reward must be a finite number, got ${l.reward}`);
    }
    return this.evicting(() => JSON.parse(call(() => this.nat.bankStoreLearning(json('learning', l)))));
  }

  /** Counts (as the file holds them now), caps, and what this bank evicted since the system opened. */
  stats(): BankStats {
    return JSON.parse(call(() => this.nat.bankStats()));
  }

  /** Runs a call that may evict, then emits one `'evict'` event per eviction run it caused. */
  private evicting<T>(f: () => T): T {
    const result = f();
    const runs: EvictionEvent[] = JSON.parse(call(() => this.nat.bankTakeEvictions()));
    for (const run of runs) this.emit('evict', run);
    return result;
  }

  /** A memory by id, or null. */
  get(id: string): MemoryRecord | null {
    return JSON.parse(call(() => this.nat.bankGet(requireString(id, 'the memory id'))));
  }

  /** Deletes a memory or learning; true when something was deleted. */
  delete(id: string): boolean {
    return call(() => this.nat.bankDelete(requireString(id, 'the id')));
  }

  /**
   * Counts one swarm consensus round for an agent (`agreed`: it voted with the winner) and
   * returns its counts. Atomic in the store: swarms on several machines sharing a PostgreSQL bank
   * count every round once. The bridge's weighted consensus calls it; the counts are a learning
   * with id `swarm-reliability:<agentId>`.
   */
  recordVote(agentId: string, agreed: boolean, runId: string): VoteCounts {
    return this.evicting(() => JSON.parse(call(() => this.nat.bankRecordVote(requireString(agentId, 'agentId'), agreed === true, requireString(runId, 'runId')))));
  }

  /**
   * Loads many memories into an empty PostgreSQL bank fast: `load` runs (e.g. `importJson` in
   * batches) while no vector index is maintained row by row, then the index is built once
   * (many times faster for large loads; see `reindex` for which). Into a bank that already has
   * memories, or on SQLite, it just runs `load`. Returns the index build time in ms (0 when
   * none was built).
   */
  bulkLoad(load: () => void): number {
    call(() => this.nat.bankBeginBulkLoad());
    try {
      load();
    } catch (e) {
      // Built even when `load` threw, so the bank is never left without its index.
      call(() => this.nat.bankEndBulkLoad());
      throw e;
    }
    return call(() => this.nat.bankEndBulkLoad());
  }

  /**
   * PostgreSQL: builds the vector index for the bank's present size and returns how long it
   * took, ms. From 100,000 memories (up to 1,998 dimensions) that is the IVF index over the
   * retrieval score itself — `rows/1000` lists of memories keyed by embedding, recency and
   * confidence; retrieval scans `ivfProbes` of them (1M memories: k=5 in ~7 ms, recall@10 1.0 on
   * the benchmark) and an insert is assigned to its list instead of threaded into a graph — and
   * the HNSW index is dropped. Below that size, the HNSW index over the cosine (kept by every
   * insert). The IVF lists are the centres of the memories present at the build: reindex when
   * the bank has grown several times over. Writers wait for the build (70 s at 1M memories
   * here); readers do not. On SQLite: nothing to do (its index keeps itself), returns 0.
   */
  reindex(): number {
    return call(() => this.nat.bankReindex());
  }

  /** Every swarm agent's vote counts, as the store holds them now. */
  voteCounts(): VoteCounts[] {
    return JSON.parse(call(() => this.nat.bankVoteCounts()));
  }

  /** How many memories and learnings are stored. */
  count(): { memories: number; learnings: number } {
    return JSON.parse(call(() => this.nat.bankCount()));
  }

  /** The `limit` most recently stored memories, newest first (default 20, at most 1,000). */
  recent(limit = 20): MemoryRecord[] {
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `recent(limit): limit must be an integer from 1 to 1000, got ${String(limit)}`);
    }
    return JSON.parse(call(() => this.nat.bankRecent(limit)));
  }

  /** How retrieval searches the store: exact int8 scan or the approximate sketch index. */
  searchInfo(): SearchInfo {
    return JSON.parse(call(() => this.nat.bankSearchInfo()));
  }

  /** Top-k memories: `0.65·cos + 0.15·recency + 0.20·confidence`, then MMR (agentic-flow's defaults). */
  retrieve(query: string, options: RetrieveOptions = {}): Retrieved[] {
    if (typeof query !== 'string') throw new LeanAgenticError('ERR_INVALID_INPUT', 'retrieve takes a query string');
    return JSON.parse(call(() => this.nat.bankRetrieve(query, json('retrieve options', optionsObject<RetrieveOptions>(options, 'retrieve options')))));
  }

  /** Full-text search (SQLite FTS5) over memories and learnings. */
  query(pattern: string, options: { limit?: number; since?: number | Date | string; order?: 'relevance' | 'reward' } = {}): QueryHit[] {
    if (typeof pattern !== 'string') throw new LeanAgenticError('ERR_INVALID_INPUT', 'query takes a pattern string');
    const { since, ...rest } = optionsObject<{ limit?: number; since?: number | Date | string; order?: 'relevance' | 'reward' }>(options, 'query options');
    const opts: Record<string, unknown> = { ...rest };
    if (since !== undefined) opts.sinceMs = toMs(since);
    return JSON.parse(call(() => this.nat.bankQuery(pattern, toJsonText(opts, 'query options'))));
  }

  /** The whole bank as a JSON document (`{format, version, memories, learnings, links}`). */
  exportJson(): { memories: unknown[]; learnings: LearningRecord[]; links: unknown[]; [k: string]: unknown } {
    return JSON.parse(call(() => this.nat.bankExportJson()));
  }

  /** Imports a document from {@link exportJson} (idempotent). */
  importJson(doc: unknown): ImportReport {
    const text = typeof doc === 'string' ? doc : json('bank document', readObject<Record<string, unknown>>(doc, 'bank document'));
    return this.evicting(() => JSON.parse(call(() => this.nat.bankImportJson(text))));
  }

  /**
   * Copies an agentic-flow memory DB (default `CLAUDE_FLOW_DB_PATH` or `./.swarm/memory.db`) into
   * this store. Refused with `ERR_STORE_IN_USE` while agentic-flow has that file open in this
   * process: use the bridge's `syncWithAgenticFlow({ direction: 'import', database: db.getDb() })`.
   */
  importAgenticFlow(dbPath?: string): ImportReport {
    return this.evicting(() => JSON.parse(call(() => this.nat.bankImportAgenticFlow(dbPath ?? null))));
  }

  /**
   * Copies this store's memories into an agentic-flow memory DB (creating its schema if needed).
   * Refused with `ERR_STORE_IN_USE` while agentic-flow has that file open in this process: use
   * the bridge's `syncWithAgenticFlow({ direction: 'export', database: db.getDb() })`.
   */
  exportAgenticFlow(dbPath?: string): { path: string; memories: number; embeddings: number; links: number } {
    return JSON.parse(call(() => this.nat.bankExportAgenticFlow(dbPath ?? null)));
  }

  /** Links duplicates and contradictions, prunes old unused low-confidence items. */
  consolidate(): { itemsProcessed: number; duplicatesFound: number; contradictionsFound: number; itemsPruned: number; durationMs: number } {
    return JSON.parse(call(() => this.nat.bankConsolidate()));
  }
}

/**
 * A present `confidence` must be a number in [0, 1]: `JSON.stringify` would turn `NaN` and
 * `Infinity` into `null`, which reads as "absent" (the default 0.5).
 */
function checkConfidence(memory: unknown): void {
  if (memory === null || typeof memory !== 'object' || !('confidence' in memory)) return;
  const c = (memory as { confidence?: unknown }).confidence;
  if (c === undefined) return;
  if (typeof c !== 'number' || !Number.isFinite(c) || c < 0 || c > 1) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `confidence must be a number in [0, 1], got ${typeof c === 'string' ? JSON.stringify(c) : String(c)}`);
  }
}

/** `v` (an object) copied out of the caller's hands: a throwing getter or proxy is a coded error. */
function readObject<T extends object>(v: unknown, what: string): T {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} must be an object`);
  }
  return optionsObject<T>(v, what) as T;
}

function json(what: string, v: unknown): string {
  if (v === null || typeof v !== 'object') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} must be an object`);
  }
  return toJsonText(v, what);
}


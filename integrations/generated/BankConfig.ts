// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { EvictMode } from "./EvictMode";

/**
 * Configuration of a [`super::ReasoningBank`] (camelCase JSON; unknown keys are rejected).
 */
export type BankConfig = { 
/**
 * Most memories kept; lowest-value ones are evicted beyond it (default 10,000). With
 * `evict: 'own'` it counts the memories this bank wrote, with `'all'` every memory.
 */
maxMemories?: number, 
/**
 * Which memories eviction may delete (default [`EvictMode::Own`]).
 */
evict?: EvictMode, 
/**
 * Most learnings kept (default 5,000).
 */
maxLearnings?: number, 
/**
 * Eviction removes items until this fraction of the cap remains (default 0.95).
 */
evictToFraction?: number, 
/**
 * Half-life in days of the recency factor used by eviction (default 45).
 */
evictionHalfLifeDays?: number, 
/**
 * Whether retrieval increments `usage_count`/`last_used` like agentic-flow (default true).
 */
recordUsage?: boolean, 
/**
 * Whether retrieval and consolidation write `metrics_log` rows like agentic-flow (default true).
 */
logMetrics?: boolean, 
/**
 * Cosine at or above which two memories are linked `duplicate_of` (default 0.87).
 */
duplicateThreshold?: number, 
/**
 * Cosine at or above which a Success and a Failure memory are linked `contradicts` (default 0.80).
 */
contradictionThreshold?: number, 
/**
 * Consolidation prunes unused memories older than this many days ... (default 180)
 */
pruneMaxAgeDays?: number, 
/**
 * ... whose confidence is below this (default 0.3).
 */
pruneBelowConfidence?: number, 
/**
 * From this many searchable memories on, retrieval uses the approximate (IVF) index,
 * saved as `<store>.ann` beside the store (default 200,000; 0 never uses it).
 */
annThreshold?: number, 
/**
 * Rows re-scored exactly per approximate query, chosen by their sketch score (default
 * 1,000; at least `4·k` are used). More: higher recall, slower queries.
 */
annCandidates?: number, 
/**
 * A PostgreSQL URL (`postgres://user:pass@host:5432/db`, `postgresql://…`, or with
 * `?host=/socket/dir`): the bank's memories, learnings and links live in that database
 * (pgvector required) instead of the SQLite store, shared by every process and machine that
 * opens it. Absent (the default): the embedded SQLite store.
 */
url?: string, 
/**
 * The PostgreSQL schema holding the bank's tables (default `public`; created when
 * missing). Letters, digits and `_`, at most 63 bytes: one schema per tenant or test.
 */
pgSchema?: string, 
/**
 * Most open connections to PostgreSQL (default 4, 1–64).
 */
poolSize?: number, 
/**
 * PostgreSQL `statement_timeout` of every bank statement, ms (default 30,000; 0 none).
 */
statementTimeoutMs?: number, 
/**
 * How long a call waits for a connection (the database being down or restarting) before
 * failing with `ERR_STORE_UNAVAILABLE`, ms (default 5,000).
 */
connectTimeoutMs?: number, 
/**
 * PostgreSQL: rows the vector index hands to the exact re-rank per retrieval (with HNSW
 * also its `hnsw.ef_search`; default 100, at least `4·k`, at most 1,000).
 */
hnswCandidates?: number, 
/**
 * PostgreSQL, large banks (the IVF index `bank.reindex()` builds): IVF lists scanned per
 * retrieval (`ivfflat.probes`; default 2, 1..1,000). More finds more of the query's
 * neighbourhood at about 1,000 rows per list.
 */
ivfProbes?: number, };

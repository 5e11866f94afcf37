// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * How retrieval searches a store ([`ReasoningBank::search_info`]).
 */
export type SearchInfo = { 
/**
 * Where the bank lives: `sqlite` (the embedded store) or `postgres` (`bank.url`).
 */
backend: 'sqlite' | 'postgres', 
/**
 * Searchable memories (rows of the in-memory matrix).
 */
rows: number, 
/**
 * Their embedding dimension (0 while empty).
 */
dims: number, 
/**
 * The SIMD kernel in use (`avx2` or `scalar`).
 */
kernel: string, 
/**
 * Whether the approximate (sketch) index is attached.
 */
approximateIndex: boolean, 
/**
 * Rows the attached index was trained on (0 without one).
 */
trainedRows: number, 
/**
 * `annThreshold` of the configuration.
 */
annThreshold: number, 
/**
 * `annCandidates` of the configuration.
 */
annCandidates: number, 
/**
 * Where the index's side file lives (none for in-memory stores).
 */
sideFile: string | null, 
/**
 * Why the side file could not be written last time (searches go on without it).
 */
sideFileError: string | null, 
/**
 * Whether the last retrieval used the approximate index.
 */
lastRetrieveApproximate: boolean, 
/**
 * The candidates an approximate search re-scores: `annCandidates`, raised until the
 * index's calibration reaches recall@10 0.95; `null` without an index, or when the index
 * cannot rank this data (it would need more than an eighth of the rows) and retrieval
 * scans exactly instead.
 */
candidatesInUse: number | null, 
/**
 * The share of true top-10 rows the calibration probes found among that many candidates
 * (`annCandidates` when the index is not used); `null` without an index.
 */
calibratedRecall: number | null, };

// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { CacheStats } from "./CacheStats";
import type { EvaluationStats } from "./EvaluationStats";
import type { LearnerStats } from "./LearnerStats";

/**
 * Aggregate statistics.
 */
export type SystemStats = { 
/**
 * Distinct entities in the knowledge graph.
 */
totalEntities: number, 
/**
 * Relations in the knowledge graph.
 */
totalRelations: number, 
/**
 * Theorems proved and stored.
 */
totalTheorems: number, 
/**
 * Learner updates applied (including delayed feedback).
 */
learningIterations: number, 
/**
 * Steps finished.
 */
totalActions: number, 
/**
 * Mean reward over finished steps.
 */
averageReward: number, 
/**
 * Live sessions.
 */
sessions: number, 
/**
 * Steps that succeeded.
 */
successfulActions: number, 
/**
 * Steps denied by verification (and so not run).
 */
deniedActions: number, 
/**
 * Steps verification denied that ran anyway under `enforcement: 'observe'`.
 */
wouldDenyActions: number, 
/**
 * How uncached policy decisions were made: compiled, mixed, interpreted (and fallbacks).
 */
policyEvaluation: EvaluationStats, 
/**
 * The decision cache: entries, capacity, hits, misses, evictions.
 */
policyCache: CacheStats, 
/**
 * The learner: rewards received, their mean and recent mean, drift alarms, the share of
 * choices that explored.
 */
learner: LearnerStats, };

// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { AdaptationStrategy } from "./AdaptationStrategy";
import type { DriftConfig } from "./DriftConfig";
import type { Exploration } from "./Exploration";

/**
 * Configuration of a [`super::Learner`] (see the module docs for the JSON form).
 */
export type LearnerConfig = { 
/**
 * Learning rate, in (0, 10]: how long the model keeps adapting once a weight has seen
 * enough to stop averaging (see `weights`).
 */
learningRate?: number, 
/**
 * Exploration strategy.
 */
exploration?: Exploration, 
/**
 * Optimism for what the model has seen little of, in [0, 10]: when choosing, a candidate's
 * score is raised by `optimism × typical reward / (1 + updates seen for this context and
 * action)` (the typical reward is the recent mean of |reward|; the count a harmonic mean
 * over the context's features); 0 turns it off. Reported scores are not changed.
 */
optimism?: number, 
/**
 * Weight of a candidate's prior (planner relevance) in its score, in [0, 10].
 */
priorWeight?: number, 
/**
 * Detect reward drift per session and speed learning up after it.
 */
driftDetection?: boolean, 
/**
 * Drift detector parameters and reaction.
 */
drift?: DriftConfig, 
/**
 * When rewards become updates.
 */
adaptation?: AdaptationStrategy, 
/**
 * Global model size: `2^hashBits` weights, 10..=26.
 */
hashBits?: number, 
/**
 * Per-session model size: `2^sessionHashBits` weights, 6..=hashBits (each session with
 * own data holds `8 × 2^sessionHashBits` bytes: 32 KiB at the default 12). When the JSON
 * form omits it, it is 12 or `hashBits` if that is smaller.
 */
sessionHashBits?: number, 
/**
 * Keep a per-session delta model on top of the global one.
 */
sessionModels?: boolean, 
/**
 * Cap of the importance weight `1/propensity` applied to updates, in [1, 1000]
 * (1 = plain regression on observed rewards).
 */
maxImportanceWeight?: number, 
/**
 * Seed for reproducible exploration; random when absent.
 */
seed?: number, };

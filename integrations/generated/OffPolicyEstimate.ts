// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { Estimate } from "./Estimate";

/**
 * What [`evaluate_config`] estimates a learner configuration would have earned on logged
 * traffic.
 */
export type OffPolicyEstimate = { 
/**
 * Steps evaluated.
 */
steps: number, 
/**
 * Journaled steps left out: no logged choice (recorded outcomes, nothing runnable, or
 * journaled before choices were logged) or unreadable.
 */
skipped: number, 
/**
 * Inverse propensity scoring: unbiased, the widest interval.
 */
ips: Estimate, 
/**
 * Self-normalised IPS: slightly biased, usually a narrower interval.
 */
snips: Estimate, 
/**
 * Doubly robust: the target learner's own reward model plus an IPS correction of its
 * errors; unbiased when the propensities are right, the narrowest interval in practice.
 */
doublyRobust: Estimate, 
/**
 * What the logging policy earned on the same steps (mean reward, 95% interval).
 */
logged: Estimate, 
/**
 * Effective sample size of the importance weights, `(Σw)² / Σw²`: how many steps the
 * estimate is worth; far below `steps` means the configurations differ too much for the
 * log to say much.
 */
effectiveSampleSize: number, 
/**
 * Largest importance weight `π(a)/p(a)` met.
 */
maxImportanceWeight: number, };

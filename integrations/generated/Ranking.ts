// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { BlockedAction } from "./BlockedAction";
import type { RankedAction } from "./RankedAction";

/**
 * What [`Engine::rank`] returns.
 */
export type Ranking = { 
/**
 * The session whose learner state was read.
 */
sessionId: string, 
/**
 * Runnable plans, most probable first.
 */
candidates: Array<RankedAction>, 
/**
 * Relevant actions whose preconditions cannot be established, with what is missing.
 */
blocked: Array<BlockedAction>, 
/**
 * Whether exploration is masked to the allowed actions (safe exploration applies).
 */
masked: boolean, };

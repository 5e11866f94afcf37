// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Which windows and parameter sums `context.runs` carries (config key `runs`).
 */
export type RunsConfig = { 
/**
 * Window name → length in seconds; `countLastHour`/`sumLastHour` for `LastHour`.
 */
windows?: { [key in string]?: number }, 
/**
 * Top-level numeric parameters whose sums are kept per window (e.g. `["amount"]`).
 */
sum?: Array<string>, };

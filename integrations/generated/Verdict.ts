// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * The verdict of a verifier.
 */
export type Verdict = "allow" | "deny" | "skipped";

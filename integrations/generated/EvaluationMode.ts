// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Whether a policy runs on the compiled evaluator or on Cedar's interpreter (also the
 * `policyEvaluation` setting: `interpreted` keeps every policy on the interpreter).
 */
export type EvaluationMode = "compiled" | "interpreted";

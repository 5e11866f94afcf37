// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * An estimate with its 95% confidence interval.
 */
export type Estimate = { 
/**
 * The estimated mean reward per step.
 */
value: number, 
/**
 * Lower end of the 95% interval.
 */
low: number, 
/**
 * Upper end of the 95% interval.
 */
high: number, };

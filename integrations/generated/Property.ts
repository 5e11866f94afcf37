// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { Selector } from "./Selector";

/**
 * A property every execution path must satisfy.
 */
export type Property = { "type": "precedes", 
/**
 * What must come first.
 */
before: Selector, 
/**
 * What needs it.
 */
after: Selector, } | { "type": "neverAfter", 
/**
 * The step/action that closes the door, e.g. `close`.
 */
first: Selector, 
/**
 * What must not follow it, e.g. `write`.
 */
then: Selector, } | { "type": "atMost", 
/**
 * Which steps are counted.
 */
action: Selector, 
/**
 * The maximum.
 */
count: number, } | { "type": "noCycles" } | { "type": "allReachable" };

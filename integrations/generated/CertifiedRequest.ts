// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { EntityRef } from "./EntityRef";
import type { JsonValue } from "./serde_json/JsonValue";

/**
 * The request as certified: full entity uids for principal, action and resource.
 */
export type CertifiedRequest = { 
/**
 * The principal, e.g. `Agent::"planner"`.
 */
principal: EntityRef, 
/**
 * The action entity, e.g. `Action::"pay"`.
 */
action: EntityRef, 
/**
 * The resource entity.
 */
resource: EntityRef, 
/**
 * The context record.
 */
context: JsonValue, };

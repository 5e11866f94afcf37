// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { CertifiedRequest } from "./CertifiedRequest";
import type { DecisionKind } from "./DecisionKind";

/**
 * A replayable record of one decision.
 */
export type Certificate = { 
/**
 * The request that was decided.
 */
request: CertifiedRequest, 
/**
 * SHA-256 (hex) of the canonical policy text.
 */
policySetHash: string, 
/**
 * SHA-256 (hex) of the schema text, if a schema was loaded.
 */
schemaHash: string | null, 
/**
 * SHA-256 (hex) of the canonical entity JSON.
 */
entitiesHash: string, 
/**
 * Cedar language version used, e.g. `4.4.0`.
 */
cedarVersion: string, 
/**
 * What the policies decided for the request.
 */
decision: DecisionKind, 
/**
 * Ids of the determining policies, sorted.
 */
determiningPolicyIds: Array<string>, 
/**
 * Milliseconds since the Unix epoch when the decision was made.
 */
issuedAtMs: number, 
/**
 * SHA-256 over the canonical JSON of all other fields.
 */
digest: string, };

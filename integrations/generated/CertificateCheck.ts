// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * The result of re-checking a certificate.
 */
export type CertificateCheck = { 
/**
 * True when hashes, digest and replayed decision all agree.
 */
valid: boolean, 
/**
 * What was checked and, when invalid, what did not match.
 */
reasons: Array<string>, };

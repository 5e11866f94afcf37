// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

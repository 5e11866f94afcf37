//! The one error-mapping function.
//!
//! napi-rs sets a thrown error's `code` from its own status enum, so the engine's code
//! travels in the message as `ERR_CODE: message`; the TypeScript wrapper's `toError`
//! splits it back into a JS `Error` with `code` and `message`.

use crate::error::{json_error_text, Error, ErrorCode};

/// Maps an engine error onto a napi error carrying the stable code.
pub fn to_js(e: Error) -> napi::Error {
    napi::Error::from_reason(format!("{}: {}", e.code.as_str(), e.message))
}

/// Parses a JSON argument, naming it in the error.
pub fn parse_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> napi::Result<T> {
    parse_json_as(ErrorCode::InvalidInput, what, text)
}

/// [`parse_json`] with the error code to report.
pub fn parse_json_as<T: serde::de::DeserializeOwned>(
    code: ErrorCode,
    what: &str,
    text: &str,
) -> napi::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        to_js(Error::new(
            code,
            format!("invalid {what}: {}", json_error_text(&e)),
        ))
    })
}

/// Serialises a result for the JS side.
pub fn to_json<T: serde::Serialize>(value: &T) -> napi::Result<String> {
    serde_json::to_string(value).map_err(|e| {
        to_js(Error::new(
            ErrorCode::Internal,
            format!("cannot serialise result: {e}"),
        ))
    })
}

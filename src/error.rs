//! The engine's one error type.
//!
//! Every fallible engine call returns [`Error`], which carries a stable machine-readable
//! [`ErrorCode`] and a message that says what to fix. The napi layer maps it onto a JS
//! `Error` whose `code` property is [`ErrorCode::as_str`].

use std::fmt;

/// Stable error codes; their string forms are part of the public JS API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A configuration value is missing, out of range or misspelled.
    InvalidConfig,
    /// An argument has the wrong type or shape.
    InvalidInput,
    /// A text chunk is empty or whitespace only.
    EmptyChunk,
    /// A text chunk is over the configured size limit.
    ChunkTooLarge,
    /// A reward is NaN or infinite.
    InvalidReward,
    /// No action is registered under that name.
    UnknownAction,
    /// No session exists with that id.
    UnknownSession,
    /// An id (step, memory, entity, theorem) is not known.
    NotFound,
    /// The system was closed.
    Closed,
    /// An action handler threw or rejected.
    HandlerFailed,
    /// An action handler did not settle in time.
    HandlerTimeout,
    /// A Cedar policy (or schema, or entity set) does not parse.
    PolicyParse,
    /// Policies fail validation against the schema.
    PolicyInvalid,
    /// A rule or fact does not parse, or a rule set is not stratifiable.
    RuleParse,
    /// A proof object is malformed or does not check.
    ProofInvalid,
    /// A workflow is malformed (unknown step, bad dependency).
    InvalidWorkflow,
    /// JSON text does not parse or has the wrong shape.
    InvalidJson,
    /// Embeddings of different dimensions were mixed in one store.
    EmbeddingDims,
    /// The database file is corrupt, truncated or not a database.
    StoreCorrupt,
    /// The database file is open in this process by another SQLite library (agentic-flow's
    /// better-sqlite3); the engine's own SQLite must not open it too.
    StoreInUse,
    /// The PostgreSQL bank's database cannot be reached (down, restarting, connection dropped,
    /// statement timeout); the call did not complete — retry it. The pool reconnects by itself.
    StoreUnavailable,
    /// Any other storage failure (I/O, locking).
    Store,
    /// The call has no native equivalent (e.g. agentic-flow's `db.getDb()`, which returns a
    /// better-sqlite3 handle); the message names what to use instead.
    Unsupported,
    /// A bug: an invariant did not hold. Never expected.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order (the TypeScript `EngineErrorCode` union is generated
    /// from this list).
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidConfig,
        ErrorCode::InvalidInput,
        ErrorCode::EmptyChunk,
        ErrorCode::ChunkTooLarge,
        ErrorCode::InvalidReward,
        ErrorCode::UnknownAction,
        ErrorCode::UnknownSession,
        ErrorCode::NotFound,
        ErrorCode::Closed,
        ErrorCode::HandlerFailed,
        ErrorCode::HandlerTimeout,
        ErrorCode::PolicyParse,
        ErrorCode::PolicyInvalid,
        ErrorCode::RuleParse,
        ErrorCode::ProofInvalid,
        ErrorCode::InvalidWorkflow,
        ErrorCode::InvalidJson,
        ErrorCode::EmbeddingDims,
        ErrorCode::StoreCorrupt,
        ErrorCode::StoreInUse,
        ErrorCode::StoreUnavailable,
        ErrorCode::Store,
        ErrorCode::Unsupported,
        ErrorCode::Internal,
    ];

    /// The stable string code seen from JS, e.g. `ERR_INVALID_CONFIG`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "ERR_INVALID_CONFIG",
            ErrorCode::InvalidInput => "ERR_INVALID_INPUT",
            ErrorCode::EmptyChunk => "ERR_EMPTY_CHUNK",
            ErrorCode::ChunkTooLarge => "ERR_CHUNK_TOO_LARGE",
            ErrorCode::InvalidReward => "ERR_INVALID_REWARD",
            ErrorCode::UnknownAction => "ERR_UNKNOWN_ACTION",
            ErrorCode::UnknownSession => "ERR_UNKNOWN_SESSION",
            ErrorCode::NotFound => "ERR_NOT_FOUND",
            ErrorCode::Closed => "ERR_CLOSED",
            ErrorCode::HandlerFailed => "ERR_HANDLER_FAILED",
            ErrorCode::HandlerTimeout => "ERR_HANDLER_TIMEOUT",
            ErrorCode::PolicyParse => "ERR_POLICY_PARSE",
            ErrorCode::PolicyInvalid => "ERR_POLICY_INVALID",
            ErrorCode::RuleParse => "ERR_RULE_PARSE",
            ErrorCode::ProofInvalid => "ERR_PROOF_INVALID",
            ErrorCode::InvalidWorkflow => "ERR_INVALID_WORKFLOW",
            ErrorCode::InvalidJson => "ERR_INVALID_JSON",
            ErrorCode::EmbeddingDims => "ERR_EMBEDDING_DIMS",
            ErrorCode::StoreCorrupt => "ERR_STORE_CORRUPT",
            ErrorCode::StoreInUse => "ERR_STORE_IN_USE",
            ErrorCode::StoreUnavailable => "ERR_STORE_UNAVAILABLE",
            ErrorCode::Store => "ERR_STORE",
            ErrorCode::Unsupported => "ERR_UNSUPPORTED",
            ErrorCode::Internal => "ERR_INTERNAL",
        }
    }
}

/// An engine error: a stable code plus a human message that says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong and how to fix it.
    pub message: String,
}

impl Error {
    /// Builds an error from a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::new(
            ErrorCode::InvalidJson,
            format!("invalid JSON: {}", json_error_text(&e)),
        )
    }
}

/// Deepest nesting of JSON input (serde_json's recursion limit).
pub const MAX_JSON_NESTING: usize = 128;

/// A `serde_json` error's text; when the input nested too deeply, also what to do about it.
pub fn json_error_text(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        format!(
            "{text}: JSON nested more than {MAX_JSON_NESTING} arrays/objects deep is not \
             accepted; flatten the nested values"
        )
    } else {
        text
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode as Sq;
        let code = match e.sqlite_error_code() {
            Some(Sq::DatabaseCorrupt) | Some(Sq::NotADatabase) => ErrorCode::StoreCorrupt,
            _ => ErrorCode::Store,
        };
        Error::new(code, format!("store error: {e}"))
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for `Err(Error::new(code, message))`.
pub fn err<T>(code: ErrorCode, message: impl Into<String>) -> Result<T> {
    Err(Error::new(code, message))
}

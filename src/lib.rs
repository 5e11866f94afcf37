//! # lean-agentic-native
//!
//! A Rust engine for AI agents: every chunk of text (or workflow step) goes through a
//! Plan–Act–Observe–Learn loop —
//!
//! ```text
//! chunk ─► entities ─► knowledge graph ─► plan ─► learner scores ─► select
//!                                                                    │
//!   memory + learning ◄── reward ◄── observe ◄── execute ◄── verify ◄┘
//! ```
//!
//! The engine modules are plain Rust and know nothing of Node.js:
//! - [`agent`]: actions, sessions, planning and rewards;
//! - [`system`]: the [`system::Engine`] that runs the loop for many concurrent sessions;
//! - [`knowledge`], [`learning`], [`reasoning`], [`memory`]: the stages it is made of.
//!
//! The N-API binding (feature `node`) lives apart in `binding` and only converts types and errors.

pub mod agent;
pub mod error;
pub mod fast_hash;
pub mod knowledge;
pub mod learning;
pub mod memory;
pub mod reasoning;
pub mod system;
pub mod text;
pub mod time;
#[cfg(test)]
mod ts_types;

#[cfg(feature = "node")]
mod binding;

pub use error::{Error, ErrorCode, Result};

/// mimalloc: the engine allocates many small short-lived objects per step (Cedar contexts,
/// JSON values); glibc's allocator spent half of a verified step in malloc/free. The WASM
/// fallback keeps wasi-libc's allocator.
#[cfg(not(target_family = "wasm"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

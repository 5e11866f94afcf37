//! The N-API binding: converts types and errors, nothing else.
//!
//! Values cross the boundary as JSON strings (cheaper than object conversion for nested
//! results); the TypeScript wrapper in `integrations/` parses them and runs JS handlers.
//! Every export catches panics, and every engine error becomes a JS `Error` whose `code`
//! is the engine's stable code.

mod bank;
mod error;
mod knowledge;
mod rules;
mod system;

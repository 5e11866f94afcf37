//! Cedar-based verification of agent actions.
//!
//! # Request mapping
//!
//! A tool call is turned into a Cedar request as follows (see [`RequestMapping`]):
//!
//! | Cedar      | Value                                                              |
//! |------------|--------------------------------------------------------------------|
//! | principal  | `Agent::"<agent id>"` (type name configurable)                      |
//! | action     | `Action::"<action name>"` (type name configurable, e.g. `App::Action`) |
//! | resource   | `Resource::"<id>"` by default; callers may pass any `Type::"id"`     |
//! | context    | a JSON object built by the caller, conventionally `{ params, priorSteps, approvals, session, stepIndex, ... }` |
//!
//! # Fail closed
//!
//! A policy whose scope matches and whose condition cannot be evaluated (a missing attribute,
//! a type error) **denies** the request, and the erroring policies are the determining ones —
//! a deliberate difference from Cedar, which skips an erroring policy. With a schema, the
//! policies are validated in strict mode, and every request is validated against the action's
//! declared context (restricted to the attributes the schema declares; strictly validated
//! policies can read no other) before evaluation: a request that does not conform is denied
//! with the validation error. Errors are reported in [`Decision::errors`].
//!
//! # Files
//!
//! `authorizer` ([`PolicyEngine`]: load, decide, cache), `compiled` (policies compiled into
//! expression trees and evaluated straight from the request's JSON, with the interpreter as
//! fallback), `request` (the request and its Cedar form), `decision` (what a decision says), `context_use` and `cache` (the decision cache),
//! `near_miss` and `condition_text` (explaining a default deny), `certificate` and `replay`
//! (certifying a decision, and checking a certificate with a fresh authorizer), `diagnostics`
//! (messages with policy ids and line/column), `canonical` (canonical JSON and digests),
//! `nesting`, `hierarchy` and `parser_thread` (input bounds).
//!
//! # Design
//!
//! * [`PolicyEngine`] keeps an immutable snapshot (`Arc`) of the parsed policies, schema,
//!   entities and near-miss probes behind a `parking_lot::RwLock`; readers clone the `Arc` and
//!   evaluate without holding the lock, writers build a new snapshot and swap it atomically, so a
//!   failed `load` keeps the previous set.
//! * Policy ids come from `@id("...")` annotations when present, else Cedar's `policy0..`.
//! * Parse and validation errors name the policy id and the line/column computed from the
//!   source offsets Cedar reports (see [`diagnostics`]).
//! * Policies in the supported Cedar subset are compiled at load and evaluated without Cedar's
//!   interpreter (see `compiled`); the others, and every request on which a compiled condition
//!   errors, are decided by the interpreter, so answers, determining policies and error texts
//!   are Cedar's. `PolicySetInfo::evaluation` says which policies are compiled.
//! * Each request is evaluated against the slice of policies whose action constraint can
//!   match its action (memoised per action and snapshot); this gives exactly Cedar's decision,
//!   determining policies and errors, because a policy whose scope fails never reaches its
//!   conditions.
//! * On a default deny, permit policies are split into single-constraint probe policies to
//!   report near misses (see `near_miss`).
//! * Decisions are memoised in a bounded concurrent cache keyed by the snapshot epoch, the
//!   principal, action and resource, and the canonical JSON of the context attributes the
//!   action's policies can read (`context_use`; the whole context when a policy uses it as a
//!   whole), so a decision can never outlive a `load` or `set_entities` and never ignores an
//!   attribute a policy reads. A hit is re-certified for the request at hand.
//! * Input is bounded before Cedar sees it, and parsed on a thread with a large stack: policy
//!   and schema nesting (`nesting`), the size of the entity hierarchy (`hierarchy`), see
//!   `parser_thread`. No policy, schema or entity text can overflow a stack.
//! * Every decision carries a [`Certificate`] that [`check_certificate`] replays with a fresh
//!   authorizer.

mod authorizer;
mod cache;
mod canonical;
mod certificate;
mod compiled;
mod condition_text;
mod context_use;
mod decision;
pub mod diagnostics;
mod hierarchy;
#[cfg(test)]
mod input_limits_tests;
mod near_miss;
mod nesting;
mod parser_thread;
mod replay;
mod request;

pub use authorizer::{
    EvaluationMode, EvaluationStats, PolicyEngine, PolicyEvaluation, PolicySetInfo, Verdict,
};
pub use cache::CacheStats;
pub use certificate::{cedar_version, Certificate, CertificateCheck, CertifiedRequest};
pub use decision::{Decision, DecisionKind, NearMiss, PolicyRef};
pub use hierarchy::MAX_HIERARCHY_LINKS;
pub use nesting::{MAX_POLICY_NESTING, MAX_SCHEMA_NESTING, MAX_TEXT_NESTING};
pub use replay::check_certificate;
pub use request::{quoted_ref, AuthzRequest, EntityRef, RequestMapping};

//! Agents' vocabulary: what an action is, what a session remembers, how a plan is made and
//! how an outcome becomes a reward.
//!
//! - [`action`]: [`ActionSpec`] (a registered action) and the [`ActionRegistry`] that holds them;
//! - [`session`]: per-session context, bounded history and the facts its steps established;
//! - [`ledger`]: what a session did (succeeded, denied, failed steps; runs per action) — what
//!   policies read as `priorSteps`, `deniedSteps`, `failedSteps` and `runs`;
//! - [`planner`]: ranks registered actions by relevance to a chunk and chains
//!   preconditions/effects into multi-step plans;
//! - [`reward`]: turns an [`HandlerOutcome`] into a reward, never a constant.

pub mod action;
pub mod ledger;
pub mod planner;
pub mod reward;
pub mod session;

pub use action::{ActionRegistry, ActionSpec};
pub use ledger::{Ledger, RunsConfig, StepKind};
pub use planner::{BelowThreshold, NoRelevantAction, Plan, PlanCandidate, Planner};
pub use reward::{reward_for, HandlerOutcome};
pub use session::{Enforcement, HistoryEntry, PriorSteps, Session, SessionContext};

#[cfg(test)]
mod tests;

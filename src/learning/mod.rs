//! Stream learning: an online contextual-bandit learner in the style of Vowpal Wabbit.
//!
//! For each chunk the engine describes the context as hashed sparse features
//! ([`ContextFeatures`]: chunk words, entity types, session preferences, named numbers), asks
//! the [`Learner`] to [`choose`](Learner::choose) among candidate actions, runs the chosen
//! one, and reports the reward with [`update`](Learner::update).
//!
//! - [`features`]: tokenizer, MurmurHash3 feature hashing, context × action crossing;
//! - [`weights`]: hashed linear reward model trained with normalised, invariant steps (each
//!   weight its own running-mean share, never past the target); the global model is
//!   lock-free (Hogwild!), each session adds its own delta model;
//! - [`exploration`]: ε-greedy, softmax with an ε floor, UCB optimism; propensities logged;
//! - [`offpolicy`]: IPS / SNIPS / doubly robust estimates from logged propensities, and
//!   [`evaluate_config`]: what another learner configuration would have earned on the journal;
//! - [`drift`]: drift detection per session and action (CUSUM on standardised prediction
//!   errors), which temporarily raises the learning rate, caps the exposures of the weights it
//!   touches and explores more, so the model can move again;
//! - [`adaptation`]: immediate, mini-batch or experience-replay updates;
//! - [`config`]: [`LearnerConfig`] with defaults, camelCase JSON and validation;
//! - [`learner`]: sessions, the global model and statistics;
//! - [`persist`]: SQLite save / load (`la_learner_*` tables).

pub mod adaptation;
pub mod config;
pub mod drift;
pub mod exploration;
pub mod features;
pub mod learner;
pub mod offpolicy;
pub mod persist;
pub mod weights;

#[cfg(test)]
mod tests;

pub use adaptation::AdaptationStrategy;
pub use config::LearnerConfig;
pub use drift::{DriftConfig, PageHinkley};
pub use exploration::Exploration;
pub use features::{tokenize, ContextFeatures, ContextFeaturesBuilder, ContextSpec};
pub use learner::{ArmCandidate, Choice, Learner, LearnerStats, SessionStats, UpdateReport};
pub use offpolicy::{
    evaluate_config, ips_estimate, ChoiceLog, Estimate, LoggedCandidate, LoggedDecision,
    LoggedStep, OffPolicyEstimate, OffPolicyLog,
};
pub use persist::ensure_schema;

//! Off-policy evaluation on the journal: what another learner configuration would have earned
//! on the traffic this system logged, without running it.
//!
//! Every step the learner chose is journaled with the learner's view of the chunk (hashed
//! features), the candidates with their priors and what the verifier allowed, the action that
//! ran, its propensity and its reward (`journal.rs`). [`Engine::evaluate_policy`] overlays the
//! given learner settings on this system's own, reads the steps (`since`, `sessions`) and hands
//! them to `learning::evaluate_config`, which replays them through a fresh learner and returns
//! IPS, SNIPS and doubly robust estimates with 95% intervals.

use super::*;
use crate::learning::OffPolicyEstimate;

/// The settings `evaluatePolicy` accepts: the learner's keys of `open()`.
const KEYS: &[&str] = &["learningRate", "explorationRate", "learner"];
/// The options it accepts.
const OPTION_KEYS: &[&str] = &["since", "sessions"];

impl Engine {
    /// Estimates what a learner configured as this system's, with `settings` (`learningRate`,
    /// `explorationRate`, `learner` — its keys replace this system's) applied, would have
    /// earned on the journaled steps selected by `options` (`since`: ms since the epoch,
    /// `sessions`: ids).
    pub fn evaluate_policy(&self, settings: &Value, options: &Value) -> Result<OffPolicyEstimate> {
        self.ensure_open()?;
        let settings = object_of("evaluatePolicy settings", settings, KEYS)?;
        let options = object_of("evaluatePolicy options", options, OPTION_KEYS)?;
        let mut cfg = self.config.clone();
        let number = |key: &str, into: &mut f64| -> Result<()> {
            if let Some(v) = settings.get(key) {
                *into = v.as_f64().ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidConfig,
                        format!("{key} must be a number, got {v}"),
                    )
                })?;
            }
            Ok(())
        };
        number("learningRate", &mut cfg.learning_rate)?;
        number("explorationRate", &mut cfg.exploration_rate)?;
        if let Some(v) = settings.get("learner") {
            let Value::Object(over) = v else {
                return err(
                    ErrorCode::InvalidConfig,
                    format!("learner must be an object, got {v}"),
                );
            };
            let mut merged = match &cfg.learner {
                Some(Value::Object(o)) => o.clone(),
                _ => serde_json::Map::new(),
            };
            for (k, v) in over {
                merged.insert(k.clone(), v.clone());
            }
            cfg.learner = Some(Value::Object(merged));
        }
        cfg.validate()?;
        let mut learner = cfg.learner_config()?;
        // The replay uses probabilities, never draws: any seed gives the same estimate.
        learner.seed = Some(0);
        let since = match options.get("since") {
            None | Some(Value::Null) => i64::MIN,
            Some(v) => match v.as_f64() {
                Some(ms) if ms.is_finite() => ms as i64,
                _ => {
                    return err(
                        ErrorCode::InvalidInput,
                        format!("since must be a time in ms since the epoch (or a Date), got {v}"),
                    )
                }
            },
        };
        let sessions: Option<Vec<String>> = match options.get("sessions") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|s| {
                        s.as_str().map(str::to_string).ok_or_else(|| {
                            Error::new(
                                ErrorCode::InvalidInput,
                                format!("sessions must be an array of session ids, got {s} in it"),
                            )
                        })
                    })
                    .collect::<Result<_>>()?,
            ),
            Some(v) => {
                return err(
                    ErrorCode::InvalidInput,
                    format!("sessions must be an array of session ids, got {v}"),
                )
            }
        };
        let (steps, skipped) = self.journal.logged_steps(since, sessions.as_deref())?;
        crate::learning::evaluate_config(&learner, &steps, skipped)
    }
}

/// `value` as an object whose keys are all in `known` (`null` is the empty object).
fn object_of<'a>(
    what: &str,
    value: &'a Value,
    known: &[&str],
) -> Result<std::borrow::Cow<'a, serde_json::Map<String, Value>>> {
    let obj = match value {
        Value::Null => return Ok(std::borrow::Cow::Owned(serde_json::Map::new())),
        Value::Object(o) => o,
        other => {
            return err(
                ErrorCode::InvalidConfig,
                format!("{what} must be an object, got {other}"),
            )
        }
    };
    if let Some(message) = crate::text::unknown_key(obj.keys(), known, &format!("key in {what}")) {
        return err(ErrorCode::InvalidConfig, message);
    }
    Ok(std::borrow::Cow::Borrowed(obj))
}

//! The Cedar context of a step: one builder for the verify stage and `verifyAction`.
//!
//! Every action is decided on the same record, whoever asks:
//!
//! | attribute     | value                                                                   |
//! |---------------|-------------------------------------------------------------------------|
//! | `params`      | the action's parameters (a chunk's text and entities, or the caller's)  |
//! | `priorSteps`  | distinct actions this session ran and that succeeded (the whole session) |
//! | `deniedSteps` | distinct actions verification refused in this session                   |
//! | `failedSteps` | distinct actions that ran and failed                                    |
//! | `runs`        | per action: counts, windowed counts and sums, seconds since the last run |
//! | `approvals`   | the session environment's `approvals` (or the caller's)                 |
//! | `session`     | `{id, preferences, environment}` when there is a session                |
//! | `stepIndex`   | steps this session finished before this one                             |
//!
//! plus any extra fields a `verifyAction` caller passes (they cannot replace the engine's).
//! `runs` is built only when a policy of the action can read it (it costs a record per
//! action); the decision cache keys on what policies read, so leaving it out changes no
//! decision.
//!
//! JSON values become Cedar values by [`make_cedar_safe`]: Cedar has integers (`Long`) and
//! `decimal` (four fractional digits) but no floating point, so a fraction that fits a decimal
//! becomes one and any other non-`Long` number becomes a string — a value on which numeric
//! comparisons fail, and a failing policy denies (fail closed), so a number Cedar cannot hold
//! never passes a numeric rule silently.

use serde_json::{json, Map, Value};

use crate::agent::{PriorSteps, Session};

/// What a step's context is made of; [`StepContext::build`] turns it into the record.
#[derive(Debug, Default)]
pub struct StepContext {
    /// The action's parameters (`null` becomes `{}`).
    pub params: Value,
    /// The session's ledger lists and step index.
    pub prior: PriorSteps,
    /// Approvals granted.
    pub approvals: Value,
    /// `{id, preferences, environment}` of the session, when there is one.
    pub session: Option<Value>,
    /// The `runs` record, when a policy reads it.
    pub runs: Option<Value>,
    /// Extra caller fields (the engine's own attributes take precedence).
    pub extra: Map<String, Value>,
}

impl StepContext {
    /// The context of a step of `session`: its ledger, approvals and identity.
    pub fn of_session(session: &Session, params: Value) -> StepContext {
        StepContext {
            params,
            prior: session.prior_steps(),
            approvals: session_approvals(session),
            session: Some(session_json(session)),
            runs: None,
            extra: Map::new(),
        }
    }

    /// The Cedar context record, made Cedar-safe.
    pub fn build(self) -> Value {
        let mut m = self.extra;
        m.insert("approvals".into(), self.approvals);
        m.insert("deniedSteps".into(), strings(self.prior.denied));
        m.insert("failedSteps".into(), strings(self.prior.failed));
        m.insert(
            "params".into(),
            if self.params.is_null() {
                json!({})
            } else {
                self.params
            },
        );
        m.insert("priorSteps".into(), strings(self.prior.succeeded));
        if let Some(runs) = self.runs {
            m.insert("runs".into(), runs);
        } else {
            m.remove("runs");
        }
        match self.session {
            Some(s) => {
                m.insert("session".into(), s);
            }
            None => {
                m.remove("session");
            }
        }
        m.insert("stepIndex".into(), Value::from(self.prior.step_index));
        let mut v = Value::Object(m);
        make_cedar_safe(&mut v);
        v
    }
}

fn strings(v: Vec<String>) -> Value {
    Value::Array(v.into_iter().map(Value::String).collect())
}

/// The `session` part of a Cedar context: `{id, preferences, environment}`.
pub fn session_json(session: &Session) -> Value {
    let mut m = Map::with_capacity(3);
    m.insert(
        "environment".into(),
        Value::Object(session.context.environment.clone()),
    );
    m.insert("id".into(), Value::String(session.id.clone()));
    m.insert(
        "preferences".into(),
        Value::Object(session.context.preferences.clone()),
    );
    Value::Object(m)
}

/// The approvals a session's environment grants (`[]` when none).
pub fn session_approvals(session: &Session) -> Value {
    session
        .context
        .environment
        .get("approvals")
        .cloned()
        .unwrap_or_else(|| json!([]))
}

/// Cedar's `decimal` holds at most this many fractional digits.
const DECIMAL_DIGITS: usize = 4;

/// Converts a value for Cedar, in place: integers that fit a `Long` stay; other numbers
/// become a `decimal` when their shortest decimal text has at most four fractional digits and
/// fits, else a string; `null` becomes an empty string.
pub fn make_cedar_safe(v: &mut Value) {
    match v {
        Value::Number(n) if n.as_i64().is_none() => {
            *v = match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
                Some(f) => decimal_of(f).unwrap_or_else(|| Value::String(n.to_string())),
                None => Value::String(n.to_string()),
            }
        }
        Value::Array(a) => a.iter_mut().for_each(make_cedar_safe),
        Value::Object(o) => o.values_mut().for_each(make_cedar_safe),
        Value::Null => *v = Value::String(String::new()),
        _ => {}
    }
}

/// `f` as Cedar's `decimal(...)` extension value, when it is one exactly.
fn decimal_of(f: f64) -> Option<Value> {
    if !f.is_finite() {
        return None;
    }
    // Rust prints the shortest text that reads back as `f`, without an exponent.
    let text = format!("{f}");
    let (int, frac) = text.split_once('.')?;
    if frac.is_empty() || frac.len() > DECIMAL_DIGITS {
        return None;
    }
    // decimal is an i64 count of 10^-4: the integer part must stay within ±922337203685477.
    let whole: i64 = int.parse().ok()?;
    if whole.unsigned_abs() > 922_337_203_685_476 {
        return None;
    }
    Some(json!({ "__extn": { "fn": "decimal", "arg": text } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_longs_decimals_or_strings() {
        let mut v = json!({"a": 5, "b": 20000.5, "c": 0.123456, "d": 1e300, "e": 1.0, "f": -0.25,
                           "g": null, "h": [1.5], "i": 18446744073709551615u64});
        make_cedar_safe(&mut v);
        assert_eq!(v["a"], json!(5));
        assert_eq!(
            v["b"],
            json!({"__extn": {"fn": "decimal", "arg": "20000.5"}})
        );
        assert_eq!(v["c"], json!("0.123456"));
        assert!(v["d"].is_string());
        assert_eq!(v["e"], json!(1));
        assert_eq!(v["f"], json!({"__extn": {"fn": "decimal", "arg": "-0.25"}}));
        assert_eq!(v["g"], json!(""));
        assert_eq!(v["h"][0]["__extn"]["arg"], json!("1.5"));
        assert_eq!(v["i"], json!("18446744073709551615"));
    }

    #[test]
    fn the_engine_attributes_win_over_extra_fields() {
        let mut extra = Map::new();
        extra.insert("priorSteps".into(), json!(["forged"]));
        extra.insert("workflowId".into(), json!("w"));
        let v = StepContext {
            prior: PriorSteps {
                succeeded: vec!["a".into()],
                ..PriorSteps::default()
            },
            extra,
            ..StepContext::default()
        }
        .build();
        assert_eq!(v["priorSteps"], json!(["a"]));
        assert_eq!(v["workflowId"], json!("w"));
        assert_eq!(v["params"], json!({}));
        assert!(v.get("session").is_none() && v.get("runs").is_none());
    }
}

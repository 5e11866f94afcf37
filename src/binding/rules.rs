//! The rule engine's methods on `NativeSystem` (`addRule`, `assertFact`, `proveTheorem`, ...).

use napi_derive::napi;
use serde_json::json;

use super::error::{parse_json, to_js, to_json};
use super::system::NativeSystem;
use crate::error::ErrorCode;
use crate::reasoning::rules::{check_proof_json, ProveOptions};

#[napi]
impl NativeSystem {
    /// Adds rules (text syntax); returns their ids.
    #[napi(catch_unwind)]
    pub fn add_rules(&self, text: String) -> napi::Result<Vec<String>> {
        self.engine()?.add_rules(&text).map_err(to_js)
    }

    /// Asserts a ground fact.
    #[napi(catch_unwind)]
    pub fn assert_fact(&self, text: String) -> napi::Result<()> {
        self.engine()?.assert_fact(&text).map_err(to_js)
    }

    /// Retracts a fact; true when it was there.
    #[napi(catch_unwind)]
    pub fn retract_fact(&self, text: String) -> napi::Result<bool> {
        self.engine()?.retract_fact(&text).map_err(to_js)
    }

    /// Proves a goal: `{proved: true, id, statement, proof, tags}` or
    /// `{proved: false, goal, reason, failedSubgoals}` as JSON.
    #[napi(catch_unwind)]
    pub fn prove_theorem(
        &self,
        goal: String,
        options_json: Option<String>,
    ) -> napi::Result<String> {
        let opts: ProveOptions = match options_json {
            Some(t) => parse_json("prove options", &t)?,
            None => ProveOptions::default(),
        };
        match self.engine()?.prove_theorem(&goal, &opts).map_err(to_js)? {
            Ok(theorem) => {
                let mut v = serde_json::to_value(&theorem).unwrap_or_default();
                v["proved"] = json!(true);
                to_json(&v)
            }
            Err(failed) => {
                let mut v = serde_json::to_value(&failed).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.remove("status");
                    o.insert("proved".into(), json!(false));
                }
                to_json(&v)
            }
        }
    }

    /// The stored theorems as JSON.
    #[napi(catch_unwind)]
    pub fn theorems(&self) -> napi::Result<String> {
        to_json(&self.engine()?.theorems().map_err(to_js)?)
    }
}

/// Re-verifies a proof (JSON) against rules and facts (text) with the independent checker:
/// `{valid: true}` or `{valid: false, reason}` as JSON.
#[napi(catch_unwind)]
#[cfg_attr(test, allow(dead_code))]
pub fn check_proof(
    proof_json: String,
    rules_text: String,
    facts_text: String,
) -> napi::Result<String> {
    match check_proof_json(&proof_json, &rules_text, &facts_text) {
        Ok(()) => to_json(&json!({ "valid": true })),
        Err(e) if e.code == ErrorCode::ProofInvalid => {
            to_json(&json!({ "valid": false, "reason": e.message }))
        }
        Err(e) => Err(to_js(e)),
    }
}

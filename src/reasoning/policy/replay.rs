//! Replaying a certificate: is this decision what these policies, this schema and these
//! entities decide for this request? A fresh authorizer (no cache, nothing shared with the
//! engine that issued it) re-hashes the inputs and re-decides the certified request, so a
//! certificate can be checked anywhere, later, by anyone holding the policies.

use super::authorizer::PolicyEngine;
use super::certificate::{cedar_version, Certificate, CertificateCheck};
use super::request::RequestMapping;
use crate::error::Result;

/// Re-checks a certificate against the policy text, schema and entity JSON it claims.
///
/// Errors only when the given policies/schema/entities themselves do not parse; a mismatch of
/// any kind gives `valid: false` with the reason.
pub fn check_certificate(
    cert: &Certificate,
    policies: &str,
    schema: Option<&str>,
    entities: Option<&str>,
) -> Result<CertificateCheck> {
    let mapping = RequestMapping {
        action_type: cert.request.action.entity_type.clone(),
        ..RequestMapping::default()
    };
    let engine = PolicyEngine::with_options(mapping, 0);
    engine.load(policies, schema)?;
    if let Some(entities) = entities {
        engine.set_entities(entities)?;
    }
    let (policy_hash, schema_hash, entities_hash) = engine.hashes();
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    if cert.digest != cert.compute_digest() {
        problems.push("the certificate was altered after it was issued (digest mismatch)".into());
    }
    if cert.policy_set_hash != policy_hash {
        problems.push(format!(
            "policy set hash differs: certificate {} but the given policies hash to {policy_hash}",
            cert.policy_set_hash
        ));
    }
    if cert.schema_hash != schema_hash {
        problems.push(format!(
            "schema hash differs: certificate {:?} but the given schema hashes to {schema_hash:?}",
            cert.schema_hash
        ));
    }
    if cert.entities_hash != entities_hash {
        problems.push(format!(
            "entities hash differs: certificate {} but the given entities hash to {entities_hash}",
            cert.entities_hash
        ));
    }
    if cert.cedar_version != cedar_version() {
        notes.push(format!(
            "note: issued with Cedar {} and replayed with Cedar {}",
            cert.cedar_version,
            cedar_version()
        ));
    }
    match engine.replay(&cert.request) {
        Ok((decision, ids)) => {
            if decision != cert.decision {
                problems.push(format!(
                    "replay decided {} but the certificate says {}",
                    decision.as_str(),
                    cert.decision.as_str()
                ));
            }
            if ids != cert.determining_policy_ids {
                problems.push(format!(
                    "replay was determined by {ids:?} but the certificate says {:?}",
                    cert.determining_policy_ids
                ));
            }
        }
        Err(e) => problems.push(format!(
            "the certified request cannot be replayed: {}",
            e.message
        )),
    }
    let valid = problems.is_empty();
    let mut reasons = if valid {
        vec![
            "hashes of policies, schema and entities match".to_string(),
            format!(
                "replay reproduced decision {} determined by {:?}",
                cert.decision.as_str(),
                cert.determining_policy_ids
            ),
        ]
    } else {
        problems
    };
    reasons.extend(notes);
    Ok(CertificateCheck { valid, reasons })
}

//! Decision certificates and their independent re-checking.
//!
//! A [`Certificate`] records the exact request, the SHA-256 hashes of the canonical policy
//! text, schema text and entity JSON, the Cedar language version, the decision and the
//! determining policy ids, plus a `digest` over all of these. [`check_certificate`] re-parses the
//! given policies/schema/entities, compares hashes, recomputes the digest and replays the
//! request with a fresh authorizer. The digest is an integrity checksum, not a signature:
//! the replay is what proves the decision.

use serde::{Deserialize, Serialize};

use super::canonical::{sha256_hex_bytes, write_canonical, write_json_string};
use super::decision::DecisionKind;
use super::request::EntityRef;

/// The request as certified: full entity uids for principal, action and resource.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertifiedRequest {
    /// The principal, e.g. `Agent::"planner"`.
    pub principal: EntityRef,
    /// The action entity, e.g. `Action::"pay"`.
    pub action: EntityRef,
    /// The resource entity.
    pub resource: EntityRef,
    /// The context record.
    pub context: serde_json::Value,
}

/// A replayable record of one decision.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// The request that was decided.
    pub request: CertifiedRequest,
    /// SHA-256 (hex) of the canonical policy text.
    pub policy_set_hash: String,
    /// SHA-256 (hex) of the schema text, if a schema was loaded.
    pub schema_hash: Option<String>,
    /// SHA-256 (hex) of the canonical entity JSON.
    pub entities_hash: String,
    /// Cedar language version used, e.g. `4.4.0`.
    pub cedar_version: String,
    /// What the policies decided for the request.
    pub decision: DecisionKind,
    /// Ids of the determining policies, sorted.
    pub determining_policy_ids: Vec<String>,
    /// Milliseconds since the Unix epoch when the decision was made.
    pub issued_at_ms: u64,
    /// SHA-256 over the canonical JSON of all other fields.
    pub digest: String,
}

/// The result of re-checking a certificate.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateCheck {
    /// True when hashes, digest and replayed decision all agree.
    pub valid: bool,
    /// What was checked and, when invalid, what did not match.
    pub reasons: Vec<String>,
}

/// The Cedar language version linked into this build.
pub fn cedar_version() -> String {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION
        .get_or_init(|| cedar_policy::get_lang_version().to_string())
        .clone()
}

impl Certificate {
    /// Builds a certificate stamped with the current time and its digest.
    pub(crate) fn issue(
        request: CertifiedRequest,
        policy_set_hash: String,
        schema_hash: Option<String>,
        entities_hash: String,
        decision: DecisionKind,
        determining_policy_ids: Vec<String>,
    ) -> Self {
        let issued_at_ms = crate::time::now_ms().max(0) as u64;
        let mut cert = Certificate {
            request,
            policy_set_hash,
            schema_hash,
            entities_hash,
            cedar_version: cedar_version(),
            decision,
            determining_policy_ids,
            issued_at_ms,
            digest: String::new(),
        };
        cert.digest = cert.compute_digest();
        cert
    }

    /// SHA-256 over a canonical encoding of every field except `digest`: each field is
    /// written as canonical JSON, fields separated by U+001F, in declaration order.
    pub fn compute_digest(&self) -> String {
        let r = &self.request;
        let mut text: Vec<u8> = Vec::with_capacity(512);
        for entity in [&r.principal, &r.action, &r.resource] {
            write_json_string(&entity.entity_type, &mut text);
            text.push(FIELD_SEPARATOR);
            write_json_string(&entity.id, &mut text);
            text.push(FIELD_SEPARATOR);
        }
        write_canonical(&r.context, &mut text);
        text.push(FIELD_SEPARATOR);
        write_json_string(&self.policy_set_hash, &mut text);
        text.push(FIELD_SEPARATOR);
        match &self.schema_hash {
            Some(hash) => write_json_string(hash, &mut text),
            None => text.extend_from_slice(b"null"),
        }
        text.push(FIELD_SEPARATOR);
        write_json_string(&self.entities_hash, &mut text);
        text.push(FIELD_SEPARATOR);
        write_json_string(&self.cedar_version, &mut text);
        text.push(FIELD_SEPARATOR);
        text.extend_from_slice(self.decision.as_str().as_bytes());
        text.push(FIELD_SEPARATOR);
        text.push(b'[');
        for (i, id) in self.determining_policy_ids.iter().enumerate() {
            if i > 0 {
                text.push(b',');
            }
            write_json_string(id, &mut text);
        }
        text.push(b']');
        text.push(FIELD_SEPARATOR);
        text.extend_from_slice(self.issued_at_ms.to_string().as_bytes());
        text.push(FIELD_SEPARATOR);
        sha256_hex_bytes(&text)
    }
}

/// U+001F, written after every field of the digested text.
const FIELD_SEPARATOR: u8 = 0x1f;

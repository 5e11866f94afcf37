//! The engine's authorization request and its mapping onto Cedar.

use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{Context, EntityId, EntityTypeName, EntityUid, Request, Schema};
use serde::{Deserialize, Serialize};

use super::context_use::{plain_cedar_value, ContextUse};
use crate::error::{err, Error, ErrorCode, Result};

/// A reference to a Cedar entity: `Type::"id"`.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityRef {
    /// The entity type, e.g. `Agent` or `App::Document`.
    pub entity_type: String,
    /// The entity id, e.g. `planner-1`.
    pub id: String,
}

impl EntityRef {
    /// Builds an entity reference from a type and an id.
    pub fn new(entity_type: impl Into<String>, id: impl Into<String>) -> Self {
        EntityRef {
            entity_type: entity_type.into(),
            id: id.into(),
        }
    }

    /// Parses `Type::"id"`; a bare `id` (no `::"`) gets `default_type`.
    pub fn parse(text: &str, default_type: &str) -> Result<Self> {
        match text.find("::\"") {
            Some(pos) if text.ends_with('"') && text.len() >= pos + 4 => Ok(EntityRef::new(
                &text[..pos],
                unescape(&text[pos + 3..text.len() - 1]),
            )),
            Some(_) => err(
                ErrorCode::InvalidInput,
                format!("entity reference {text:?} must look like Type::\"id\""),
            ),
            None => Ok(EntityRef::new(default_type, text)),
        }
    }

    /// Converts to a Cedar entity uid, checking that the type name is valid Cedar.
    pub(crate) fn to_uid(&self, role: &str, types: &TypeNameCache) -> Result<EntityUid> {
        let type_name = types.resolve(&self.entity_type, role)?;
        Ok(EntityUid::from_type_name_and_id(
            type_name,
            EntityId::new(&self.id),
        ))
    }
}

/// Memoises parsed Cedar type names (parsing a name runs Cedar's parser, which dominates the
/// cost of building a request). Bounded: beyond [`TypeNameCache::CAPACITY`] names are parsed
/// every time.
#[derive(Default)]
pub(crate) struct TypeNameCache {
    names: dashmap::DashMap<String, (EntityTypeName, Arc<str>), crate::fast_hash::FastHash>,
}

impl TypeNameCache {
    const CAPACITY: usize = 1024;

    /// The parsed type name, or an `InvalidInput` error naming the request part.
    pub(crate) fn resolve(&self, name: &str, role: &str) -> Result<EntityTypeName> {
        self.resolve_both(name, role).map(|(parsed, _)| parsed)
    }

    /// The type name as Cedar displays it (how the compiled evaluator compares types), or
    /// the error of [`Self::resolve`].
    pub(crate) fn display(&self, name: &str, role: &str) -> Result<Arc<str>> {
        if let Some(hit) = self.names.get(name) {
            return Ok(hit.value().1.clone());
        }
        self.resolve_both(name, role).map(|(_, shown)| shown)
    }

    fn resolve_both(&self, name: &str, role: &str) -> Result<(EntityTypeName, Arc<str>)> {
        if let Some(hit) = self.names.get(name) {
            return Ok(hit.value().clone());
        }
        if name.trim().is_empty() {
            return err(
                ErrorCode::InvalidInput,
                format!("the {role} entity type is empty; give a Cedar type name such as Agent"),
            );
        }
        let parsed = EntityTypeName::from_str(name).map_err(|e| {
            Error::new(
                ErrorCode::InvalidInput,
                format!("the {role} entity type {name:?} is not a valid Cedar type name: {e}"),
            )
        })?;
        let shown: Arc<str> = Arc::from(parsed.to_string());
        if self.names.len() < Self::CAPACITY {
            self.names
                .insert(name.to_string(), (parsed.clone(), shown.clone()));
        }
        Ok((parsed, shown))
    }
}

impl std::fmt::Display for EntityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{:?}", self.entity_type, self.id)
    }
}

/// Undoes the `\"` and `\\` escapes of a quoted entity id, in one pass (any other character,
/// a NUL or a newline included, stands for itself).
fn unescape(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ ('"' | '\\')) => out.push(next),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// `Type::"id"` with the id escaped so that [`EntityRef::parse`] gives `id` back exactly.
pub fn quoted_ref(entity_type: &str, id: &str) -> String {
    let mut out = String::with_capacity(entity_type.len() + id.len() + 4);
    out.push_str(entity_type);
    out.push_str("::\"");
    for c in id.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One authorization question: may `principal` perform `action` on `resource` in `context`?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzRequest {
    /// Who acts, usually `Agent::"<agent id>"`.
    pub principal: EntityRef,
    /// The action name (the id of the action entity, e.g. `pay`).
    pub action: String,
    /// What is acted on.
    pub resource: EntityRef,
    /// A JSON object: `{ params, priorSteps, approvals, session, stepIndex, ... }`.
    #[serde(default = "empty_object")]
    pub context: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// A Cedar request, or why it does not conform to the schema.
pub(crate) enum Built {
    /// The request, ready to evaluate.
    Request(Box<Request>),
    /// The schema's request validation refused it (the message says why).
    Nonconforming(String),
}

/// How agent ids, action names and resource ids become Cedar entity uids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestMapping {
    /// Entity type of principals (default `Agent`).
    pub principal_type: String,
    /// Entity type of actions (default `Action`; e.g. `App::Action` for a namespace).
    pub action_type: String,
    /// Entity type of resources given as a bare id (default `Resource`).
    pub resource_type: String,
}

impl Default for RequestMapping {
    fn default() -> Self {
        RequestMapping {
            principal_type: "Agent".into(),
            action_type: "Action".into(),
            resource_type: "Resource".into(),
        }
    }
}

impl RequestMapping {
    /// Builds a request for a tool call. `resource` may be a bare id or `Type::"id"`.
    pub fn request(
        &self,
        agent_id: &str,
        action: &str,
        resource: &str,
        context: serde_json::Value,
    ) -> Result<AuthzRequest> {
        Ok(AuthzRequest {
            principal: EntityRef::new(&self.principal_type, agent_id),
            action: action.to_string(),
            resource: EntityRef::parse(resource, &self.resource_type)?,
            context,
        })
    }
}

impl AuthzRequest {
    /// Checks the request's shape, with messages that say what to fix.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.principal.id.is_empty() {
            return err(ErrorCode::InvalidInput, "the principal (agent) id is empty");
        }
        if self.action.trim().is_empty() {
            return err(ErrorCode::InvalidInput, "the action name is empty");
        }
        if !self.context.is_object() {
            return err(
                ErrorCode::InvalidInput,
                "the request context must be a JSON object such as {\"params\": {...}}",
            );
        }
        Ok(())
    }

    /// The Cedar request for a decision: without a schema, [`Self::to_cedar_reading`]; with
    /// one, the context restricted to the attributes the action's context type declares
    /// (strictly validated policies can read no other) and validated by Cedar's request
    /// validation, so a value of the wrong type is reported as such. A request that does
    /// not conform is [`Built::Nonconforming`] (the caller denies it); an `Err` is a malformed
    /// request (bad type names, a context that is not an object).
    pub(crate) fn to_cedar_checked(
        &self,
        action_type: &str,
        types: &TypeNameCache,
        reads: &ContextUse,
        schema: Option<&cedar_policy::Schema>,
    ) -> Result<Built> {
        let Some(schema) = schema else {
            return self
                .to_cedar_reading(action_type, types, reads)
                .map(|r| Built::Request(Box::new(r)));
        };
        self.validate()?;
        let principal = self.principal.to_uid("principal", types)?;
        let action = EntityRef::new(action_type, &self.action).to_uid("action", types)?;
        let resource = self.resource.to_uid("resource", types)?;
        let declared = declared_context_attrs(schema, &action);
        let projected: serde_json::Map<String, serde_json::Value> = self
            .context
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| declared.iter().any(|d| d == *k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let context = match Context::from_json_value(
            serde_json::Value::Object(projected),
            Some((schema, &action)),
        ) {
            Ok(c) => c,
            Err(e) => {
                let hint = if has_float(&self.context) {
                    FLOAT_HINT
                } else {
                    ""
                };
                return Ok(Built::Nonconforming(format!("{e}{hint}")));
            }
        };
        match Request::new(principal, action, resource, context, Some(schema)) {
            Ok(r) => Ok(Built::Request(Box::new(r))),
            Err(e) => Ok(Built::Nonconforming(e.to_string())),
        }
    }

    /// [`Self::to_cedar`] with only the context attributes `reads` names, when the context is
    /// a plain record (else the whole context, exactly as `to_cedar`). Policies that read no
    /// other attribute decide the projected request as the whole one; converting less makes
    /// a step's request (whose context carries the chunk text, entities and history) cheap.
    pub(crate) fn to_cedar_reading(
        &self,
        action_type: &str,
        types: &TypeNameCache,
        reads: &ContextUse,
    ) -> Result<Request> {
        self.validate()?;
        let principal = self.principal.to_uid("principal", types)?;
        let action = EntityRef::new(action_type, &self.action).to_uid("action", types)?;
        let resource = self.resource.to_uid("resource", types)?;
        if let Some(context) = fast_context(&self.context, reads) {
            return Request::new(principal, action, resource, context, None)
                .map_err(|e| Error::new(ErrorCode::InvalidInput, format!("invalid request: {e}")));
        }
        let context = Context::from_json_value(self.context.clone(), None).map_err(|e| {
            let hint = if has_float(&self.context) {
                FLOAT_HINT
            } else {
                ""
            };
            Error::new(
                ErrorCode::InvalidInput,
                format!("the request context is not a valid Cedar record: {e}{hint}"),
            )
        })?;
        Request::new(principal, action, resource, context, None)
            .map_err(|e| Error::new(ErrorCode::InvalidInput, format!("invalid request: {e}")))
    }
}

/// Builds the Cedar context directly from plain JSON (strings, booleans, integers, arrays as
/// sets, objects as records) without Cedar's JSON deserializer, whose untagged-enum parsing
/// formats and discards an error per value. Anything else — `__entity`/`__extn` escapes,
/// non-integer numbers, duplicate keys — returns `None` and takes the general path, so the
/// semantics are exactly `Context::from_json_value`'s.
fn fast_context(value: &serde_json::Value, reads: &ContextUse) -> Option<Context> {
    let obj = value.as_object()?;
    let mut pairs = Vec::with_capacity(obj.len());
    for (k, v) in obj {
        // A value left out must still be plain, so the projection answers exactly when the
        // whole context would have.
        if !reads.reads(k) {
            if !plain_cedar_value(v) {
                return None;
            }
            continue;
        }
        pairs.push((k.clone(), fast_value(v)?));
    }
    Context::from_pairs(pairs).ok()
}

fn fast_value(value: &serde_json::Value) -> Option<cedar_policy::RestrictedExpression> {
    use cedar_policy::RestrictedExpression as R;
    use serde_json::Value;
    match value {
        Value::String(s) => Some(R::new_string(s.clone())),
        Value::Bool(b) => Some(R::new_bool(*b)),
        Value::Number(n) => n.as_i64().map(R::new_long),
        Value::Array(items) => items
            .iter()
            .map(fast_value)
            .collect::<Option<Vec<_>>>()
            .map(R::new_set),
        Value::Object(map) => {
            if map.contains_key("__entity")
                || map.contains_key("__extn")
                || map.contains_key("__expr")
            {
                return None;
            }
            let mut fields = Vec::with_capacity(map.len());
            for (k, v) in map {
                fields.push((k.clone(), fast_value(v)?));
            }
            R::new_record(fields).ok()
        }
        Value::Null => None,
    }
}

/// Said when a context holding a raw non-integer number cannot be converted.
const FLOAT_HINT: &str = " (Cedar has no floating-point numbers: send integers, e.g. amounts in \
     cents, or decimals as {\"__extn\": {\"fn\": \"decimal\", \"arg\": \"1.5\"}})";

/// True when a JSON value contains a non-integer number anywhere.
fn has_float(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => !n.is_i64() && !n.is_u64(),
        serde_json::Value::Array(items) => items.iter().any(has_float),
        serde_json::Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

/// The top-level context attributes the schema declares for `action` (none when the action
/// is not declared: its requests do not conform).
pub(crate) fn declared_context_attrs(schema: &Schema, action: &EntityUid) -> Vec<String> {
    use cedar_policy_core::validator::types::Type;
    let core: &cedar_policy_core::validator::ValidatorSchema = schema.as_ref();
    match core.context_type(action.as_ref()) {
        Some(Type::Record { attrs, .. }) => attrs.keys().map(|k| k.to_string()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every id reads back exactly after quoting, whatever it holds (quotes, backslashes, NUL,
    /// newlines, non-ASCII), so a default resource always names the session it was made for.
    #[test]
    fn quoted_ids_read_back_exactly() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let alphabet = ['a', '"', '\\', '\0', '\n', ':', 'é', '𝄞', 'x'];
        for _ in 0..5000 {
            let len = rng.gen_range(0..12);
            let id: String = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            let text = quoted_ref("Resource", &id);
            let back = EntityRef::parse(&text, "Other").unwrap();
            assert_eq!(back, EntityRef::new("Resource", id.clone()), "{text:?}");
        }
    }
}

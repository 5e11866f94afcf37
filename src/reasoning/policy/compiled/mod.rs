//! Compiled policy evaluation: Cedar's answers without Cedar's per-request setup.
//!
//! # Why
//!
//! Real guardrails read what the agent is about to do (`context.params.text like
//! "*password*"`, `context.params.amount < 1000`, the principal's roles), so every step is a
//! different request and the decision cache rarely answers. Cedar's interpreter then costs
//! most of a step: the context is converted into Cedar values, the request is built, every
//! policy's condition expression is rebuilt (`Policy::condition()` allocates the conjunction
//! of scope and clauses on each call) and walked with generic values. This module does that
//! work once, when policies load:
//!
//! * each policy's condition is compiled ([`compile`]) from Cedar's own AST into a small tree:
//!   constant sets and records folded, `like` patterns split at their wildcards, entity types
//!   in the form Cedar displays them;
//! * the entities are indexed once per `set_entities`/`load` ([`entity_table`]): attributes as
//!   data, ancestor closures as integer sets, so `principal in Role::"admin"` is two hash
//!   lookups and a set probe;
//! * a request is evaluated straight from the step's JSON context ([`eval`], [`value`]): no
//!   Cedar `Context`, no `Request`, no allocation unless a policy builds a set.
//!
//! # Exactly Cedar's answers
//!
//! The compiled evaluator answers only when it is sure, and hands the request to Cedar's
//! interpreter otherwise:
//!
//! * a policy using a construct it does not implement (the `ip` and `datetime` extensions,
//!   entity tags, templates) is *interpreted*: it is evaluated by Cedar, next to the compiled
//!   ones, and named in the load report with the construct;
//! * when a compiled condition would be an error in Cedar (a type error, a missing attribute,
//!   an overflow), or meets a value it does not model (an extension value in an entity
//!   attribute), the whole request is decided by the interpreter, so errors, their messages
//!   and the fail-closed deny are Cedar's own;
//! * contexts holding anything but plain JSON and valid decimal escapes (`__entity`, other
//!   `__extn`, `__expr`, an invalid decimal: Cedar may refuse the whole request) and requests
//!   under a schema (which Cedar validates) take the interpreter path.
//!
//! Certificates are replayed through the interpreter, so replay is an independent check of
//! every compiled decision; `tests/policy_differential.rs` (against the `cedar-policy` crate,
//! and compiled against interpreted engines) and `__test__/cedar-random-sets.test.mjs`
//! (against `@cedar-policy/cedar-wasm`) compare them on random policy sets.

mod compile;
mod entity_table;
mod eval;
mod value;

pub(crate) use compile::{compile_policy, CompiledPolicy};
pub(crate) use entity_table::EntityTable;
pub(crate) use eval::{satisfied, Input};
pub(crate) use value::{compilable_context, Fault};

/// The policies a compiled slice found satisfied (ids in slice order).
#[derive(Debug, Default)]
pub(crate) struct Satisfied<'p> {
    pub(crate) permits: Vec<&'p str>,
    pub(crate) forbids: Vec<&'p str>,
}

/// Evaluates every policy (as Cedar does: no policy is skipped once a forbid holds, so an
/// error anywhere is seen); any fault stops and returns it.
pub(crate) fn evaluate_all<'p>(
    policies: &'p [std::sync::Arc<CompiledPolicy>],
    input: &Input<'_>,
) -> Result<Satisfied<'p>, Fault> {
    let mut out = Satisfied::default();
    for policy in policies {
        if eval::satisfied(policy, input)? {
            if policy.permit {
                out.permits.push(&policy.id);
            } else {
                out.forbids.push(&policy.id);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::reasoning::{AuthzRequest, EntityRef, EvaluationMode, PolicyEngine};

    /// Every supported construct is compiled — not silently left to the interpreter — and
    /// each unsupported one is reported with the construct's name.
    #[test]
    fn each_supported_construct_compiles_and_the_rest_say_why() {
        let supported = [
            "principal == Agent::\"a\"",
            "principal in Role::\"r\"",
            "principal is Agent",
            "principal is Agent in Role::\"r\"",
            "action in [Action::\"a\", Action::\"b\"]",
            "resource in Folder::\"f\"",
            "context.a < 1 && context.b <= 2 || context.c > 3",
            "context.a >= 1 && !(context.b == 2) && context.c != 3",
            "if context has a then context.a else false",
            "context.a + 1 - 2 * 3 == -context.b",
            "context.s like \"*pass\\*word*\"",
            "context has a.b.c",
            "context.set.contains(1) && context.set.containsAll([1]) && context.set.containsAny([2])",
            "context.set.isEmpty()",
            "[context.a, 1].contains(2) && {k: context.a} == {k: 1}",
            "principal.manager in Role::\"r\" && principal.profile.dept == \"eng\"",
            "resource.owner == principal",
            "context.amount.lessThan(decimal(\"1.5\")) && context.amount.lessThanOrEqual(context.cap)",
            "decimal(context.s).greaterThan(decimal(\"-0.5\")) || context.d.greaterThanOrEqual(context.d)",
            "context.d == decimal(\"1.50\") && decimal(\"bad\") == context.d",
        ];
        let unsupported = [
            ("context.when < datetime(\"2024-10-15\")", "datetime"),
            (
                "ip(\"10.0.0.1\").isInRange(ip(\"10.0.0.0/8\"))",
                "isInRange",
            ),
            ("principal.hasTag(\"t\")", "hasTag"),
            ("principal.getTag(\"t\") == 1", "getTag"),
        ];
        let mut text = String::new();
        for (i, c) in supported.iter().enumerate() {
            text.push_str(&format!(
                "@id(\"s{i}\") permit(principal, action, resource) when {{ {c} }};\n"
            ));
        }
        for (i, (c, _)) in unsupported.iter().enumerate() {
            text.push_str(&format!(
                "@id(\"u{i}\") forbid(principal, action, resource) when {{ {c} }};\n"
            ));
        }
        let engine = PolicyEngine::new();
        let info = engine.load(&text, None).expect("policies");
        for e in &info.evaluation {
            if let Some(i) = e.id.strip_prefix('s') {
                let i: usize = i.parse().expect("index");
                assert_eq!(e.mode, EvaluationMode::Compiled, "{}: {e:?}", supported[i]);
                assert!(e.reason.is_none());
            } else {
                let i: usize = e.id[1..].parse().expect("index");
                let (construct, name) = unsupported[i];
                assert_eq!(e.mode, EvaluationMode::Interpreted, "{construct}");
                let reason = e.reason.as_deref().unwrap_or_default();
                assert!(reason.contains(name), "{construct}: {reason}");
            }
        }
        assert_eq!(engine.policy_info(), info);
        // A request over the compiled policies is decided without the interpreter; one over
        // an interpreted policy's action is a mixed decision.
        let only_compiled = PolicyEngine::new();
        only_compiled
            .load(
                "permit(principal, action, resource) when { context.a < 1 };",
                None,
            )
            .expect("policies");
        let req = AuthzRequest {
            principal: EntityRef::new("Agent", "x"),
            action: "go".into(),
            resource: EntityRef::new("Resource", "r"),
            context: serde_json::json!({"a": 0}),
        };
        assert!(only_compiled
            .authorize_uncached(&req)
            .expect("decision")
            .is_allowed());
        assert_eq!(only_compiled.evaluation_stats().compiled, 1);
        assert_eq!(only_compiled.evaluation_stats().interpreted, 0);
        // An erroring compiled condition hands the request to the interpreter, which words
        // the error; the engine fails closed on it.
        let missing = AuthzRequest {
            context: serde_json::json!({}),
            ..req.clone()
        };
        let d = only_compiled
            .authorize_uncached(&missing)
            .expect("decision");
        assert!(!d.is_allowed());
        assert!(
            d.errors[0].contains("does not have the attribute `a`"),
            "{:?}",
            d.errors
        );
        assert_eq!(only_compiled.evaluation_stats().fallbacks, 1);
        // Switched off, the interpreter decides everything, with the same answers.
        only_compiled.set_compiled(false);
        assert!(only_compiled
            .authorize_uncached(&req)
            .expect("decision")
            .is_allowed());
        assert_eq!(only_compiled.evaluation_stats().compiled, 1);
    }
}

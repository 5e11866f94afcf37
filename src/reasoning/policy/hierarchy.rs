//! A bound on the entity hierarchy, checked before Cedar computes its transitive closure.
//!
//! Cedar stores every entity's ancestors explicitly (its transitive closure), so the work and
//! memory of loading entities grow with the number of (entity, ancestor) links, not with the
//! number of entities: a chain of `n` parents has `n²/2` links (a 3,000-deep chain has 4.5
//! million, which took Cedar ~6 s and ~1 GB in release), and Cedar walks the hierarchy
//! recursively, one stack frame per level. [`check_hierarchy`] counts the links itself —
//! iteratively, stopping as soon as the count passes [`MAX_HIERARCHY_LINKS`] — and refuses
//! larger hierarchies and cycles with a message that says what to change, before Cedar starts.

use std::collections::HashMap;

use serde_json::Value;

use super::canonical::canonical_json;
use crate::error::{Error, ErrorCode, Result};

/// Most (entity, ancestor) links an entity list may imply, counting an ancestor once for each
/// parent it is reached through (which bounds Cedar's own work; ~200 bytes of memory each).
pub const MAX_HIERARCHY_LINKS: usize = 2_000_000;

/// The uid of an entity reference (`{"type", "id"}` or `{"__entity": {"type", "id"}}`) as a
/// canonical key.
fn uid_key(uid: &Value) -> String {
    canonical_json(uid.get("__entity").unwrap_or(uid))
}

/// Nodes by key (with a name for messages), and each one's parents.
#[derive(Default)]
struct Graph {
    index: HashMap<String, usize>,
    names: Vec<String>,
    parents: Vec<Vec<u32>>,
}

impl Graph {
    /// The index of `key`, added (named `name()`) when new.
    fn intern(&mut self, key: String, name: impl FnOnce() -> String) -> usize {
        let next = self.names.len();
        let at = *self.index.entry(key).or_insert(next);
        if at == next {
            self.names.push(name());
            self.parents.push(Vec::new());
        }
        at
    }
}

/// What a hierarchy is made of, for messages.
struct Subject {
    /// The hierarchy as a whole, e.g. "the entity hierarchy".
    whole: &'static str,
    /// One node, e.g. "entity".
    node: &'static str,
    /// What to change when it is too large.
    fix: &'static str,
}

/// Refuses an entity list (Cedar's JSON form) whose hierarchy has a cycle or implies more than
/// [`MAX_HIERARCHY_LINKS`] links. Entries without a `uid` or with malformed `parents` are left
/// for Cedar to report.
pub(crate) fn check_hierarchy(items: &[Value]) -> Result<()> {
    // Every uid seen (entities and parents not in the list) gets an index.
    let mut graph = Graph::default();
    for item in items {
        let Some(uid) = item.get("uid") else { continue };
        let me = graph.intern(uid_key(uid), || canonical_json(uid));
        for parent in item
            .get("parents")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = graph.intern(uid_key(parent), || canonical_json(parent));
            graph.parents[me].push(p as u32);
        }
    }
    check_links(
        graph,
        &Subject {
            whole: "the entity hierarchy",
            node: "entity",
            fix: "flatten deep parent chains or split the entities",
        },
    )
}

/// Refuses a schema (Cedar's JSON schema form, one object per namespace) whose entity-type
/// hierarchy (`memberOfTypes`) or action hierarchy (`memberOf`) has a cycle or implies more
/// than [`MAX_HIERARCHY_LINKS`] links: Cedar computes both closures while building the schema.
pub(crate) fn check_schema_hierarchy(schema: &Value) -> Result<()> {
    let Some(namespaces) = schema.as_object() else {
        return Ok(());
    };
    let qualify = |ns: &str, name: &str| {
        if ns.is_empty() || name.contains("::") {
            name.to_string()
        } else {
            format!("{ns}::{name}")
        }
    };
    let mut declared = std::collections::HashSet::new();
    for (ns, body) in namespaces {
        for name in body
            .get("entityTypes")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|types| types.keys())
        {
            declared.insert(qualify(ns, name));
        }
    }
    // An unqualified reference names the namespace's own type if it declares one, else the
    // empty namespace's.
    let resolve = |ns: &str, name: &str| {
        let own = qualify(ns, name);
        if declared.contains(&own) {
            own
        } else {
            name.to_string()
        }
    };
    let mut types = Graph::default();
    let mut actions = Graph::default();
    for (ns, body) in namespaces {
        for (name, def) in body
            .get("entityTypes")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let key = qualify(ns, name);
            let me = types.intern(key.clone(), || key.clone());
            for parent in def
                .get("memberOfTypes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let key = resolve(ns, parent);
                let p = types.intern(key.clone(), || key);
                types.parents[me].push(p as u32);
            }
        }
        let action_type = qualify(ns, "Action");
        let action_key = |ty: Option<&str>, id: &str| {
            format!(
                "{}::\"{id}\"",
                ty.map_or(action_type.clone(), str::to_string)
            )
        };
        for (id, def) in body
            .get("actions")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let key = action_key(None, id);
            let me = actions.intern(key.clone(), || key.clone());
            for parent in def
                .get("memberOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(pid) = parent.get("id").and_then(Value::as_str) else {
                    continue;
                };
                let key = action_key(parent.get("type").and_then(Value::as_str), pid);
                let p = actions.intern(key.clone(), || key);
                actions.parents[me].push(p as u32);
            }
        }
    }
    check_links(
        types,
        &Subject {
            whole: "the schema's entity type hierarchy (`in [...]`)",
            node: "entity type",
            fix: "flatten deep `in` chains",
        },
    )?;
    check_links(
        actions,
        &Subject {
            whole: "the schema's action hierarchy (`action ... in [...]`)",
            node: "action",
            fix: "flatten deep action group chains",
        },
    )
}

/// Counts the (node, ancestor) links of `graph` parents-first, stopping past
/// [`MAX_HIERARCHY_LINKS`]; refuses that and cycles.
fn check_links(graph: Graph, subject: &Subject) -> Result<()> {
    let Graph {
        names, mut parents, ..
    } = graph;
    for list in &mut parents {
        list.sort_unstable();
        list.dedup();
    }
    // Parents before children (Kahn's algorithm over child -> parent edges).
    let n = names.len();
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (child, list) in parents.iter().enumerate() {
        for &p in list {
            children[p as usize].push(child as u32);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&v| waiting[v] == 0).collect();
    let mut ancestors: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut links = 0usize;
    let mut done = 0usize;
    while let Some(v) = ready.pop() {
        done += 1;
        let mut mine: Vec<u32> = Vec::new();
        for &p in &parents[v] {
            links += 1 + ancestors[p as usize].len();
            if links > MAX_HIERARCHY_LINKS {
                return Err(Error::new(
                    ErrorCode::PolicyParse,
                    format!(
                        "{} is too large: it implies more than {MAX_HIERARCHY_LINKS} \
                         ({}, ancestor) links (reached at {} {}; a chain of n parents implies \
                         n²/2), and Cedar stores every one; {}",
                        subject.whole, subject.node, subject.node, names[v], subject.fix
                    ),
                ));
            }
            mine.push(p);
            mine.extend_from_slice(&ancestors[p as usize]);
        }
        mine.sort_unstable();
        mine.dedup();
        ancestors[v] = mine;
        for &c in &children[v] {
            waiting[c as usize] -= 1;
            if waiting[c as usize] == 0 {
                ready.push(c as usize);
            }
        }
    }
    if done < n {
        // Something is its own ancestor: walk parents among the unfinished until one repeats.
        let mut seen = vec![false; n];
        let mut v = (0..n).find(|&v| waiting[v] > 0).unwrap_or(0);
        while !seen[v] {
            seen[v] = true;
            v = parents[v]
                .iter()
                .map(|&p| p as usize)
                .find(|&p| waiting[p] > 0)
                .unwrap_or(v);
        }
        return Err(Error::new(
            ErrorCode::PolicyParse,
            format!(
                "{} {} is its own ancestor (its parents lead back to it); remove the cycle \
                 from {}",
                subject.node, names[v], subject.whole
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(id: &str, parents: &[&str]) -> Value {
        let parents: Vec<Value> = parents
            .iter()
            .map(|p| json!({"type": "R", "id": p}))
            .collect();
        json!({"uid": {"type": "R", "id": id}, "attrs": {}, "parents": parents})
    }

    fn chain(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| {
                let parent = format!("r{}", i + 1);
                let parents = [parent.as_str()];
                entity(&format!("r{i}"), if i + 1 < n { &parents[..] } else { &[] })
            })
            .collect()
    }

    #[test]
    fn chains_are_bounded_by_their_links() {
        // n = 2000 implies 1,999,000 links; 2001 implies 2,001,000.
        assert!(check_hierarchy(&chain(2000)).is_ok());
        let e = check_hierarchy(&chain(2001)).expect_err("too many links");
        assert_eq!(e.code, ErrorCode::PolicyParse);
        assert!(
            e.message.contains(&MAX_HIERARCHY_LINKS.to_string()),
            "{}",
            e.message
        );
    }

    #[test]
    fn wide_hierarchies_and_shared_ancestors_pass() {
        let mut items = vec![
            entity("org", &[]),
            entity("g1", &["org"]),
            entity("g2", &["org"]),
        ];
        for i in 0..50_000 {
            items.push(entity(&format!("u{i}"), &["g1", "g2", "undeclared"]));
        }
        assert!(check_hierarchy(&items).is_ok());
    }

    #[test]
    fn cycles_are_refused_with_an_entity_on_the_cycle() {
        let items = vec![
            entity("a", &["b"]),
            entity("b", &["c"]),
            entity("c", &["b"]),
            entity("x", &["a"]),
        ];
        let e = check_hierarchy(&items).expect_err("cycle");
        assert!(e.message.contains("is its own ancestor"), "{}", e.message);
        assert!(
            e.message.contains("\"b\"") || e.message.contains("\"c\""),
            "{}",
            e.message
        );
        let self_loop = vec![
            json!({"uid": {"__entity": {"type": "R", "id": "s"}}, "parents": [{"type": "R", "id": "s"}]}),
        ];
        assert!(check_hierarchy(&self_loop).is_err());
    }

    #[test]
    fn schema_hierarchies_are_bounded_across_namespaces() {
        let chain = |n: usize, ns: &str| -> Value {
            let actions: serde_json::Map<String, Value> = (0..n)
                .map(|i| {
                    let parents = if i > 0 {
                        json!([{"id": format!("a{}", i - 1)}])
                    } else {
                        json!([])
                    };
                    (format!("a{i}"), json!({"memberOf": parents}))
                })
                .collect();
            let types: serde_json::Map<String, Value> = (0..n)
                .map(|i| {
                    let parents = if i > 0 {
                        json!([format!("E{}", i - 1)])
                    } else {
                        json!([])
                    };
                    (format!("E{i}"), json!({"memberOfTypes": parents}))
                })
                .collect();
            json!({ns: {"entityTypes": types, "actions": actions}})
        };
        assert!(check_schema_hierarchy(&chain(500, "")).is_ok());
        assert!(check_schema_hierarchy(&chain(500, "NS")).is_ok());
        let e = check_schema_hierarchy(&chain(2001, "NS")).expect_err("too many links");
        assert!(e.message.contains("entity type hierarchy"), "{}", e.message);
        // An unqualified reference in a namespace that does not declare the type names the
        // empty namespace's: these two chains of 1001 are one chain of 2002.
        let mut split = chain(1001, "");
        let ns_types: serde_json::Map<String, Value> = (0..1001)
            .map(|i| {
                let parent = if i == 0 {
                    "E1000".to_string()
                } else {
                    format!("F{}", i - 1)
                };
                (format!("F{i}"), json!({"memberOfTypes": [parent]}))
            })
            .collect();
        split["NS"] = json!({"entityTypes": ns_types, "actions": {}});
        let e = check_schema_hierarchy(&split).expect_err("one chain of 2002");
        assert!(e.message.contains("more than 2000000"), "{}", e.message);
        split["NS"]["entityTypes"]["E1000"] = json!({});
        assert!(
            check_schema_hierarchy(&split).is_ok(),
            "now NS::E1000 ends the NS chain"
        );
        let cyclic = json!({"": {"entityTypes": {}, "actions": {"a": {"memberOf": [{"id": "b"}]}, "b": {"memberOf": [{"id": "a", "type": "Action"}]}}}});
        let e = check_schema_hierarchy(&cyclic).expect_err("cycle");
        assert!(
            e.message
                .contains("action Action::\"a\" is its own ancestor")
                || e.message
                    .contains("action Action::\"b\" is its own ancestor"),
            "{}",
            e.message
        );
    }
}

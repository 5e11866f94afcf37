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

/// Entity uids by index, and each one's parents.
#[derive(Default)]
struct Graph<'a> {
    index: HashMap<String, usize>,
    names: Vec<&'a Value>,
    parents: Vec<Vec<u32>>,
}

impl<'a> Graph<'a> {
    /// The index of `uid`, added when new.
    fn intern(&mut self, uid: &'a Value) -> usize {
        let next = self.names.len();
        let at = *self.index.entry(uid_key(uid)).or_insert(next);
        if at == next {
            self.names.push(uid);
            self.parents.push(Vec::new());
        }
        at
    }
}

/// Refuses an entity list (Cedar's JSON form) whose hierarchy has a cycle or implies more than
/// [`MAX_HIERARCHY_LINKS`] links. Entries without a `uid` or with malformed `parents` are left
/// for Cedar to report.
pub(crate) fn check_hierarchy(items: &[Value]) -> Result<()> {
    // Every uid seen (entities and parents not in the list) gets an index.
    let mut graph = Graph::default();
    for item in items {
        let Some(uid) = item.get("uid") else { continue };
        let me = graph.intern(uid);
        for parent in item
            .get("parents")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = graph.intern(parent);
            graph.parents[me].push(p as u32);
        }
    }
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
                        "the entity hierarchy is too large: it implies more than \
                         {MAX_HIERARCHY_LINKS} (entity, ancestor) links (reached at entity {}; \
                         a chain of n parents implies n²/2), and Cedar stores every one; \
                         flatten deep parent chains or split the entities",
                        canonical_json(names[v])
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
        // Some entity is its own ancestor: walk parents among the unfinished ones until one repeats.
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
                "entity {} is its own ancestor (its parents lead back to it); \
                 remove the cycle from the parents",
                canonical_json(names[v])
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
}

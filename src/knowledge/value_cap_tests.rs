//! The graph's memory does not grow with every distinct value: at most
//! [`MAX_VALUE_ENTITIES`](super::graph::MAX_VALUE_ENTITIES) numbers, amounts and dates get a
//! node; later new values are counted in `values_not_kept`, and everything else is unchanged.

use super::graph::MAX_VALUE_ENTITIES;
use super::*;

fn numbered(i: usize) -> (String, Vec<Entity>) {
    let text = format!("ticket {i}");
    let e = Entity::new(&i.to_string(), EntityType::Number, 7, text.len(), 0.9);
    (text, vec![e])
}

#[test]
fn distinct_values_past_the_cap_get_no_node_and_are_counted() {
    let g = KnowledgeGraph::new();
    let extra = 2_000;
    for i in 0..MAX_VALUE_ENTITIES + extra {
        let (text, es) = numbered(i);
        g.ingest(&text, &es, i as i64).unwrap();
    }
    let stats = g.stats();
    assert_eq!(stats.by_type["Number"], MAX_VALUE_ENTITIES);
    assert_eq!(stats.entities, MAX_VALUE_ENTITIES);
    assert_eq!(stats.values_not_kept, extra as u64);
    assert!(g
        .entity(&format!("number:{}", MAX_VALUE_ENTITIES + 1))
        .is_none());

    // A value that has a node still counts its mentions.
    let (text, es) = numbered(5);
    g.ingest(&text, &es, 1_000_000).unwrap();
    assert_eq!(g.entity("number:5").unwrap().mentions, 2);

    // Things are not values: they are always added, and linked, as before.
    let text = "Ada Lovelace met Grace Hopper on 12 May 2031 for 999999 dollars";
    let es = EntityExtractor::new().unwrap().extract(text);
    let r = g.ingest(text, &es, 2_000_000).unwrap();
    assert!(r.new_relations >= 1);
    assert!(g.entity("person:ada_lovelace").is_some());
    assert!(g.entity("person:grace_hopper").is_some());
    let after = g.stats();
    assert_eq!(after.by_type["Person"], 2);
    assert!(
        after.values_not_kept > extra as u64,
        "the new date and amount were not kept"
    );
}

#[test]
fn a_store_with_more_values_than_the_cap_loads_whole() {
    // Stores written before the cap existed may hold more values: loading keeps every node
    // (nothing on disk is dropped), and new values then get no node.
    let g = KnowledgeGraph::new();
    for i in 0..MAX_VALUE_ENTITIES {
        let (text, es) = numbered(i);
        g.ingest(&text, &es, i as i64).unwrap();
    }
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    g.flush(&mut conn).unwrap();
    // Write extra value rows directly, as an older version would have.
    conn.execute(
        "INSERT INTO la_kg_entities (id, name, type, mentions, first_seen_ms, last_seen_ms)
         VALUES ('money:usd_1.00', '$1', 'Money', 1, 0, 0)",
        [],
    )
    .unwrap();
    let loaded = KnowledgeGraph::load(&conn).unwrap();
    assert_eq!(loaded.stats().entities, MAX_VALUE_ENTITIES + 1);
    let (text, es) = numbered(MAX_VALUE_ENTITIES + 10);
    loaded.ingest(&text, &es, 1).unwrap();
    assert_eq!(loaded.stats().values_not_kept, 1);
    assert_eq!(loaded.stats().entities, MAX_VALUE_ENTITIES + 1);
}

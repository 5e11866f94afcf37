//! Tests of the knowledge area: extraction, ids, relations, graph queries, facts, persistence.

use std::sync::Arc;

use super::relations::{day_ms, parse_period};
use super::*;
use crate::error::ErrorCode;

fn extractor() -> EntityExtractor {
    EntityExtractor::new().expect("built-in gazetteer loads")
}

/// (surface text, type) pairs of the extraction, in order.
fn found(ex: &EntityExtractor, text: &str) -> Vec<(String, String)> {
    let entities = ex.extract(text);
    for e in &entities {
        assert_eq!(&text[e.start..e.end], e.name, "span must cover the name");
        assert!((0.0..=1.0).contains(&e.confidence));
    }
    for w in entities.windows(2) {
        assert!(
            w[0].end <= w[1].start,
            "entities overlap: {:?} {:?}",
            w[0],
            w[1]
        );
    }
    entities
        .into_iter()
        .map(|e| (e.name, e.entity_type.as_str().to_string()))
        .collect()
}

fn has(found: &[(String, String)], name: &str, ty: &str) -> bool {
    found.iter().any(|(n, t)| n == name && t == ty)
}

#[track_caller]
fn assert_has(found: &[(String, String)], name: &str, ty: &str) {
    assert!(
        has(found, name, ty),
        "expected `{name}` as {ty} in {found:?}"
    );
}

#[test]
fn shared_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<EntityExtractor>();
    assert_send_sync::<KnowledgeGraph>();
}

#[test]
fn stop_words_are_lowercase_and_short() {
    // `is_stop_word` compares a lowercased 9-byte buffer.
    assert!(super::extract::STOP_WORDS
        .iter()
        .all(|w| w.len() <= 9 && w.bytes().all(|b| b.is_ascii_lowercase())));
    let ex = extractor();
    assert_has(
        &found(&ex, "The Acme Corp said hi."),
        "Acme Corp",
        "Organization",
    );
}

#[test]
fn entity_type_parses_case_insensitively_and_keeps_custom_names() {
    for name in [
        "Person",
        "Organization",
        "Place",
        "DateTime",
        "Money",
        "Number",
        "Email",
        "Url",
        "Concept",
        "Event",
    ] {
        let t = EntityType::parse(&name.to_uppercase()).unwrap();
        assert_eq!(t.as_str(), name);
        assert!(!matches!(t, EntityType::Custom(_)));
    }
    assert_eq!(EntityType::parse("datetime").unwrap(), EntityType::DateTime);
    assert_eq!(
        EntityType::parse(" Product ").unwrap(),
        EntityType::Custom("Product".into())
    );
    assert_eq!(
        EntityType::parse("").unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        EntityType::parse("   ").unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        EntityType::parse("a:b").unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        EntityType::parse(&"x".repeat(65)).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    let json = serde_json::to_string(&Entity::new("Tokyo", EntityType::Place, 0, 5, 0.9)).unwrap();
    assert_eq!(
        json,
        r#"{"id":"place:tokyo","name":"Tokyo","type":"Place","start":0,"end":5,"confidence":0.9}"#
    );
    let back: Entity = serde_json::from_str(&json).unwrap();
    assert_eq!(back.entity_type, EntityType::Place);
}

#[test]
fn ids_are_stable_readable_and_value_canonical() {
    assert_eq!(entity_id(&EntityType::Place, "Tokyo"), "place:tokyo");
    assert_eq!(entity_id(&EntityType::Place, "  TOKYO "), "place:tokyo");
    assert_eq!(
        entity_id(&EntityType::Person, "Ada  Lovelace"),
        "person:ada_lovelace"
    );
    assert_eq!(
        entity_id(&EntityType::Place, "São Paulo"),
        entity_id(&EntityType::Place, "SÃO PAULO")
    );
    assert_eq!(entity_id(&EntityType::Money, "$1,200"), "money:usd_1200.00");
    assert_eq!(
        entity_id(&EntityType::Money, "1,200 USD"),
        "money:usd_1200.00"
    );
    assert_eq!(entity_id(&EntityType::Money, "€5"), "money:eur_5.00");
    assert_eq!(entity_id(&EntityType::Money, "5 euros"), "money:eur_5.00");
    assert_eq!(
        entity_id(&EntityType::Money, "$2.5 million"),
        "money:usd_2500000.00"
    );
    assert_eq!(entity_id(&EntityType::Money, "$0.5"), "money:usd_0.50");
    assert_eq!(entity_id(&EntityType::Money, "$1.005"), "money:usd_1.00");
    assert_eq!(entity_id(&EntityType::Money, "£12k"), "money:gbp_12000.00");
    assert_eq!(entity_id(&EntityType::Number, "1,000"), "number:1000");
    assert_eq!(
        entity_id(&EntityType::Organization, "Foo Inc."),
        "organization:foo_inc"
    );
    assert_eq!(
        entity_id(&EntityType::Custom("Product".into()), "Flow Bot"),
        "product:flow_bot"
    );
    assert_eq!(
        entity_id(&EntityType::Url, "https://Example.COM/Docs"),
        "url:https://example.com/Docs"
    );

    let ex = extractor();
    let first = ex.extract("We landed in Tokyo at noon.");
    let fiftieth = ex.extract("Back to TOKYO next week, then Osaka.");
    let id = |es: &[Entity], name: &str| {
        es.iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .map(|e| e.id.clone())
    };
    assert_eq!(id(&first, "tokyo"), Some("place:tokyo".to_string()));
    assert_eq!(id(&fiftieth, "tokyo"), Some("place:tokyo".to_string()));
}

#[test]
fn extracts_emails_and_urls_with_exact_spans() {
    let ex = extractor();
    let text = "Mail ada.lovelace+kg@example.co.uk or see https://example.com/docs?id=3.";
    let es = ex.extract(text);
    let email = es
        .iter()
        .find(|e| e.entity_type == EntityType::Email)
        .expect("email");
    assert_eq!(email.name, "ada.lovelace+kg@example.co.uk");
    assert_eq!(email.start, 5);
    assert!((email.confidence - 0.95).abs() < 1e-6);
    let url = es
        .iter()
        .find(|e| e.entity_type == EntityType::Url)
        .expect("url");
    assert_eq!(
        url.name, "https://example.com/docs?id=3",
        "trailing period is not part of the URL"
    );
    let f = found(&ex, "Docs live at www.rust-lang.org, obviously.");
    assert_has(&f, "www.rust-lang.org", "Url");
    assert!(!found(&ex, "no at sign here")
        .iter()
        .any(|(_, t)| t == "Email"));
}

#[test]
fn extracts_money_in_symbol_code_and_word_forms() {
    let ex = extractor();
    let f = found(
        &ex,
        "The laptop cost $1,200.50 plus 30 USD shipping; the cable was €5 or 5 euros.",
    );
    assert_has(&f, "$1,200.50", "Money");
    assert_has(&f, "30 USD", "Money");
    assert_has(&f, "€5", "Money");
    assert_has(&f, "5 euros", "Money");
    assert!(
        !f.iter().any(|(_, t)| t == "Number"),
        "amounts are not also numbers: {f:?}"
    );
    let es = ex.extract("They raised $2.5 million.");
    assert_eq!(es[0].id, "money:usd_2500000.00");
}

#[test]
fn extracts_numbers_decimals_and_percentages() {
    let ex = extractor();
    let f = found(
        &ex,
        "We shipped 42 crates, 3.14 tonnes, a 12.5% gain and 1,000,000 downloads.",
    );
    assert_has(&f, "42", "Number");
    assert_has(&f, "3.14", "Number");
    assert_has(&f, "12.5%", "Number");
    assert_has(&f, "1,000,000", "Number");
    // Digits inside words are not numbers.
    assert!(!has(
        &found(&ex, "Use the A4 paper and mp3 files"),
        "4",
        "Number"
    ));
}

#[test]
fn extracts_dates_times_and_relative_days() {
    let ex = extractor();
    let f = found(
        &ex,
        "The release is on 2025-03-03, the review on March 3, 2025 at 3pm, standup at 10:30.",
    );
    assert_has(&f, "2025-03-03", "DateTime");
    assert_has(&f, "March 3, 2025", "DateTime");
    assert_has(&f, "3pm", "DateTime");
    assert_has(&f, "10:30", "DateTime");
    let f = found(
        &ex,
        "Let's meet tomorrow or on Friday; in June it gets busy. She has lived here since 2020.",
    );
    assert_has(&f, "tomorrow", "DateTime");
    assert_has(&f, "Friday", "DateTime");
    assert_has(&f, "June", "DateTime");
    assert_has(&f, "2020", "DateTime");
    // "may" as a verb is not a month; "May" capitalised is.
    let f = found(&ex, "You may go. We start in May.");
    assert!(!has(&f, "may", "DateTime"), "{f:?}");
    assert_has(&f, "May", "DateTime");
    assert_has(
        &found(&ex, "Due 14th of February 2024."),
        "14th of February 2024",
        "DateTime",
    );
}

#[test]
fn gazetteer_matches_whole_words_case_insensitively() {
    let ex = extractor();
    let text = "I flew from Tokyo to New York City via Germany, then to California and Asia.";
    let f = found(&ex, text);
    for (n, t) in [
        ("Tokyo", "Place"),
        ("New York City", "Place"),
        ("Germany", "Place"),
        ("California", "Place"),
        ("Asia", "Place"),
    ] {
        assert_has(&f, n, t);
    }
    let lower = ex.extract("we love tokyo");
    assert_eq!(lower.len(), 1);
    assert_eq!(lower[0].id, "place:tokyo");
    let upper = ex.extract("We love Tokyo");
    assert!(
        upper[0].confidence > lower[0].confidence,
        "capitalised matches are more confident"
    );
    assert!(found(&ex, "Dinner in Chinatown and Indianapolis")
        .iter()
        .all(|(n, _)| n != "China" && n != "India"));
    assert!(
        found(&ex, "a roast turkey").is_empty(),
        "ambiguous common words need their capital"
    );
    assert_has(
        &found(&ex, "Google and the United Nations met."),
        "Google",
        "Organization",
    );
    assert_has(
        &found(&ex, "Google and the United Nations met."),
        "United Nations",
        "Organization",
    );
}

#[test]
fn organisation_patterns_find_suffixes_and_of_forms() {
    let ex = extractor();
    let f = found(
        &ex,
        "Ada Lovelace works at Acme Corp and consults for Foo Inc. in Berlin.",
    );
    assert_has(&f, "Acme Corp", "Organization");
    assert_has(&f, "Foo Inc.", "Organization");
    assert_has(&f, "Berlin", "Place");
    let f = found(
        &ex,
        "She studied at Stanford University and now advises the Bank of Japan.",
    );
    assert_has(&f, "Stanford University", "Organization");
    assert_has(&f, "Bank of Japan", "Organization");
    assert!(
        !has(&f, "Japan", "Place"),
        "the longer organisation wins over the place inside it"
    );
    let f = found(&ex, "Yesterday Globex Corporation announced results.");
    assert_has(&f, "Globex Corporation", "Organization");
}

#[test]
fn person_patterns_titles_and_capitalised_phrases() {
    let ex = extractor();
    assert_has(
        &found(&ex, "Revenue grew, said CFO Mary Barra."),
        "Mary Barra",
        "Person",
    );
    let f = found(&ex, "Dr. Jane Smith met Mr. Lee in Paris.");
    assert_has(&f, "Jane Smith", "Person");
    assert_has(&f, "Lee", "Person");
    assert_has(&f, "Paris", "Place");
    let es = ex.extract("Yesterday I had lunch with Ada Lovelace and Zorblat Quux said hello.");
    let ada = es
        .iter()
        .find(|e| e.name == "Ada Lovelace")
        .expect("given-name phrase");
    assert_eq!(ada.entity_type, EntityType::Person);
    assert!((ada.confidence - 0.7).abs() < 1e-6);
    let zq = es
        .iter()
        .find(|e| e.name == "Zorblat Quux")
        .expect("verb-typed phrase");
    assert_eq!(zq.entity_type, EntityType::Person);
    assert!((zq.confidence - 0.6).abs() < 1e-6);
    let es = ex.extract("We discussed the Quantum Flux Theory at length.");
    let c = es
        .iter()
        .find(|e| e.entity_type == EntityType::Concept)
        .expect("concept phrase");
    assert_eq!(c.name, "Quantum Flux Theory");
    assert!(c.confidence < 0.6);
    // Sentence-initial grammar capitals and single capitalised words are not taken.
    assert!(found(&ex, "Running Fast is fun.").is_empty());
    assert!(found(&ex, "Hello there, Bob.").is_empty());
    assert_has(
        &found(&ex, "I love Leonardo da Vinci paintings."),
        "Leonardo da Vinci",
        "Concept",
    );
}

#[test]
fn event_patterns_find_named_events() {
    let ex = extractor();
    let f = found(
        &ex,
        "We will present at the Web Summit 2025 and at the RustConf Conference.",
    );
    assert_has(&f, "Web Summit 2025", "Event");
    assert_has(&f, "RustConf Conference", "Event");
    let f = found(&ex, "The Tokyo Summit was long.");
    assert_has(&f, "Tokyo Summit", "Event");
}

#[test]
fn user_dictionaries_add_and_override_types() {
    let ex = extractor();
    let before = ex.dictionary_len();
    let added = ex
        .add_dictionary(
            "product",
            &["Lean Agentic".to_string(), "FlowBot".to_string()],
        )
        .unwrap();
    assert_eq!(added, 2);
    assert_eq!(ex.dictionary_len(), before + 2);
    let es = ex.extract("We shipped lean agentic and FlowBot today.");
    let la = es
        .iter()
        .find(|e| e.name == "lean agentic")
        .expect("user name, any case");
    assert_eq!(la.entity_type, EntityType::Custom("product".into()));
    assert_eq!(la.id, "product:lean_agentic");
    // Re-adding is not a change; re-typing is.
    assert_eq!(
        ex.add_dictionary("product", &["FlowBot".to_string()])
            .unwrap(),
        0
    );
    assert_eq!(
        ex.add_dictionary("Concept", &["Tokyo".to_string()])
            .unwrap(),
        1
    );
    assert_eq!(ex.extract("Tokyo")[0].entity_type, EntityType::Concept);
    // Bad input.
    assert_eq!(
        ex.add_dictionary("", &["x".to_string()]).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        ex.add_dictionary("Product", &[]).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        ex.add_dictionary("Product", &["  ".to_string()])
            .unwrap_err()
            .code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        ex.add_dictionary("Product", &["!!!".to_string()])
            .unwrap_err()
            .code,
        ErrorCode::InvalidInput
    );
}

#[test]
fn dictionaries_can_grow_while_other_threads_extract() {
    let ex = Arc::new(extractor());
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let ex = ex.clone();
            std::thread::spawn(move || {
                let mut seen_tool = false;
                for _ in 0..300 {
                    let es = ex.extract("Tokyo hosts Tool Seven demos.");
                    assert!(es.iter().any(|e| e.id == "place:tokyo"));
                    seen_tool |= es.iter().any(|e| e.id == "tool:tool_seven");
                }
                seen_tool
            })
        })
        .collect();
    for i in 0..10 {
        ex.add_dictionary("Tool", &[format!("Tool {i}")]).unwrap();
    }
    ex.add_dictionary("Tool", &["Tool Seven".to_string()])
        .unwrap();
    for r in readers {
        r.join().expect("reader thread");
    }
    assert_eq!(ex.extract("Tool Seven")[0].id, "tool:tool_seven");
}

#[test]
fn extraction_never_panics_on_odd_text() {
    let ex = extractor();
    for text in [
        "",
        " ",
        "$",
        "€",
        "@@",
        "http://",
        "1,",
        "12:",
        "Dr.",
        "Ünïcödé Ñame Here ok",
        "日本 東京 2024-01-01",
        "A B C D E F G H",
        "\u{1F600} Tokyo \u{1F600}",
        "x@y",
        "$,",
        "3pm3pm",
    ] {
        let _ = found(&ex, text);
    }
}

fn graph_with(ex: &EntityExtractor, chunks: &[&str]) -> KnowledgeGraph {
    let g = KnowledgeGraph::new();
    for (i, c) in chunks.iter().enumerate() {
        g.ingest(c, &ex.extract(c), 1_000 * i as i64).unwrap();
    }
    g
}

fn typed_edges(g: &KnowledgeGraph, relation: &str) -> Vec<(String, String)> {
    g.logical_facts(usize::MAX)
        .into_iter()
        .filter(|(p, _)| p == relation)
        .map(|(_, a)| (a[0].clone(), a[1].clone()))
        .collect()
}

#[test]
fn relation_patterns_link_entities_in_sentences() {
    let ex = extractor();
    let g = graph_with(
        &ex,
        &[
            "Ada Lovelace works at Acme Corp.",
            "Tokyo is in Japan.",
            "Ada Lovelace is a mathematician who loved engines.",
            "Grace Hopper founded Globex Corporation.",
            "Ada Lovelace lives in London.",
            "Grace Hopper visited Tokyo last year.",
        ],
    );
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert!(typed_edges(&g, "works_at")
        .contains(&pair("person:ada_lovelace", "organization:acme_corp")));
    assert!(typed_edges(&g, "located_in").contains(&pair("place:tokyo", "place:japan")));
    assert!(typed_edges(&g, "is_a").contains(&pair("person:ada_lovelace", "concept:mathematician")));
    assert!(typed_edges(&g, "founded").contains(&pair(
        "person:grace_hopper",
        "organization:globex_corporation"
    )));
    assert!(typed_edges(&g, "lives_in").contains(&pair("person:ada_lovelace", "place:london")));
    assert!(typed_edges(&g, "visited").contains(&pair("person:grace_hopper", "place:tokyo")));
    assert_eq!(
        g.entity("concept:mathematician").unwrap().entity_type,
        EntityType::Concept
    );
    // Direction: Japan is not in Tokyo.
    assert!(!typed_edges(&g, "located_in").contains(&pair("place:japan", "place:tokyo")));
    // Unrelated connectors produce no typed relation.
    let g2 = graph_with(&ex, &["Tokyo and Japan are lovely."]);
    assert!(typed_edges(&g2, "located_in").is_empty());
    assert_eq!(typed_edges(&g2, "co_occurs").len(), 1);
}

#[test]
fn ingest_reports_new_and_updated_relations_and_counts_mentions() {
    let ex = extractor();
    let g = KnowledgeGraph::new();
    let text = "Ada Lovelace visited Tokyo and Osaka.";
    let r1 = g.ingest(text, &ex.extract(text), 0).unwrap();
    assert_eq!(r1.new_entities, 3);
    // 3 co-occurrence pairs + visited(Ada, Tokyo).
    assert_eq!(r1.new_relations, 4);
    assert_eq!(r1.updated_relations, 0);
    let r2 = g.ingest(text, &ex.extract(text), 10).unwrap();
    assert_eq!(
        (r2.new_entities, r2.new_relations, r2.updated_relations),
        (0, 0, 4)
    );
    let tokyo = g.entity("place:tokyo").unwrap();
    assert_eq!(tokyo.mentions, 2);
    assert_eq!((tokyo.first_seen_ms, tokyo.last_seen_ms), (0, 10));
    assert_eq!(g.stats().relations, 4);
    assert_eq!(
        g.ingest("nothing here", &[], 5).unwrap(),
        IngestReport::default()
    );
}

#[test]
fn co_occurrence_weights_decay_with_half_life() {
    let g = KnowledgeGraph::with_config(GraphConfig {
        half_life_ms: 1_000,
    })
    .unwrap();
    let text = "Tokyo Osaka";
    let es = vec![
        Entity::new("Tokyo", EntityType::Place, 0, 5, 0.9),
        Entity::new("Osaka", EntityType::Place, 6, 11, 0.9),
    ];
    g.ingest(text, &es, 0).unwrap();
    g.ingest(text, &es, 1_000).unwrap();
    // 1 · 0.5 + 1 = 1.5 at t = 1000.
    let r = g.related("place:tokyo", 1, None).unwrap();
    assert!((r[0].weight - 1.5).abs() < 1e-6, "{r:?}");
    // Another ingest elsewhere advances the clock to 3000: 1.5 · 0.25.
    let other = vec![Entity::new("Kyoto", EntityType::Place, 0, 5, 0.9)];
    g.ingest("Kyoto", &other, 3_000).unwrap();
    let r = g.related("place:osaka", 1, Some("co_occurs")).unwrap();
    assert!((r[0].weight - 0.375).abs() < 1e-6, "{r:?}");
    assert_eq!(
        KnowledgeGraph::with_config(GraphConfig { half_life_ms: 0 })
            .err()
            .unwrap()
            .code,
        ErrorCode::InvalidConfig
    );
}

/// A 50-message conversation about a small team; entities and relations must be queryable.
fn conversation() -> Vec<String> {
    let base = [
        "Hi! I'm planning the offsite with Ada Lovelace next week.",
        "Ada Lovelace works at Acme Corp.",
        "Acme Corp is based in London.",
        "Grace Hopper works for Globex Corporation.",
        "Globex Corporation is located in Tokyo.",
        "Tokyo is in Japan.",
        "Grace Hopper visited Osaka on 2025-03-03 for the Web Summit 2025.",
        "Ada Lovelace and Grace Hopper met at the Web Summit 2025.",
        "The budget is $1,200.50 per person, about 30 USD for dinner.",
        "Email ada@acme.example if anything changes.",
    ];
    let mut out = Vec::new();
    for prefix in ["", "To recap: ", "Again: ", "Once more: ", "Finally: "] {
        for m in base {
            out.push(format!("{prefix}{m}"));
        }
    }
    out
}

#[test]
fn fifty_message_conversation_is_queryable() {
    let ex = extractor();
    let g = KnowledgeGraph::new();
    let msgs = conversation();
    assert_eq!(msgs.len(), 50);
    for (i, m) in msgs.iter().enumerate() {
        g.ingest(m, &ex.extract(m), 60_000 * i as i64).unwrap();
    }
    let ty = |id: &str| {
        g.entity(id)
            .unwrap_or_else(|| panic!("missing {id}"))
            .entity_type
    };
    assert_eq!(ty("person:ada_lovelace"), EntityType::Person);
    assert_eq!(ty("person:grace_hopper"), EntityType::Person);
    assert_eq!(ty("organization:acme_corp"), EntityType::Organization);
    assert_eq!(
        ty("organization:globex_corporation"),
        EntityType::Organization
    );
    assert_eq!(ty("place:tokyo"), EntityType::Place);
    assert_eq!(ty("event:web_summit_2025"), EntityType::Event);
    assert_eq!(ty("money:usd_1200.50"), EntityType::Money);
    assert_eq!(ty("email:ada@acme.example"), EntityType::Email);
    assert_eq!(g.entity("person:ada_lovelace").unwrap().mentions, 15);

    let direct = g
        .neighbours("person:ada_lovelace", Some("works_at"))
        .unwrap();
    assert_eq!(direct.len(), 1);
    assert_eq!(
        (&*direct[0].id, &*direct[0].relation, direct[0].direction),
        ("organization:acme_corp", "works_at", "out")
    );
    let json = serde_json::to_value(&direct[0]).unwrap();
    assert_eq!(json["id"], "organization:acme_corp");
    assert_eq!(json["direction"], "out");
    let all = g.neighbours("person:ada_lovelace", None).unwrap();
    assert_eq!(all.len(), g.neighbour_count("person:ada_lovelace").unwrap());
    assert_eq!(
        g.neighbours("person:nobody", None).unwrap_err().code,
        ErrorCode::NotFound
    );
    let works = g
        .related("person:ada_lovelace", 1, Some("works_at"))
        .unwrap();
    assert_eq!(works.len(), 1);
    assert_eq!(works[0].id, "organization:acme_corp");
    assert_eq!(works[0].direction, "out");
    // Grace → Globex → Tokyo → Japan is three typed hops.
    let chain = g
        .path("person:grace_hopper", "place:japan")
        .unwrap()
        .unwrap();
    assert_eq!(chain.first().unwrap(), "person:grace_hopper");
    assert_eq!(chain.last().unwrap(), "place:japan");
    assert!(chain.len() <= 4, "{chain:?}");
    let two = g.related("person:ada_lovelace", 2, None).unwrap();
    assert!(two
        .iter()
        .any(|r| r.id == "place:london" && r.depth == 2 && r.via == "organization:acme_corp"));
    assert!(two.windows(2).all(|w| w[0].depth <= w[1].depth));
    let located = typed_edges(&g, "located_in");
    assert!(located.contains(&(
        "organization:globex_corporation".into(),
        "place:tokyo".into()
    )));
    assert!(located.contains(&("organization:acme_corp".into(), "place:london".into())));
    let stats = g.stats();
    assert!(stats.by_type["Person"] >= 2);
    assert_eq!(stats.by_type["Organization"], 2);
    let people = g.entities(&EntityQuery {
        entity_type: Some("person".into()),
        prefix: None,
        limit: 10,
    });
    assert!(people.iter().all(|p| p.entity_type == EntityType::Person));
    assert!(people.iter().any(|p| p.id == "person:grace_hopper"));
}

#[test]
fn related_and_path_follow_depth_and_relation_filters() {
    let g = KnowledgeGraph::new();
    let chain = ["A", "B", "C", "D", "E"];
    let es: Vec<Entity> = chain
        .iter()
        .map(|n| Entity::new(n, EntityType::Concept, 0, 0, 0.5))
        .collect();
    for e in &es {
        g.ingest("", std::slice::from_ref(e), 0).unwrap();
    }
    for w in chain.windows(2) {
        g.add_fact(
            &format!("concept:{}", w[0].to_lowercase()),
            "next",
            &format!("concept:{}", w[1].to_lowercase()),
            None,
            None,
        )
        .unwrap();
    }
    g.add_fact("concept:a", "other", "concept:e", None, None)
        .unwrap();
    let d1 = g.related("concept:a", 1, Some("next")).unwrap();
    assert_eq!(
        d1.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["concept:b"]
    );
    let d3 = g.related("concept:a", 3, Some("next")).unwrap();
    assert_eq!(
        d3.iter()
            .map(|r| (r.id.as_str(), r.depth))
            .collect::<Vec<_>>(),
        [("concept:b", 1), ("concept:c", 2), ("concept:d", 3)]
    );
    assert_eq!(d3[2].via, "concept:c");
    let all = g.related("concept:a", 1, None).unwrap();
    assert_eq!(all.len(), 2);
    assert!(g
        .related("concept:a", 2, Some("no_such_relation"))
        .unwrap()
        .is_empty());
    assert_eq!(
        g.path("concept:a", "concept:c").unwrap().unwrap(),
        ["concept:a", "concept:b", "concept:c"]
    );
    // a–e is a direct edge, so a → d goes back through e (edges are walked both ways).
    assert_eq!(
        g.path("concept:a", "concept:d").unwrap().unwrap(),
        ["concept:a", "concept:e", "concept:d"]
    );
    assert_eq!(
        g.path("concept:a", "concept:e").unwrap().unwrap(),
        ["concept:a", "concept:e"]
    );
    assert_eq!(
        g.path("concept:c", "concept:c").unwrap().unwrap(),
        ["concept:c"]
    );
    g.ingest(
        "",
        &[Entity::new("Island", EntityType::Place, 0, 0, 0.9)],
        0,
    )
    .unwrap();
    assert_eq!(g.path("concept:a", "place:island").unwrap(), None);
    assert_eq!(
        g.related("place:nowhere", 1, None).unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        g.related("concept:a", 0, None).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        g.related("concept:a", 7, None).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        g.path("concept:a", "place:nowhere").unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        g.path("place:nowhere", "concept:a").unwrap_err().code,
        ErrorCode::NotFound
    );
}

#[test]
fn facts_hold_within_their_validity_intervals() {
    let ex = extractor();
    let g = KnowledgeGraph::new();
    let text = "Ada Lovelace has worked at Acme Corp since 2020. Grace Hopper worked at Globex Corporation until 2024.";
    g.ingest(text, &ex.extract(text), 0).unwrap();
    let y = |year| day_ms(year, 1, 1);
    let at_2019 = g.facts_at(y(2019) + 5);
    assert!(!at_2019.iter().any(|f| f.subject == "person:ada_lovelace"));
    assert!(at_2019
        .iter()
        .any(|f| f.subject == "person:grace_hopper" && f.relation == "works_at"));
    let at_2024 = g.facts_at(day_ms(2024, 6, 1));
    assert!(at_2024.iter().any(|f| f.subject == "person:ada_lovelace"
        && f.object == "organization:acme_corp"
        && f.valid_from_ms == Some(y(2020))));
    assert!(
        at_2024.iter().any(|f| f.subject == "person:grace_hopper"),
        "until 2024 includes 2024"
    );
    assert!(!g
        .facts_at(y(2025))
        .iter()
        .any(|f| f.subject == "person:grace_hopper"));

    g.add_fact(
        "person:ada_lovelace",
        "Lives In",
        "organization:acme_corp",
        Some(100),
        Some(200),
    )
    .unwrap();
    let at = |t| {
        g.facts_at(t)
            .iter()
            .filter(|f| f.relation == "lives_in")
            .count()
    };
    assert_eq!((at(99), at(100), at(199), at(200)), (0, 1, 1, 0));
    assert!(
        !g.add_fact(
            "person:ada_lovelace",
            "lives_in",
            "organization:acme_corp",
            Some(100),
            Some(200)
        )
        .unwrap(),
        "duplicate"
    );
    let code = |r: crate::error::Result<bool>| r.unwrap_err().code;
    assert_eq!(
        code(g.add_fact("person:nobody", "x", "organization:acme_corp", None, None)),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(g.add_fact("person:ada_lovelace", "x", "person:nobody", None, None)),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(g.add_fact(
            "person:ada_lovelace",
            "",
            "organization:acme_corp",
            None,
            None
        )),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(g.add_fact(
            "person:ada_lovelace",
            "bad(rel)",
            "organization:acme_corp",
            None,
            None
        )),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(g.add_fact(
            "person:ada_lovelace",
            "x",
            "organization:acme_corp",
            Some(5),
            Some(5)
        )),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(g.add_fact(
            "person:ada_lovelace",
            "x",
            "person:ada_lovelace",
            None,
            None
        )),
        ErrorCode::InvalidInput
    );
}

#[test]
fn periods_parse_to_utc_intervals() {
    assert_eq!(day_ms(1970, 1, 1), 0);
    assert_eq!(day_ms(2000, 3, 1), 951_868_800_000);
    assert_eq!(
        parse_period("2020"),
        Some((day_ms(2020, 1, 1), day_ms(2021, 1, 1)))
    );
    assert_eq!(
        parse_period("March 2021"),
        Some((day_ms(2021, 3, 1), day_ms(2021, 4, 1)))
    );
    assert_eq!(
        parse_period("December 2021"),
        Some((day_ms(2021, 12, 1), day_ms(2022, 1, 1)))
    );
    assert_eq!(
        parse_period("2021-03-04"),
        Some((day_ms(2021, 3, 4), day_ms(2021, 3, 5)))
    );
    assert_eq!(
        parse_period("March 4, 2021"),
        Some((day_ms(2021, 3, 4), day_ms(2021, 3, 5)))
    );
    assert_eq!(
        parse_period("4th of March 2021"),
        Some((day_ms(2021, 3, 4), day_ms(2021, 3, 5)))
    );
    assert_eq!(parse_period("tomorrow"), None);
    assert_eq!(parse_period("2021-13-01"), None);
}

#[test]
fn entity_queries_use_prefixes_types_and_limits() {
    let g = KnowledgeGraph::new();
    for (n, t) in [
        ("Tokyo", EntityType::Place),
        ("Toronto", EntityType::Place),
        ("Tom Hanks", EntityType::Person),
        ("Osaka", EntityType::Place),
    ] {
        g.ingest("", &[Entity::new(n, t, 0, 0, 0.9)], 0).unwrap();
    }
    let ids = |q: EntityQuery| g.entities(&q).into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(EntityQuery {
            prefix: Some("to".into()),
            limit: 10,
            ..Default::default()
        }),
        ["place:tokyo", "person:tom_hanks", "place:toronto"]
    );
    assert_eq!(
        ids(EntityQuery {
            prefix: Some("To".into()),
            entity_type: Some("PLACE".into()),
            limit: 10
        }),
        ["place:tokyo", "place:toronto"]
    );
    assert_eq!(
        ids(EntityQuery {
            prefix: Some("place:tor".into()),
            limit: 10,
            ..Default::default()
        }),
        ["place:toronto"]
    );
    assert_eq!(
        ids(EntityQuery {
            prefix: Some("person:to".into()),
            limit: 10,
            ..Default::default()
        }),
        ["person:tom_hanks"]
    );
    assert_eq!(
        ids(EntityQuery {
            prefix: Some("Tom Ha".into()),
            limit: 10,
            ..Default::default()
        }),
        ["person:tom_hanks"]
    );
    assert_eq!(
        ids(EntityQuery {
            prefix: Some("to".into()),
            limit: 1,
            ..Default::default()
        })
        .len(),
        1
    );
    assert!(ids(EntityQuery {
        prefix: Some("nothing".into()),
        limit: 10,
        ..Default::default()
    })
    .is_empty());
    assert!(ids(EntityQuery {
        prefix: Some("unknowntype:to".into()),
        limit: 10,
        ..Default::default()
    })
    .is_empty());
    assert!(ids(EntityQuery {
        entity_type: Some("Event".into()),
        limit: 10,
        ..Default::default()
    })
    .is_empty());
    assert_eq!(
        ids(EntityQuery {
            entity_type: Some("place".into()),
            limit: 10,
            ..Default::default()
        })
        .len(),
        3
    );
    assert!(ids(EntityQuery {
        limit: 0,
        ..Default::default()
    })
    .is_empty());
    let json = serde_json::to_value(g.entity("place:tokyo").unwrap()).unwrap();
    assert_eq!(json["type"], "Place");
    assert_eq!(json["firstSeenMs"], 0);
}

#[test]
fn logical_facts_map_nodes_types_and_relations() {
    let ex = extractor();
    let g = graph_with(&ex, &["Ada Lovelace works at Acme Corp."]);
    let facts = g.logical_facts(100);
    let has_fact = |p: &str, args: &[&str]| {
        facts
            .iter()
            .any(|(q, a)| q == p && a.iter().map(String::as_str).eq(args.iter().copied()))
    };
    assert!(has_fact("entity", &["person:ada_lovelace"]));
    assert!(has_fact("person", &["person:ada_lovelace"]));
    assert!(has_fact("organization", &["organization:acme_corp"]));
    assert!(has_fact(
        "works_at",
        &["person:ada_lovelace", "organization:acme_corp"]
    ));
    assert_eq!(facts.iter().filter(|(p, _)| p == "co_occurs").count(), 1);
    assert_eq!(facts.len(), 6);
    assert_eq!(g.logical_facts(3).len(), 3);
    assert!(g.logical_facts(0).is_empty());
}

#[test]
fn ingest_rejects_bad_spans_and_ids() {
    let g = KnowledgeGraph::new();
    let text = "Tokyo";
    let mut e = Entity::new("Tokyo", EntityType::Place, 0, 5, 0.9);
    e.end = 6;
    assert_eq!(
        g.ingest(text, &[e.clone()], 0).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    e.start = 3;
    e.end = 2;
    assert_eq!(
        g.ingest(text, &[e.clone()], 0).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    let utf = "Zürich";
    let bad = Entity::new("Z", EntityType::Place, 0, 2, 0.9);
    assert_eq!(
        g.ingest(utf, &[bad], 0).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    let mut empty = Entity::new("Tokyo", EntityType::Place, 0, 5, 0.9);
    empty.id = " ".into();
    assert_eq!(
        g.ingest(text, &[empty], 0).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    let mut nan = Entity::new("Tokyo", EntityType::Place, 0, 5, 0.9);
    nan.confidence = f32::NAN;
    assert_eq!(
        g.ingest(text, &[nan], 0).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(g.stats().entities, 0, "rejected chunks change nothing");
    assert!(g.entity("place:nowhere").is_none());
}

#[test]
fn concurrent_ingest_from_many_threads_is_consistent() {
    let g = Arc::new(KnowledgeGraph::new());
    let ex = Arc::new(extractor());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (g, ex) = (g.clone(), ex.clone());
            std::thread::spawn(move || {
                for i in 0..100 {
                    let text =
                        format!("Ada Lovelace visited Tokyo and Osaka with Worker{t}x{i} Team.");
                    g.ingest(&text, &ex.extract(&text), i).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(g.entity("place:tokyo").unwrap().mentions, 400);
    let r = g
        .related("person:ada_lovelace", 1, Some("co_occurs"))
        .unwrap();
    let tokyo = r.iter().find(|r| r.id == "place:tokyo").unwrap();
    assert!(tokyo.weight > 1.0);
    // Both adjacency copies agree.
    let back = g.related("place:tokyo", 1, Some("co_occurs")).unwrap();
    let ada = back.iter().find(|r| r.id == "person:ada_lovelace").unwrap();
    assert_eq!(ada.weight, tokyo.weight);
}

#[test]
fn readers_flushes_and_writers_run_together_without_deadlock() {
    let g = Arc::new(KnowledgeGraph::new());
    let ex = Arc::new(extractor());
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let (g, ex) = (g.clone(), ex.clone());
            std::thread::spawn(move || {
                for i in 0..150 {
                    let text =
                        format!("Team{t} Lead{i} Person visited Tokyo, Osaka and Kyoto Labs.");
                    g.ingest(&text, &ex.extract(&text), i).unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let g = g.clone();
        std::thread::spawn(move || {
            let mut conn = rusqlite::Connection::open_in_memory().unwrap();
            let mut written = 0;
            for _ in 0..30 {
                let _ = g.logical_facts(10_000);
                written += g.flush(&mut conn).unwrap();
                let _ = g.path("place:tokyo", "place:osaka");
            }
            (written, conn)
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    let (_, mut conn) = reader.join().unwrap();
    g.flush(&mut conn).unwrap();
    let loaded = KnowledgeGraph::load(&conn).unwrap();
    assert_eq!(loaded.stats(), g.stats());
}

fn sample_graph() -> KnowledgeGraph {
    let ex = extractor();
    let g = KnowledgeGraph::new();
    for (i, m) in conversation().iter().enumerate() {
        g.ingest(m, &ex.extract(m), 1_000 * i as i64).unwrap();
    }
    g.add_fact(
        "person:ada_lovelace",
        "mentors",
        "person:grace_hopper",
        Some(10),
        None,
    )
    .unwrap();
    g
}

fn assert_same_graph(a: &KnowledgeGraph, b: &KnowledgeGraph) {
    assert_eq!(a.stats(), b.stats());
    let mut fa = a.logical_facts(usize::MAX);
    let mut fb = b.logical_facts(usize::MAX);
    fa.sort();
    fb.sort();
    assert_eq!(fa, fb);
    for rec in a.entities(&EntityQuery {
        limit: usize::MAX,
        ..Default::default()
    }) {
        assert_eq!(b.entity(&rec.id).as_ref(), Some(&rec));
        // Neighbour sets agree; along co-occurrence (one edge per neighbour) weights agree too.
        let ids = |g: &KnowledgeGraph| {
            let mut v: Vec<String> = g
                .related(&rec.id, 1, None)
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids(a), ids(b));
        let ra = a.related(&rec.id, 1, Some("co_occurs")).unwrap();
        let rb = b.related(&rec.id, 1, Some("co_occurs")).unwrap();
        let key = |v: &[Related]| {
            let mut k: Vec<_> = v
                .iter()
                .map(|r| {
                    (
                        r.id.clone(),
                        r.relation.clone(),
                        r.direction.clone(),
                        (r.weight * 1e4).round() as i64,
                    )
                })
                .collect();
            k.sort();
            k
        };
        assert_eq!(key(&ra), key(&rb), "neighbours of {}", rec.id);
    }
    assert_eq!(a.facts_at(i64::MAX - 1), b.facts_at(i64::MAX - 1));
}

#[test]
fn persistence_round_trips_in_memory_and_flushes_only_changes() {
    let g = sample_graph();
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    ensure_schema(&conn).unwrap();
    ensure_schema(&conn).unwrap();
    let stats = g.stats();
    let written = g.flush(&mut conn).unwrap();
    assert_eq!(written, stats.entities + stats.relations + stats.facts);
    assert_eq!(g.flush(&mut conn).unwrap(), 0, "nothing changed");
    let loaded = KnowledgeGraph::load(&conn).unwrap();
    assert_same_graph(&g, &loaded);

    // One more chunk touches 2 nodes and 1 edge (new node Kyoto, Tokyo updated, edge new).
    let es = vec![
        Entity::new("Tokyo", EntityType::Place, 0, 5, 0.9),
        Entity::new("Kyoto", EntityType::Place, 6, 11, 0.9),
    ];
    g.ingest("Tokyo Kyoto", &es, 99_000).unwrap();
    g.add_fact("place:kyoto", "near", "place:tokyo", None, Some(5))
        .unwrap();
    // 2 nodes + co_occurs + near edges + 1 fact.
    assert_eq!(g.flush(&mut conn).unwrap(), 5);
    let loaded = KnowledgeGraph::load(&conn).unwrap();
    assert_same_graph(&g, &loaded);
    // A loaded graph starts clean and keeps working.
    assert_eq!(loaded.flush(&mut conn).unwrap(), 0);
    let r = loaded.ingest("Tokyo Kyoto", &es, 100_000).unwrap();
    assert_eq!(
        (r.new_entities, r.new_relations, r.updated_relations),
        (0, 0, 1)
    );
}

#[test]
fn persistence_round_trips_through_a_file_and_detects_corruption() {
    let dir = std::env::temp_dir().join(format!("la-kg-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kg.db");
    let _ = std::fs::remove_file(&path);
    let g = sample_graph();
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        g.flush(&mut conn).unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let loaded = KnowledgeGraph::load(&conn).unwrap();
    assert_same_graph(&g, &loaded);
    // A relation naming a missing entity is corruption, not a panic.
    conn.execute(
        "INSERT INTO la_kg_relations VALUES ('place:ghost', 'place:tokyo', 'near', 1, 1.0, 1, 0)",
        [],
    )
    .unwrap();
    assert_eq!(
        KnowledgeGraph::load(&conn).err().unwrap().code,
        ErrorCode::StoreCorrupt
    );
    conn.execute(
        "UPDATE la_kg_entities SET type = 'bad:type' WHERE id = 'place:tokyo'",
        [],
    )
    .unwrap();
    assert_eq!(
        KnowledgeGraph::load(&conn).err().unwrap().code,
        ErrorCode::StoreCorrupt
    );
    drop(conn);
    std::fs::write(
        &path,
        b"this is not a database at all, just some bytes that go on for a while....",
    )
    .unwrap();
    let garbage = rusqlite::Connection::open(&path).unwrap();
    let e = KnowledgeGraph::load(&garbage).err().unwrap();
    assert!(
        matches!(e.code, ErrorCode::StoreCorrupt | ErrorCode::Store),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    // An empty database loads as an empty graph.
    let empty = rusqlite::Connection::open_in_memory().unwrap();
    assert_eq!(KnowledgeGraph::load(&empty).unwrap().stats().entities, 0);
}

#[test]
fn hundred_thousand_entities_load_and_query() {
    let n = 100_000usize;
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    ensure_schema(&conn).unwrap();
    {
        let tx = conn.transaction().unwrap();
        {
            let mut ent = tx
                .prepare("INSERT INTO la_kg_entities VALUES (?1, ?2, 'Concept', 1, 0, ?3)")
                .unwrap();
            let mut rel = tx
                .prepare("INSERT INTO la_kg_relations VALUES (?1, ?2, 'next', 1, 1.0, 1, ?3)")
                .unwrap();
            for i in 0..n {
                ent.execute(rusqlite::params![
                    format!("concept:item_{i:06}"),
                    format!("Item {i:06}"),
                    i as i64
                ])
                .unwrap();
            }
            for i in 0..n - 1 {
                rel.execute(rusqlite::params![
                    format!("concept:item_{i:06}"),
                    format!("concept:item_{:06}", i + 1),
                    i as i64
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let g = KnowledgeGraph::load(&conn).unwrap();
    let stats = g.stats();
    assert_eq!((stats.entities, stats.relations), (n, n - 1));
    let hits = g.entities(&EntityQuery {
        prefix: Some("item_0123".into()),
        limit: 1000,
        ..Default::default()
    });
    assert_eq!(hits.len(), 100);
    assert_eq!(hits[0].id, "concept:item_012300");
    let r = g.related("concept:item_050000", 2, Some("next")).unwrap();
    let ids: Vec<_> = r.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.contains(&"concept:item_050002") && ids.contains(&"concept:item_049998"));
    assert_eq!(
        g.path("concept:item_000010", "concept:item_000020")
            .unwrap()
            .unwrap()
            .len(),
        11
    );
}

/// Memory per entity at 1,000,000 entities and 5,000,000 relations. Run with
/// `cargo test --release -p scratch-knowledge scale_million -- --ignored --nocapture`.
#[test]
#[ignore]
fn scale_million_entities_five_million_relations() {
    fn rss_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
    let before = rss_kib();
    let g = KnowledgeGraph::new();
    let n = 1_000_000u32;
    let t0 = std::time::Instant::now();
    let kinds = [
        EntityType::Person,
        EntityType::Place,
        EntityType::Organization,
        EntityType::Concept,
    ];
    let mut nodes = Vec::with_capacity(n as usize);
    for i in 0..n {
        let ty = &kinds[(i % 4) as usize];
        let name = format!("Entity Number {i}");
        let id = entity_id(ty, &name);
        nodes.push(g.upsert_node(&id, &name, ty, 1, i64::from(i)).unwrap().0);
    }
    let after_nodes = rss_kib();
    let t_nodes = t0.elapsed();
    let co = g.intern_relation(graph::CO_OCCURS).unwrap();
    let works = g.intern_relation("works_at").unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut edges = 0usize;
    while edges < 5_000_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let a = nodes[(state % u64::from(n)) as usize];
        let b = nodes[((state >> 32) % u64::from(n)) as usize];
        let (rel, directed) = if edges.is_multiple_of(5) {
            (works, true)
        } else {
            (co, false)
        };
        if g.upsert_edge(a, b, rel, directed, edges as i64) == Some(true) {
            edges += 1;
        }
    }
    let after_edges = rss_kib();
    let t_all = t0.elapsed();
    let stats = g.stats();
    let ids: Vec<String> = (0..100_000u32)
        .map(|i| i * 7)
        .map(|j| entity_id(&kinds[(j % 4) as usize], &format!("Entity Number {j}")))
        .collect();
    let t = std::time::Instant::now();
    let mut total = 0;
    for id in &ids {
        total += g.related(id, 1, None).unwrap().len();
    }
    let per_query = t.elapsed() / 100_000;
    let t = std::time::Instant::now();
    let mut total_n = 0;
    for id in &ids {
        total_n += g.neighbours(id, None).unwrap().len();
    }
    let per_neighbours = t.elapsed() / 100_000;
    assert!(
        total_n >= total,
        "neighbours lists every edge, related every distinct node"
    );
    let t = std::time::Instant::now();
    for id in &ids {
        assert!(g.entity(id).is_some());
    }
    let per_lookup = t.elapsed() / 100_000;
    println!("neighbours={per_neighbours:?} entity={per_lookup:?}");
    println!(
        "entities={} relations={} rss_before={}KiB after_nodes={}KiB after_edges={}KiB \
         bytes/entity={:.0} bytes/relation={:.0} build_nodes={:?} build_all={:?} related(d=1)={:?} (avg {} hits)",
        stats.entities,
        stats.relations,
        before,
        after_nodes,
        after_edges,
        (after_nodes - before) as f64 * 1024.0 / f64::from(n),
        (after_edges - after_nodes) as f64 * 1024.0 / 5e6,
        t_nodes,
        t_all,
        per_query,
        total / 100_000
    );
    assert_eq!(stats.entities, n as usize);
    assert_eq!(stats.relations, 5_000_000);
}

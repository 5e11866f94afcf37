//! Large chunks: extraction and graph ingest take time linear in the chunk's size, and what a
//! long chunk yields can always be ingested.
//!
//! The bounds are generous on purpose (a debug build on a loaded machine): they catch a
//! super-linear step, which at 1 MB takes minutes to hours, not a slow machine. The slope
//! itself is measured by the `chunk_size` benchmark (`cargo bench --bench chunk_size`).

use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use super::*;

/// One megabyte.
const MB: usize = 1 << 20;

/// Generous bound for extracting and ingesting 1 MB in a debug build (linear work there takes a
/// few seconds; the quadratic overlap resolution this guards against took hours).
const BOUND: Duration = Duration::from_secs(60);

/// `unit` repeated to just under `bytes`.
fn repeat_to(unit: &str, bytes: usize) -> String {
    unit.repeat(bytes / unit.len())
}

/// A distinct alphabetic word for `i` (`Kab`, `Kac`, ...), capitalised.
fn word(mut i: usize) -> String {
    let mut w = String::from("K");
    for _ in 0..4 {
        w.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
    }
    w
}

/// Extracts and ingests `text` on a thread of its own; fails when that takes longer than
/// [`BOUND`] (without waiting for it to end) or when ingest fails. Returns the entity count.
#[track_caller]
fn extract_and_ingest_within_bound(what: &str, text: String) -> usize {
    let (tx, rx) = channel();
    let what_owned = what.to_string();
    std::thread::spawn(move || {
        let extractor = EntityExtractor::new().expect("built-in gazetteer loads");
        let graph = KnowledgeGraph::new();
        let started = Instant::now();
        let entities = extractor.extract(&text);
        let extracted = started.elapsed();
        let ingested = graph.ingest(&text, &entities, 1).map(|_| entities.len());
        let _ = tx.send((ingested, extracted, started.elapsed()));
        drop(what_owned);
    });
    match rx.recv_timeout(BOUND) {
        Ok((Ok(n), extracted, total)) => {
            eprintln!("{what}: {n} entities, extract {extracted:?}, extract + ingest {total:?}");
            n
        }
        Ok((Err(e), _, _)) => panic!("{what}: ingest failed: {e}"),
        Err(_) => panic!("{what}: extract + ingest of 1 MB took longer than {BOUND:?}"),
    }
}

#[test]
fn a_megabyte_of_numbers_is_extracted_and_ingested_in_linear_time() {
    let n = extract_and_ingest_within_bound("\"12 \" x 349,525", repeat_to("12 ", MB));
    assert_eq!(n, MB / 3, "every number is an entity");
}

#[test]
fn a_megabyte_of_one_dictionary_name_is_extracted_and_ingested_in_linear_time() {
    let n = extract_and_ingest_within_bound("\"Tokyo \" x 174,762", repeat_to("Tokyo ", MB));
    assert_eq!(n, MB / 6, "every mention is an entity");
}

#[test]
fn a_megabyte_of_distinct_names_is_extracted_and_ingested_in_linear_time() {
    // Distinct nominal entities: co-occurrence linking must not compare each with all others.
    let mut text = String::with_capacity(MB);
    let mut i = 0;
    while text.len() < MB - 64 {
        text.push_str(&format!("Then {} {} said hi. ", word(i), word(i + 7)));
        i += 1;
    }
    let n = extract_and_ingest_within_bound("distinct names", text);
    assert!(
        n >= i,
        "a name per sentence: {n} entities for {i} sentences"
    );
}

#[test]
fn a_megabyte_of_realistic_text_is_extracted_and_ingested_in_linear_time() {
    let sentence = "Ada Lovelace met Grace Hopper at the Web Summit 2025 in Lisbon on March 3, 2025. \
She works at Acme Corp and said the $1,200 budget ran 15% over plan; mail ada@acme.example or see Tokyo notes. ";
    let n = extract_and_ingest_within_bound("realistic text", repeat_to(sentence, MB));
    assert!(n > 10_000);
}

#[test]
fn overlong_mentions_are_not_entities_so_a_long_chunk_always_ingests() {
    // One capitalised run, one long number and one long URL: names longer than an entity id may
    // be must not make the whole chunk fail to ingest.
    let run = repeat_to("Alpha Beta ", 64 * 1024);
    let number = "7".repeat(4096);
    let url = format!("https://example.com/{}", "a".repeat(4096));
    for (what, text) in [
        ("a capitalised run", run),
        ("a long number", format!("the code {number} works")),
        ("a long url", format!("see {url} now")),
    ] {
        let extractor = EntityExtractor::new().expect("built-in gazetteer loads");
        let entities = extractor.extract(&text);
        assert!(
            entities
                .iter()
                .all(|e| e.id.len() <= super::graph::MAX_ID_LEN),
            "{what}: an entity id longer than {} bytes",
            super::graph::MAX_ID_LEN
        );
        KnowledgeGraph::new()
            .ingest(&text, &entities, 1)
            .unwrap_or_else(|e| panic!("{what}: ingest failed: {e}"));
    }
}

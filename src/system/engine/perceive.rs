//! Stage 1, perceive: what a chunk is, read from the chunk alone — its entities, words, the
//! learner's features and the action parameters. Nothing here reads state a step changes, so
//! a pipelined batch runs this stage ahead of the steps on a helper thread (`pipeline.rs`).

use super::*;

/// The learner's view of a chunk: its words, entity types and the session's preferences.
pub(super) fn context_features(
    chunk: &str,
    entities: &[Entity],
    session: &Session,
) -> Result<ContextFeatures> {
    let mut b = ContextFeatures::builder().text(chunk);
    for e in entities {
        b = b.entity_type(e.entity_type.as_str());
    }
    for (k, v) in &session.context.preferences {
        match v {
            Value::String(s) => b = b.preference(k, s),
            other => b = b.preference(k, &other.to_string()),
        }
    }
    b.build()
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The action's parameters: the text and its entities grouped by type.
pub(super) fn parameters(chunk: &str, entities: &[Entity]) -> Value {
    let mut by_type: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in entities {
        by_type
            .entry(e.entity_type.as_str())
            .or_default()
            .push(&e.name);
    }
    // Keys in order: the parameters go into Cedar contexts, whose canonical text sorts keys.
    json!({ "entities": by_type, "text": chunk })
}

impl Engine {
    pub(super) fn check_chunk(&self, chunk: &str) -> Result<()> {
        if chunk.len() > self.config.max_chunk_bytes {
            return err(
                ErrorCode::ChunkTooLarge,
                format!(
                    "chunk is {} bytes, over the limit of {} (raise maxChunkBytes or split the text)",
                    chunk.len(),
                    self.config.max_chunk_bytes
                ),
            );
        }
        if chunk.trim().is_empty() {
            return err(
                ErrorCode::EmptyChunk,
                "chunk is empty; pass some text to process",
            );
        }
        Ok(())
    }

    /// Checks every chunk of a batch (size and emptiness) before any step runs; the error
    /// names the first bad chunk's index.
    pub fn check_chunks<S: AsRef<str>>(&self, chunks: &[S]) -> Result<()> {
        self.ensure_open()?;
        for (i, c) in chunks.iter().enumerate() {
            self.check_chunk(c.as_ref())
                .map_err(|e| Error::new(e.code, format!("chunk {i}: {}", e.message)))?;
        }
        Ok(())
    }

    /// The part of a step that reads no state that steps change: entities, words, entity
    /// types, learner features, action parameters.
    pub(super) fn perceive(&self, session: &Session, chunk: &str) -> Result<Perception> {
        let began = Instant::now();
        let entities = self.extractor.extract(chunk);
        let words: FastSet<String> = tokenize(chunk).into_iter().collect();
        let types: FastSet<String> = entities.iter().map(|e| e.entity_type.key()).collect();
        // The step sees the first MAX_STEP_ENTITIES entities; the graph gets them all (`act`).
        let shown = &entities[..entities.len().min(MAX_STEP_ENTITIES)];
        let features = Arc::new(context_features(chunk, shown, session)?);
        let params = parameters(chunk, shown);
        Ok(Perception {
            entities,
            words,
            types,
            features,
            params,
            input: truncate(chunk, 200),
            took: began.elapsed(),
        })
    }
}

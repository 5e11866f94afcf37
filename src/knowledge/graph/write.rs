//! Writing the graph: nodes and edges (both copies under both shard locks), ingesting a chunk's
//! entities and relations, temporal facts, and the checks that keep ids and relations well formed.

use super::*;
/// `weight` at `from_ms`, decayed to `to_ms` (no growth when `to_ms` is earlier).
pub(crate) fn decay(weight: f32, from_ms: i64, to_ms: i64, half_life_ms: f64) -> f64 {
    let dt = to_ms.saturating_sub(from_ms);
    if dt <= 0 {
        return f64::from(weight);
    }
    f64::from(weight) * (0.5f64).powf(dt as f64 / half_life_ms)
}

pub(super) fn starts_upper(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

pub(super) fn validate_entity(text: &str, e: &Entity) -> Result<()> {
    let id = e.id.trim();
    if id.is_empty() {
        return err(ErrorCode::InvalidInput, "entity id must not be empty");
    }
    if id.len() > MAX_ID_LEN {
        return err(
            ErrorCode::InvalidInput,
            format!("entity id is longer than {MAX_ID_LEN} bytes"),
        );
    }
    if e.start > e.end
        || e.end > text.len()
        || !text.is_char_boundary(e.start)
        || !text.is_char_boundary(e.end)
    {
        return err(
            ErrorCode::InvalidInput,
            format!(
                "entity `{}` span {}..{} is not a character range of the {}-byte text",
                e.id,
                e.start,
                e.end,
                text.len()
            ),
        );
    }
    if !e.confidence.is_finite() {
        return err(
            ErrorCode::InvalidInput,
            format!("entity `{}` confidence must be finite", e.id),
        );
    }
    Ok(())
}

/// Lowercases a relation name and maps spaces/`-` to `_`; it must then be `[a-z][a-z0-9_]*`
/// (at most 64 bytes), so it can be a logical predicate.
pub(crate) fn normalize_relation(relation: &str) -> Result<String> {
    let r: String = relation
        .trim()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let valid = r.len() <= 64
        && r.starts_with(|c: char| c.is_ascii_lowercase())
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return err(
            ErrorCode::InvalidInput,
            format!("relation `{relation}` must be letters, digits and `_`, starting with a letter (max 64)"),
        );
    }
    Ok(r)
}

impl KnowledgeGraph {
    /// Inserts or updates a node; returns its number and whether it is new. Fails only when
    /// the type table or the node numbering is full (`InvalidInput`).
    pub(crate) fn upsert_node(
        &self,
        id: &str,
        name: &str,
        ty: &EntityType,
        mentions: u32,
        at_ms: i64,
    ) -> Result<(u32, bool)> {
        let shard_idx = self.shard_of_key(id);
        {
            let mut shard = self.shards[shard_idx].write();
            if let Some(&local) = shard.by_key.get(id) {
                let node = &mut shard.nodes[local as usize];
                node.mentions = node.mentions.saturating_add(mentions);
                node.first_seen = node.first_seen.min(at_ms);
                node.last_seen = node.last_seen.max(at_ms);
                if !starts_upper(&node.name) && starts_upper(name) {
                    node.name = name.into();
                }
                shard.dirty_nodes.insert(local);
                return Ok((join_node(shard_idx, local as usize), false));
            }
        }
        let ty_num = self.intern_type(ty)?;
        let key: Arc<str> = id.into();
        let mut shard = self.shards[shard_idx].write();
        // Re-check: another writer may have created it between the two locks.
        if shard.by_key.contains_key(id) {
            drop(shard);
            return self.upsert_node(id, name, ty, mentions, at_ms);
        }
        let local = shard.nodes.len();
        if local >= MAX_NODES_PER_SHARD {
            return err(
                ErrorCode::InvalidInput,
                format!(
                    "the knowledge graph is full ({} entities)",
                    MAX_NODES_PER_SHARD * SHARDS
                ),
            );
        }
        shard.nodes.push(Node {
            id: key.clone(),
            name: name.into(),
            ty: ty_num,
            mentions,
            first_seen: at_ms,
            last_seen: at_ms,
            adj: Vec::new(),
            adj_index: None,
        });
        shard.by_key.insert(key, local as u32);
        shard.dirty_nodes.insert(local as u32);
        drop(shard);
        if ty.is_value() {
            self.value_count.fetch_add(1, Ordering::Relaxed);
        }
        let node = join_node(shard_idx, local);
        self.names.write().insert((name_key(id).into(), node));
        Ok((node, true))
    }

    /// Adds or reinforces the edge `a → b` (`directed`) or `a — b`; returns whether it is new
    /// (`None` for a self-loop, which is ignored).
    pub(crate) fn upsert_edge(
        &self,
        a: u32,
        b: u32,
        rel: u16,
        directed: bool,
        at_ms: i64,
    ) -> Option<bool> {
        self.apply_edge(a, b, rel, directed, EdgeOp::Observe(at_ms))
    }

    /// Sets an edge to persisted values (used by `load`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restore_edge(
        &self,
        a: u32,
        b: u32,
        rel: u16,
        directed: bool,
        weight: f32,
        count: u32,
        updated_ms: i64,
    ) {
        self.apply_edge(
            a,
            b,
            rel,
            directed,
            EdgeOp::Restore {
                weight,
                count,
                updated_ms,
            },
        );
    }

    pub(super) fn apply_edge(
        &self,
        a: u32,
        b: u32,
        rel: u16,
        directed: bool,
        op: EdgeOp,
    ) -> Option<bool> {
        if a == b {
            return None;
        }
        // Canonical holder: the source of a directed edge, the smaller id of a symmetric one.
        let (holder, other, dir) = if directed {
            (a, b, Dir::Out)
        } else {
            (a.min(b), a.max(b), Dir::Both)
        };
        let (hs, hl) = split_node(holder);
        let (os, ol) = split_node(other);
        let half_life = self.config.half_life_ms as f64;
        let update = |h: &mut Shard, o: Option<&mut Shard>| -> bool {
            let node = &mut h.nodes[hl];
            let fresh = |weight, count, updated_ms| Adj {
                other,
                rel,
                dir,
                weight,
                count,
                updated_ms,
            };
            let (adj, is_new) = match (node.find_adj(other, rel, dir), op) {
                (Some(i), EdgeOp::Observe(at_ms)) => {
                    let e = &mut node.adj[i];
                    e.weight = (decay(e.weight, e.updated_ms, at_ms, half_life) + 1.0) as f32;
                    e.count = e.count.saturating_add(1);
                    e.updated_ms = e.updated_ms.max(at_ms);
                    (*e, false)
                }
                (
                    Some(i),
                    EdgeOp::Restore {
                        weight,
                        count,
                        updated_ms,
                    },
                ) => {
                    node.adj[i] = fresh(weight, count, updated_ms);
                    (node.adj[i], false)
                }
                (None, op) => {
                    let e = match op {
                        EdgeOp::Observe(at_ms) => fresh(1.0, 1, at_ms),
                        EdgeOp::Restore {
                            weight,
                            count,
                            updated_ms,
                        } => fresh(weight, count, updated_ms),
                    };
                    node.push_adj(e);
                    (e, true)
                }
            };
            if matches!(op, EdgeOp::Observe(_)) {
                h.dirty_edges.insert((hl as u32, other, rel, dir as u8));
            }
            let mirror = Adj {
                other: holder,
                dir: dir.reverse(),
                ..adj
            };
            let o = o.unwrap_or(h);
            let onode = &mut o.nodes[ol];
            match onode.find_adj(holder, rel, mirror.dir) {
                Some(i) => onode.adj[i] = mirror,
                None => onode.push_adj(mirror),
            }
            is_new
        };
        let is_new = if hs == os {
            let mut g = self.shards[hs].write();
            update(&mut g, None)
        } else {
            let (mut g1, mut g2) = lock_two(&self.shards, hs, os);
            update(&mut g1, Some(&mut g2))
        };
        if is_new {
            self.relation_count.fetch_add(1, Ordering::Relaxed);
        }
        Some(is_new)
    }

    /// Upserts the chunk's entities, links them by co-occurrence and by relations found in
    /// `text`, and records dated relations as facts. Spans must lie inside `text` on character
    /// boundaries, ids must be non-empty and confidences finite (else `InvalidInput`, and
    /// nothing is changed). Typed relations are looked for only when the entities are sorted
    /// by start, as [`crate::knowledge::EntityExtractor::extract`] returns them.
    pub fn ingest(&self, text: &str, entities: &[Entity], at_ms: i64) -> Result<IngestReport> {
        for e in entities {
            validate_entity(text, e)?;
            // Interning up front means nothing below can fail half-way through the chunk.
            self.intern_type(&e.entity_type)?;
        }
        let mut report = IngestReport::default();
        if entities.is_empty() {
            return Ok(report);
        }
        self.clock_ms.fetch_max(at_ms, Ordering::Relaxed);
        // `None`: a new value past the cap (values have no co-occurrence edges or relations
        // from text, so nothing below needs their node).
        let mut nodes: Vec<Option<u32>> = Vec::with_capacity(entities.len());
        for e in entities {
            if e.entity_type.is_value()
                && self.value_count.load(Ordering::Relaxed) >= MAX_VALUE_ENTITIES
                && self.node_of(&e.id).is_none()
            {
                self.values_not_kept.fetch_add(1, Ordering::Relaxed);
                nodes.push(None);
                continue;
            }
            let (node, is_new) = self.upsert_node(&e.id, &e.name, &e.entity_type, 1, at_ms)?;
            report.new_entities += usize::from(is_new);
            nodes.push(Some(node));
        }
        // Co-occurrence among distinct non-value entities (a set finds repeats: a chunk may
        // hold tens of thousands of entities).
        let mut linked: Vec<u32> = Vec::with_capacity(nodes.len());
        let mut seen: FastSet<u32> = FastSet::default();
        for (e, n) in entities.iter().zip(&nodes) {
            if let Some(n) = *n {
                if !e.entity_type.is_value() && seen.insert(n) {
                    linked.push(n);
                }
            }
        }
        for i in 0..linked.len() {
            for j in i + 1..linked.len().min(i + 1 + COOCCURRENCE_WINDOW) {
                self.count_edge(&mut report, linked[i], linked[j], 0, false, at_ms);
            }
        }
        // Typed relations from connector phrases.
        let mut sorted = true;
        for w in entities.windows(2) {
            sorted &= w[0].start <= w[1].start;
        }
        if sorted {
            for found in find_relations(text, entities) {
                let rel = self.intern_relation(found.relation)?;
                // Relations join things, never values, so both ends have nodes.
                let Some(subject) = nodes[found.subject] else {
                    continue;
                };
                let (object, object_id) = match &found.object {
                    RelationObject::Entity(i) => match nodes[*i] {
                        Some(n) => (n, entities[*i].id.clone()),
                        None => continue,
                    },
                    RelationObject::Concept(name) => {
                        let e = Entity::new(name, EntityType::Concept, 0, 0, 0.5);
                        let (n, is_new) =
                            self.upsert_node(&e.id, name, &EntityType::Concept, 1, at_ms)?;
                        report.new_entities += usize::from(is_new);
                        (n, e.id)
                    }
                };
                self.count_edge(&mut report, subject, object, rel, true, at_ms);
                if found.valid_from.is_some() || found.valid_until.is_some() {
                    self.insert_fact(Fact {
                        subject: entities[found.subject].id.clone(),
                        relation: found.relation.to_string(),
                        object: object_id,
                        valid_from_ms: found.valid_from,
                        valid_until_ms: found.valid_until,
                        source: "text".to_string(),
                    });
                }
            }
        }
        Ok(report)
    }

    pub(super) fn count_edge(
        &self,
        report: &mut IngestReport,
        a: u32,
        b: u32,
        rel: u16,
        directed: bool,
        at_ms: i64,
    ) {
        match self.upsert_edge(a, b, rel, directed, at_ms) {
            Some(true) => report.new_relations += 1,
            Some(false) => report.updated_relations += 1,
            None => {}
        }
    }

    /// Records `subject relation object` valid in `[valid_from_ms, valid_until_ms)` and links
    /// the two entities by `relation`. Returns `true` if the fact is new. Unknown ids →
    /// `NotFound`; a relation that is not `[a-z][a-z0-9_]*` after lowercasing (spaces become
    /// `_`) or an empty interval → `InvalidInput`.
    pub fn add_fact(
        &self,
        subject_id: &str,
        relation: &str,
        object_id: &str,
        valid_from_ms: Option<i64>,
        valid_until_ms: Option<i64>,
    ) -> Result<bool> {
        let relation = normalize_relation(relation)?;
        if let (Some(f), Some(u)) = (valid_from_ms, valid_until_ms) {
            if f >= u {
                return err(
                    ErrorCode::InvalidInput,
                    format!("validFromMs ({f}) must be before validUntilMs ({u})"),
                );
            }
        }
        let subject = self.node_or_not_found(subject_id)?;
        let object = self.node_or_not_found(object_id)?;
        if subject == object {
            return err(
                ErrorCode::InvalidInput,
                "a fact needs two different entities",
            );
        }
        let rel = self.intern_relation(&relation)?;
        let at = valid_from_ms.unwrap_or_else(|| self.clock_ms.load(Ordering::Relaxed).max(0));
        self.upsert_edge(subject, object, rel, true, at);
        Ok(self.insert_fact(Fact {
            subject: subject_id.to_string(),
            relation,
            object: object_id.to_string(),
            valid_from_ms,
            valid_until_ms,
            source: "manual".to_string(),
        }))
    }

    pub(crate) fn insert_fact(&self, fact: Fact) -> bool {
        let mut store = self.facts.write();
        if store.index.contains(&fact) {
            return false;
        }
        store.index.insert(fact.clone());
        store.facts.push(fact);
        true
    }
}

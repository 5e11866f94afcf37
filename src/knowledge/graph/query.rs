//! Reading the graph: entities by id, type or prefix, related entities and neighbours, paths,
//! facts valid at a time, and the logical facts the rule engine proves from.

use super::*;
impl KnowledgeGraph {
    /// Looks up a node number by id.
    pub(crate) fn node_of(&self, id: &str) -> Option<u32> {
        let shard_idx = self.shard_of_key(id);
        let shard = self.shards[shard_idx].read();
        shard
            .by_key
            .get(id)
            .map(|&local| join_node(shard_idx, local as usize))
    }

    pub(super) fn node_or_not_found(&self, id: &str) -> Result<u32> {
        self.node_of(id).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("no entity with id `{id}` in the knowledge graph"),
            )
        })
    }

    /// Facts valid at `at_ms`, in insertion order.
    pub fn facts_at(&self, at_ms: i64) -> Vec<Fact> {
        self.facts
            .read()
            .facts
            .iter()
            .filter(|f| f.valid_at(at_ms))
            .cloned()
            .collect()
    }

    /// The node with this id.
    pub fn entity(&self, id: &str) -> Option<EntityRecord> {
        let node = self.node_of(id)?;
        Some(self.record(node))
    }

    pub(super) fn record(&self, node: u32) -> EntityRecord {
        let (s, l) = split_node(node);
        let shard = self.shards[s].read();
        let n = &shard.nodes[l];
        EntityRecord {
            id: n.id.to_string(),
            name: n.name.to_string(),
            entity_type: self.type_of(n.ty),
            mentions: u64::from(n.mentions),
            first_seen_ms: n.first_seen,
            last_seen_ms: n.last_seen,
            degree: n.adj.len(),
        }
    }

    /// Nodes matching the query, at most `limit`. With a prefix, results come from the sorted
    /// name index in name order (no scan); without, in storage order.
    pub fn entities(&self, q: &EntityQuery) -> Vec<EntityRecord> {
        if q.limit == 0 {
            return Vec::new();
        }
        let wanted_type = match &q.entity_type {
            Some(t) => match self.types_matching(t) {
                Some(tys) => Some(tys),
                None => return Vec::new(),
            },
            None => None,
        };
        let mut out = Vec::new();
        match q.prefix.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(prefix) => {
                // "type:name" prefixes restrict the type too.
                let (type_filter, name_prefix) = match prefix.split_once(':') {
                    Some((t, n)) => match self.types_matching(t) {
                        Some(tys) => (Some(tys), normalize_name(n)),
                        None => return Vec::new(),
                    },
                    None => (None, normalize_name(prefix)),
                };
                let names = self.names.read();
                let start: (Box<str>, u32) = (name_prefix.as_str().into(), 0);
                for (name, node) in names.range((Bound::Included(start), Bound::Unbounded)) {
                    if !name.starts_with(name_prefix.as_str()) {
                        break;
                    }
                    let (s, l) = split_node(*node);
                    let ty = self.shards[s].read().nodes[l].ty;
                    if type_filter.as_ref().is_some_and(|t| !t.contains(&ty))
                        || wanted_type.as_ref().is_some_and(|t| !t.contains(&ty))
                    {
                        continue;
                    }
                    out.push(*node);
                    if out.len() == q.limit {
                        break;
                    }
                }
            }
            None => {
                'outer: for (s, shard) in self.shards.iter().enumerate() {
                    let shard = shard.read();
                    for (l, n) in shard.nodes.iter().enumerate() {
                        if wanted_type.as_ref().is_some_and(|t| !t.contains(&n.ty)) {
                            continue;
                        }
                        out.push(join_node(s, l));
                        if out.len() == q.limit {
                            break 'outer;
                        }
                    }
                }
            }
        }
        out.into_iter().map(|n| self.record(n)).collect()
    }

    /// The interned types a query's type name means, matched case-insensitively (custom
    /// types keep their case when stored, so `Product` and `product` may both exist);
    /// `None` when the name is invalid or no such type was seen.
    pub(super) fn types_matching(&self, name: &str) -> Option<Vec<u16>> {
        let wanted = EntityType::parse(name).ok()?;
        let types = self.types.read();
        let found: Vec<u16> = types
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.eq_ignore_ascii_case(wanted.as_str()))
            .map(|(i, _)| i as u16)
            .collect();
        (!found.is_empty()).then_some(found)
    }

    /// Copies a node's adjacency (optionally one relation) without holding the lock afterwards.
    pub(super) fn neighbours_of(&self, node: u32, rel: Option<u16>, out: &mut Vec<Adj>) {
        out.clear();
        let (s, l) = split_node(node);
        let shard = self.shards[s].read();
        let adj = &shard.nodes[l].adj;
        match rel {
            Some(r) => out.extend(adj.iter().filter(|a| a.rel == r)),
            None => out.extend_from_slice(adj),
        }
    }

    /// Nodes within `depth` hops of `id` (1..=6), breadth first, optionally along one relation
    /// only; sorted by depth, then weight (desc). At most 10,000 results. Unknown id →
    /// `NotFound`; depth 0 or over 6 → `InvalidInput`.
    pub fn related(&self, id: &str, depth: usize, relation: Option<&str>) -> Result<Vec<Related>> {
        if depth == 0 || depth > MAX_DEPTH {
            return err(
                ErrorCode::InvalidInput,
                format!("depth must be between 1 and {MAX_DEPTH}, got {depth}"),
            );
        }
        let start = self.node_or_not_found(id)?;
        let rel = match relation {
            Some(r) => match self.relations.read().get(&normalize_relation(r)?) {
                Some(r) => Some(r),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let now = self.clock_ms.load(Ordering::Relaxed);
        let half_life = self.config.half_life_ms as f64;
        let mut visited: HashSet<u32> = HashSet::from([start]);
        let mut frontier = vec![start];
        let mut hits: Vec<(u32, Adj, usize, u32)> = Vec::new();
        let mut adj = Vec::new();
        'bfs: for d in 1..=depth {
            let mut next = Vec::new();
            for &node in &frontier {
                self.neighbours_of(node, rel, &mut adj);
                for a in &adj {
                    if visited.insert(a.other) {
                        hits.push((a.other, *a, d, node));
                        next.push(a.other);
                        if hits.len() == MAX_RELATED {
                            break 'bfs;
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        let mut out: Vec<Related> = hits
            .into_iter()
            .map(|(node, a, d, via)| {
                let rec = self.record(node);
                Related {
                    id: rec.id,
                    name: rec.name,
                    entity_type: rec.entity_type,
                    relation: self.relation_name(a.rel).to_string(),
                    weight: decay(a.weight, a.updated_ms, now, half_life),
                    depth: d,
                    via: self.id_of(via),
                    direction: a.dir.as_str().to_string(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.depth.cmp(&b.depth).then(b.weight.total_cmp(&a.weight)));
        Ok(out)
    }

    /// Direct neighbours of `id` (edges in both directions), optionally along one relation:
    /// the cheap form of `related(id, 1, relation)` (ids and relation names are shared `Arc`s,
    /// unsorted). Unknown id → `NotFound`.
    pub fn neighbours(&self, id: &str, relation: Option<&str>) -> Result<Vec<Neighbour>> {
        let node = self.node_or_not_found(id)?;
        let rel = match relation {
            Some(r) => match self.relations.read().get(&normalize_relation(r)?) {
                Some(r) => Some(r),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let mut adj = Vec::new();
        self.neighbours_of(node, rel, &mut adj);
        let now = self.clock_ms.load(Ordering::Relaxed);
        let half_life = self.config.half_life_ms as f64;
        let relations = self.relations.read();
        Ok(adj
            .iter()
            .map(|a| {
                let (s, l) = split_node(a.other);
                Neighbour {
                    id: self.shards[s].read().nodes[l].id.clone(),
                    relation: relations.names[a.rel as usize].clone(),
                    weight: decay(a.weight, a.updated_ms, now, half_life),
                    direction: a.dir.as_str(),
                }
            })
            .collect())
    }

    /// Number of edges of `id` (both directions, all relations). Unknown id → `NotFound`.
    pub fn neighbour_count(&self, id: &str) -> Result<usize> {
        let node = self.node_or_not_found(id)?;
        let (s, l) = split_node(node);
        Ok(self.shards[s].read().nodes[l].adj.len())
    }

    /// Shortest path between two nodes (edges in either direction, any relation), as ids from
    /// `from` to `to`; `Ok(None)` when unconnected. Bidirectional BFS. Unknown ids → `NotFound`.
    pub fn path(&self, from: &str, to: &str) -> Result<Option<Vec<String>>> {
        let a = self.node_or_not_found(from)?;
        let b = self.node_or_not_found(to)?;
        if a == b {
            return Ok(Some(vec![from.to_string()]));
        }
        let mut parents = [HashMap::from([(a, a)]), HashMap::from([(b, b)])];
        let mut frontiers = [VecDeque::from([a]), VecDeque::from([b])];
        let mut adj = Vec::new();
        while !frontiers[0].is_empty() && !frontiers[1].is_empty() {
            // Expand the smaller frontier one full level.
            let side = usize::from(frontiers[1].len() < frontiers[0].len());
            let level: Vec<u32> = frontiers[side].drain(..).collect();
            for node in level {
                self.neighbours_of(node, None, &mut adj);
                for e in &adj {
                    if parents[side].contains_key(&e.other) {
                        continue;
                    }
                    parents[side].insert(e.other, node);
                    if parents[1 - side].contains_key(&e.other) {
                        return Ok(Some(self.join_path(&parents, e.other)));
                    }
                    frontiers[side].push_back(e.other);
                }
            }
        }
        Ok(None)
    }

    pub(super) fn join_path(&self, parents: &[HashMap<u32, u32>; 2], meet: u32) -> Vec<String> {
        let mut left = vec![meet];
        let mut n = meet;
        while let Some(&p) = parents[0].get(&n) {
            if p == n {
                break;
            }
            left.push(p);
            n = p;
        }
        left.reverse();
        let mut n = meet;
        while let Some(&p) = parents[1].get(&n) {
            if p == n {
                break;
            }
            left.push(p);
            n = p;
        }
        left.into_iter().map(|n| self.id_of(n)).collect()
    }

    /// Ground facts for the rule engine, at most `limit`:
    /// * `entity(Id)` for every node;
    /// * `<type>(Id)` with the lowercase type name (`place(place:tokyo)`, `person(...)`,
    ///   `datetime(...)`, custom types lowercased);
    /// * `<relation>(Source, Target)` for every typed edge (`works_at(person:x, organization:y)`)
    ///   and `co_occurs(A, B)` once per co-occurrence edge (lexicographically smaller id first).
    ///
    /// Arguments are entity ids verbatim.
    pub fn logical_facts(&self, limit: usize) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        if limit == 0 {
            return out;
        }
        let type_preds: Vec<String> = self
            .types
            .read()
            .names
            .iter()
            .map(|n| n.to_lowercase())
            .collect();
        let rel_names = self.relations.read().name_strings();
        for (s, shard) in self.shards.iter().enumerate() {
            // Edges to other shards are resolved after this shard's lock is released: holding
            // one shard lock while taking another could deadlock with an edge writer.
            let mut foreign: Vec<(Arc<str>, u16, Dir, u32)> = Vec::new();
            {
                let shard = shard.read();
                for n in shard.nodes.iter() {
                    let id = n.id.to_string();
                    out.push(("entity".to_string(), vec![id.clone()]));
                    if let Some(t) = type_preds.get(n.ty as usize) {
                        out.push((t.clone(), vec![id.clone()]));
                    }
                    for a in &n.adj {
                        if a.dir == Dir::In {
                            continue;
                        }
                        let (os, ol) = split_node(a.other);
                        if os != s {
                            foreign.push((n.id.clone(), a.rel, a.dir, a.other));
                            continue;
                        }
                        let other = &shard.nodes[ol].id;
                        // Symmetric edges once, smaller id first (stable across reloads).
                        if a.dir == Dir::Out || n.id < *other {
                            out.push((
                                rel_names[a.rel as usize].clone(),
                                vec![id.clone(), other.to_string()],
                            ));
                        }
                    }
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            for (id, rel, dir, other) in foreign {
                if out.len() >= limit {
                    break;
                }
                let other = self.id_of(other);
                if dir == Dir::Out || *id < *other {
                    out.push((rel_names[rel as usize].clone(), vec![id.to_string(), other]));
                }
            }
            if out.len() >= limit {
                out.truncate(limit);
                return out;
            }
        }
        out
    }

    /// Every temporal fact, valid or not, in insertion order.
    pub fn temporal_facts(&self) -> Vec<Fact> {
        self.facts.read().facts.clone()
    }
}

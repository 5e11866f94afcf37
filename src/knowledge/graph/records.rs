//! The graph's records as callers see them: configuration, ingest reports, entity records,
//! related entities and neighbours, temporal facts and statistics.

use super::*;
/// Tuning of a [`KnowledgeGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphConfig {
    /// Half-life of edge weights in milliseconds (> 0). Default: 7 days.
    pub half_life_ms: i64,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            half_life_ms: 7 * crate::time::MS_PER_DAY,
        }
    }
}

/// What one [`KnowledgeGraph::ingest`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestReport {
    /// Nodes created.
    pub new_entities: usize,
    /// Edges created.
    pub new_relations: usize,
    /// Existing edges whose weight was increased.
    pub updated_relations: usize,
}

/// A node as seen by queries.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityRecord {
    /// Stable id (`place:tokyo`).
    pub id: String,
    /// Display name (the best-cased surface form seen).
    pub name: String,
    /// Entity type, serialized as `type`.
    #[serde(rename = "type")]
    #[cfg_attr(test, ts(type = "string"))]
    pub entity_type: EntityType,
    /// How many mentions were ingested.
    pub mentions: u64,
    /// `at_ms` of the first mention.
    pub first_seen_ms: i64,
    /// `at_ms` of the latest mention.
    pub last_seen_ms: i64,
    /// Number of edges (both directions, all relations).
    pub degree: usize,
}

/// Filter for [`KnowledgeGraph::entities`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityQuery {
    /// Only this type (any case; custom names allowed).
    pub entity_type: Option<String>,
    /// Prefix of the normalised name (`tok`), or of the id when it contains `:` (`place:tok`).
    pub prefix: Option<String>,
    /// Most records to return.
    pub limit: usize,
}

/// A node reached by [`KnowledgeGraph::related`].
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Related {
    /// The reached node's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its type, serialized as `type`.
    #[serde(rename = "type")]
    #[cfg_attr(test, ts(type = "string"))]
    pub entity_type: EntityType,
    /// The relation of the edge it was reached by.
    pub relation: String,
    /// That edge's weight, decayed to the graph clock.
    pub weight: f64,
    /// Hops from the start node (1 = direct neighbour).
    pub depth: usize,
    /// Id of the node it was reached from.
    pub via: String,
    /// Edge direction seen from `via`: `out` (via → id), `in` (id → via) or `both`.
    #[cfg_attr(test, ts(type = "'out' | 'in' | 'both'"))]
    pub direction: String,
}

/// A direct neighbour, as returned by [`KnowledgeGraph::neighbours`]. Serializes as
/// `{"id", "relation", "weight", "direction"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    /// The neighbour's id.
    pub id: Arc<str>,
    /// The edge's relation name.
    pub relation: Arc<str>,
    /// The edge's weight, decayed to the graph clock.
    pub weight: f64,
    /// `out` (id → neighbour), `in` (neighbour → id) or `both`.
    pub direction: &'static str,
}

impl Serialize for Neighbour {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = serializer.serialize_struct("Neighbour", 4)?;
        st.serialize_field("id", &*self.id)?;
        st.serialize_field("relation", &*self.relation)?;
        st.serialize_field("weight", &self.weight)?;
        st.serialize_field("direction", self.direction)?;
        st.end()
    }
}

/// A time-bounded statement `subject relation object`.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fact {
    /// Subject entity id.
    pub subject: String,
    /// Relation name.
    pub relation: String,
    /// Object entity id.
    pub object: String,
    /// Valid from this time (inclusive, ms since the epoch); `None` = always before.
    pub valid_from_ms: Option<i64>,
    /// Valid until this time (exclusive); `None` = still valid.
    pub valid_until_ms: Option<i64>,
    /// `manual` (from `add_fact`) or `text` (from a dated sentence).
    pub source: String,
}

impl Fact {
    /// Whether the fact holds at `at_ms`.
    pub fn valid_at(&self, at_ms: i64) -> bool {
        self.valid_from_ms.is_none_or(|f| f <= at_ms)
            && self.valid_until_ms.is_none_or(|u| at_ms < u)
    }
}

/// Counts for [`KnowledgeGraph::stats`].
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphStats {
    /// Number of nodes.
    pub entities: usize,
    /// Number of edges (each counted once).
    pub relations: usize,
    /// Number of temporal facts.
    pub facts: usize,
    /// Mentions of new values that got no node because the graph already holds
    /// `MAX_VALUE_ENTITIES` values.
    pub values_not_kept: u64,
    /// Nodes per type name.
    pub by_type: BTreeMap<String, usize>,
}

#[derive(Default)]
pub(crate) struct FactStore {
    pub facts: Vec<Fact>,
    pub index: HashSet<Fact>,
    /// Facts before this index are persisted.
    pub flushed: usize,
}

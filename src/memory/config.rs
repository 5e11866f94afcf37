//! Bank configuration and retrieval options, with agentic-flow's values as defaults.

use serde::{Deserialize, Serialize};

use crate::error::{err, Error, ErrorCode, Result};

/// Which memories eviction may delete (`bank.evict`).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EvictMode {
    /// Only memories this bank wrote (created by its `store` or an import into its store,
    /// in any process); `maxMemories` caps those. Other writers' rows (agentic-flow's) are
    /// never deleted and do not count against the cap. The default.
    #[default]
    Own,
    /// Any memory in the file, agentic-flow's included; `maxMemories` caps them all.
    All,
    /// Nothing is ever evicted; the caps are only reported by `stats()`.
    None,
}

/// Configuration of a [`super::ReasoningBank`] (camelCase JSON; unknown keys are rejected).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BankConfig {
    /// Most memories kept; lowest-value ones are evicted beyond it (default 10,000). With
    /// `evict: 'own'` it counts the memories this bank wrote, with `'all'` every memory.
    #[cfg_attr(test, ts(as = "Option<usize>", optional))]
    pub max_memories: usize,
    /// Which memories eviction may delete (default [`EvictMode::Own`]).
    #[cfg_attr(test, ts(as = "Option<EvictMode>", optional))]
    pub evict: EvictMode,
    /// Most learnings kept (default 5,000).
    #[cfg_attr(test, ts(as = "Option<usize>", optional))]
    pub max_learnings: usize,
    /// Eviction removes items until this fraction of the cap remains (default 0.95).
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub evict_to_fraction: f64,
    /// Half-life in days of the recency factor used by eviction (default 45).
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub eviction_half_life_days: f64,
    /// Whether retrieval increments `usage_count`/`last_used` like agentic-flow (default true).
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub record_usage: bool,
    /// Whether retrieval and consolidation write `metrics_log` rows like agentic-flow (default true).
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub log_metrics: bool,
    /// Cosine at or above which two memories are linked `duplicate_of` (default 0.87).
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub duplicate_threshold: f64,
    /// Cosine at or above which a Success and a Failure memory are linked `contradicts` (default 0.80).
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub contradiction_threshold: f64,
    /// Consolidation prunes unused memories older than this many days ... (default 180)
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub prune_max_age_days: f64,
    /// ... whose confidence is below this (default 0.3).
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub prune_below_confidence: f64,
    /// From this many searchable memories on, retrieval uses the approximate (IVF) index,
    /// saved as `<store>.ann` beside the store (default 200,000; 0 never uses it).
    #[cfg_attr(test, ts(as = "Option<usize>", optional))]
    pub ann_threshold: usize,
    /// Rows re-scored exactly per approximate query, chosen by their sketch score (default
    /// 1,000; at least `4·k` are used). More: higher recall, slower queries.
    #[cfg_attr(test, ts(as = "Option<usize>", optional))]
    pub ann_candidates: usize,
    /// A PostgreSQL URL (`postgres://user:pass@host:5432/db`, `postgresql://…`, or with
    /// `?host=/socket/dir`): the bank's memories, learnings and links live in that database
    /// (pgvector required) instead of the SQLite store, shared by every process and machine that
    /// opens it. Absent (the default): the embedded SQLite store.
    #[cfg_attr(test, ts(optional))]
    pub url: Option<String>,
    /// The PostgreSQL schema holding the bank's tables (default `public`; created when
    /// missing). Letters, digits and `_`, at most 63 bytes: one schema per tenant or test.
    #[cfg_attr(test, ts(as = "Option<String>", optional))]
    pub pg_schema: String,
    /// Most open connections to PostgreSQL (default 4, 1–64).
    #[cfg_attr(test, ts(as = "Option<usize>", optional))]
    pub pool_size: usize,
    /// PostgreSQL `statement_timeout` of every bank statement, ms (default 30,000; 0 none).
    #[cfg_attr(test, ts(as = "Option<u64>", optional))]
    pub statement_timeout_ms: u64,
    /// How long a call waits for a connection (the database being down or restarting) before
    /// failing with `ERR_STORE_UNAVAILABLE`, ms (default 5,000).
    #[cfg_attr(test, ts(as = "Option<u64>", optional))]
    pub connect_timeout_ms: u64,
    /// PostgreSQL: rows the vector index hands to the exact re-rank per retrieval (with HNSW
    /// also its `hnsw.ef_search`; default 100, at least `4·k`, at most 1,000).
    #[cfg_attr(test, ts(as = "Option<usize>", optional))]
    pub hnsw_candidates: usize,
    /// PostgreSQL, large banks (the IVF index `bank.reindex()` builds): IVF lists scanned per
    /// retrieval (`ivfflat.probes`; default 2, 1..1,000). More finds more of the query's
    /// neighbourhood at about 1,000 rows per list.
    #[cfg_attr(test, ts(as = "Option<usize>", optional))]
    pub ivf_probes: usize,
}

impl Default for BankConfig {
    fn default() -> Self {
        BankConfig {
            max_memories: 10_000,
            evict: EvictMode::Own,
            max_learnings: 5_000,
            evict_to_fraction: 0.95,
            eviction_half_life_days: 45.0,
            record_usage: true,
            log_metrics: true,
            duplicate_threshold: 0.87,
            contradiction_threshold: 0.80,
            prune_max_age_days: 180.0,
            prune_below_confidence: 0.3,
            ann_threshold: 200_000,
            ann_candidates: 1000,
            url: None,
            pg_schema: "public".to_string(),
            pool_size: 4,
            statement_timeout_ms: 30_000,
            connect_timeout_ms: 5_000,
            hnsw_candidates: 100,
            ivf_probes: 2,
        }
    }
}

fn check_unit(name: &str, v: f64, lo: f64) -> Result<()> {
    if !v.is_finite() || v < lo || v > 1.0 {
        return err(
            ErrorCode::InvalidConfig,
            format!("{name} must be a number in [{lo}, 1], got {v}"),
        );
    }
    Ok(())
}

impl BankConfig {
    /// Parses a camelCase JSON object (missing keys take defaults) and validates it.
    pub fn from_json(v: &serde_json::Value) -> Result<BankConfig> {
        let cfg: BankConfig = serde_json::from_value(v.clone()).map_err(|e| {
            Error::new(
                ErrorCode::InvalidConfig,
                format!("invalid memory config: {e}"),
            )
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value; the error names the field and the accepted range.
    pub fn validate(&self) -> Result<()> {
        if let Some(url) = &self.url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return err(
                    ErrorCode::InvalidConfig,
                    "bank.url must be a PostgreSQL URL starting with postgres:// or postgresql://",
                );
            }
        }
        let schema_ok = !self.pg_schema.is_empty()
            && self.pg_schema.len() <= 63
            && self
                .pg_schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !self.pg_schema.as_bytes()[0].is_ascii_digit();
        if !schema_ok {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "pgSchema must be letters, digits and _ (not starting with a digit), at most 63 bytes; got {:?}",
                    self.pg_schema
                ),
            );
        }
        if !(1..=64).contains(&self.pool_size) {
            return err(
                ErrorCode::InvalidConfig,
                format!("poolSize must be between 1 and 64, got {}", self.pool_size),
            );
        }
        if !(1..=600_000).contains(&self.connect_timeout_ms)
            || self.statement_timeout_ms > 3_600_000
        {
            return err(
                ErrorCode::InvalidConfig,
                "connectTimeoutMs must be 1..600000 and statementTimeoutMs 0..3600000",
            );
        }
        if !(1..=1000).contains(&self.hnsw_candidates) {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "hnswCandidates must be between 1 and 1000, got {}",
                    self.hnsw_candidates
                ),
            );
        }
        if !(1..=1000).contains(&self.ivf_probes) {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "ivfProbes must be between 1 and 1000, got {}",
                    self.ivf_probes
                ),
            );
        }
        if self.max_memories == 0 || self.max_learnings == 0 {
            return err(
                ErrorCode::InvalidConfig,
                "maxMemories and maxLearnings must be at least 1",
            );
        }
        if !self.evict_to_fraction.is_finite()
            || self.evict_to_fraction <= 0.0
            || self.evict_to_fraction > 1.0
        {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "evictToFraction must be in (0, 1], got {}",
                    self.evict_to_fraction
                ),
            );
        }
        if !self.eviction_half_life_days.is_finite() || self.eviction_half_life_days <= 0.0 {
            return err(
                ErrorCode::InvalidConfig,
                "evictionHalfLifeDays must be a positive number",
            );
        }
        if self.ann_candidates == 0 || self.ann_candidates > MAX_ANN_CANDIDATES {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "annCandidates must be between 1 and {MAX_ANN_CANDIDATES}, got {}",
                    self.ann_candidates
                ),
            );
        }
        check_unit("duplicateThreshold", self.duplicate_threshold, -1.0)?;
        check_unit("contradictionThreshold", self.contradiction_threshold, -1.0)?;
        check_unit("pruneBelowConfidence", self.prune_below_confidence, 0.0)?;
        if !self.prune_max_age_days.is_finite() || self.prune_max_age_days < 0.0 {
            return err(
                ErrorCode::InvalidConfig,
                "pruneMaxAgeDays must be a number >= 0",
            );
        }
        Ok(())
    }
}

/// Weights of the three score components (agentic-flow's alpha, beta, gamma).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ScoreWeights {
    /// Weight of cosine similarity (default 0.65).
    pub similarity: f64,
    /// Weight of recency `exp(-age_days / half_life)` (default 0.15).
    pub recency: f64,
    /// Weight of reliability `min(confidence, 1)` (default 0.20).
    pub reliability: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            similarity: 0.65,
            recency: 0.15,
            reliability: 0.20,
        }
    }
}

/// Options of [`super::ReasoningBank::retrieve`] (camelCase JSON; defaults are agentic-flow's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RetrieveOptions {
    /// How many memories to return (default 3).
    pub k: usize,
    /// Only memories whose `pattern_data.domain` equals this.
    pub domain: Option<String>,
    /// Only memories whose `source.agent_id` equals this (agentic-flow ignores this filter).
    pub agent: Option<String>,
    /// Only memories with at least this confidence (default 0.3).
    pub min_confidence: f64,
    /// A caller-computed query vector (same dimension as the store's); the built-in embedder
    /// is used when absent.
    pub embedding: Option<Vec<f32>>,
    /// Score weights.
    pub weights: ScoreWeights,
    /// Recency half-life in days (default 45).
    pub half_life_days: f64,
    /// MMR trade-off: each pick maximises `lambda·score − (1−lambda)·max_cos(selected)`.
    /// agentic-flow's default is 0.1 (strongly diversity-seeking); 1.0 gives plain top-k.
    pub mmr_lambda: f64,
    /// Search every row exactly even when the store is past `annThreshold` (default false).
    /// The approximate path returns exact scores for its candidate rows and runs MMR among
    /// them; queries filtered by domain or agent always scan the allowed rows exactly.
    pub exact: bool,
    /// When `k` covers every candidate, return them in agentic-flow's candidate order
    /// (confidence, then usage count, descending; ties by row) instead of by score: agentic-flow's
    /// `mmrSelection` returns its input unsorted in that case. Off by default.
    pub fetch_order_when_all: bool,
}

impl Default for RetrieveOptions {
    fn default() -> Self {
        RetrieveOptions {
            k: 3,
            domain: None,
            agent: None,
            min_confidence: 0.3,
            embedding: None,
            weights: ScoreWeights::default(),
            half_life_days: 45.0,
            mmr_lambda: 0.1,
            exact: false,
            fetch_order_when_all: false,
        }
    }
}

/// The largest `annCandidates` accepted.
pub const MAX_ANN_CANDIDATES: usize = 1_000_000;

/// The largest `k` accepted by retrieval.
pub const MAX_K: usize = 1000;

impl RetrieveOptions {
    /// Checks every value; the error names the field.
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 || self.k > MAX_K {
            return err(
                ErrorCode::InvalidInput,
                format!("k must be between 1 and {MAX_K}, got {}", self.k),
            );
        }
        if !self.min_confidence.is_finite() {
            return err(
                ErrorCode::InvalidInput,
                "minConfidence must be a finite number",
            );
        }
        let w = self.weights;
        for (name, v) in [
            ("weights.similarity", w.similarity),
            ("weights.recency", w.recency),
            ("weights.reliability", w.reliability),
        ] {
            if !v.is_finite() || v < 0.0 {
                return err(
                    ErrorCode::InvalidInput,
                    format!("{name} must be a finite number >= 0, got {v}"),
                );
            }
        }
        if !self.half_life_days.is_finite() || self.half_life_days <= 0.0 {
            return err(
                ErrorCode::InvalidInput,
                "halfLifeDays must be a positive number",
            );
        }
        if !self.mmr_lambda.is_finite() || !(0.0..=1.0).contains(&self.mmr_lambda) {
            return err(
                ErrorCode::InvalidInput,
                format!("mmrLambda must be in [0, 1], got {}", self.mmr_lambda),
            );
        }
        if let Some(domain) = &self.domain {
            if domain.is_empty() {
                return err(
                    ErrorCode::InvalidInput,
                    "domain is empty; omit it to search every domain",
                );
            }
        }
        Ok(())
    }
}

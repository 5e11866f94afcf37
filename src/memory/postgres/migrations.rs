//! The PostgreSQL bank's schema, created and upgraded by numbered migrations.
//!
//! Each opener takes a transaction-scoped advisory lock named after the schema, reads which
//! migrations `la_schema_migrations` records, applies the missing ones in order and records
//! them, all in one transaction: two processes opening the same database at once serialise on
//! the lock and the second finds nothing left to do. A database migrated by a newer package
//! (a version this one does not know) is refused rather than written with an older layout.

use postgres::Client;

use crate::error::{err, ErrorCode, Result};

/// `(version, what it does, SQL)`, in order. Never edit a released entry: add one.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "memories with pgvector embeddings and full-text vectors, learnings, links, bank metadata",
        "CREATE TABLE la_memories (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        pattern_data text NOT NULL,
        title text NOT NULL,
        description text NOT NULL,
        content text NOT NULL,
        domain text,
        agent text,
        outcome text NOT NULL,
        confidence double precision NOT NULL,
        usage_count bigint NOT NULL DEFAULT 0,
        created_at text NOT NULL,
        created_ms bigint NOT NULL,
        last_used text,
        model text,
        dims integer,
        embedding public.vector,
        embedding_created_at text,
        tsv tsvector GENERATED ALWAYS AS
            (to_tsvector('simple', title || ' ' || description || ' ' || content)) STORED
     );
     CREATE UNIQUE INDEX la_memories_seq ON la_memories (seq);
     CREATE INDEX la_memories_domain ON la_memories (domain) WHERE domain IS NOT NULL;
     CREATE INDEX la_memories_agent ON la_memories (agent) WHERE agent IS NOT NULL;
     CREATE INDEX la_memories_tsv ON la_memories USING gin (tsv);
     CREATE TABLE la_learnings (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        pattern text NOT NULL,
        outcome text NOT NULL,
        reward double precision NOT NULL,
        context text,
        session text,
        action text,
        created_at_ms bigint NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', pattern)) STORED
     );
     CREATE UNIQUE INDEX la_learnings_seq ON la_learnings (seq);
     CREATE INDEX la_learnings_tsv ON la_learnings USING gin (tsv);
     CREATE TABLE la_links (
        src text NOT NULL REFERENCES la_memories (id) ON DELETE CASCADE,
        dst text NOT NULL REFERENCES la_memories (id) ON DELETE CASCADE,
        relation text NOT NULL,
        weight double precision NOT NULL,
        created_at text NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (src, dst, relation)
     );
     CREATE TABLE la_bank_meta (key text PRIMARY KEY, value text NOT NULL);",
    ),
    (
        2,
        "indexes of the retrieval's recency and confidence candidate lists",
        "CREATE INDEX la_memories_created ON la_memories (created_ms DESC);
     CREATE INDEX la_memories_confidence ON la_memories (confidence DESC);",
    ),
    (
        3,
        "index of the retrieval's prior list (default weights and half-life, keyed to a reference time)",
        "INSERT INTO la_bank_meta (key, value) VALUES ('prior_ref_ms', '{PRIOR_REF_MS}');
     CREATE INDEX la_memories_prior ON la_memories ({PRIOR} DESC);",
    ),
    (
        4,
        "the step journal of engines whose bank is here",
        "CREATE TABLE la_steps (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        session text NOT NULL,
        action text NOT NULL,
        success boolean NOT NULL,
        reward double precision NOT NULL,
        propensity double precision NOT NULL,
        decision text NOT NULL,
        latency_us bigint NOT NULL,
        created_at bigint NOT NULL,
        would_deny boolean NOT NULL DEFAULT false,
        policies text NOT NULL DEFAULT '[]',
        nums text NOT NULL DEFAULT '{}',
        features bytea,
        choice text
     );
     CREATE INDEX la_steps_session ON la_steps (session, created_at, seq);
     CREATE INDEX la_steps_created ON la_steps (created_at, seq);",
    ),
    (
        5,
        "the retrieval score as a vector (la_blend_key), for the IVF index of large banks",
        "INSERT INTO la_bank_meta (key, value) VALUES ('blend_ref_ms', '{BLEND_REF_MS}');
     CREATE FUNCTION la_blend_key(e public.vector, created_ms bigint, confidence double precision)
        RETURNS public.vector IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
        AS $$ SELECT {BLEND_KEY} $$;",
    ),
];

/// ε of the blended key: the recency and confidence coordinates are scaled down by it so the
/// IVF index's lists (k-means over the keys) are clusters of the unit embeddings — the two
/// coordinates move a key by at most 1.5ε — while the query scales them back up by 1/ε.
pub const BLEND_EPSILON: f64 = 1e-3;

/// The half-life the blended key's recency coordinate decays with (agentic-flow's default).
pub const BLEND_HALF_LIFE_DAYS: f64 = 45.0;

/// How far after the migration the blended key's reference time lies. Rows created before it
/// get a recency coordinate of at most ε; the query's factor `exp((ref − now)/45 d)/ε` stays
/// within f32 for ten years on either side. See [`blend_recency`].
pub const BLEND_HORIZON_MS: i64 = 5 * 365 * crate::memory::clock::MS_PER_DAY;

/// `la_blend_key(e, created_ms, confidence)`: the unit embedding, then
/// `ε·exp(clamp((created − ref)/45 d, −80, 8))` and `ε·min(confidence, 1)` (every name
/// schema-qualified: index maintenance runs with a safe `search_path`).
const BLEND_KEY: &str = "public.l2_normalize(e) OPERATOR(public.||) ARRAY[
            (0.001 * exp(least(greatest((created_ms - {BLEND_REF_MS})::float8 / 3888000000.0, -80.0), 8.0)))::real,
            (0.001 * least(confidence, 1.0))::real]::public.vector";

/// The IVF index over the blended key of embeddings of `dims` dimensions, with `lists` lists,
/// under `name`.
pub fn ivf_index_sql(name: &str, dims: usize, lists: usize) -> String {
    format!(
        "CREATE INDEX {name} ON la_memories USING ivfflat ((la_blend_key(embedding::public.vector({dims}), created_ms, confidence)::public.vector({d2})) public.vector_ip_ops) WITH (lists = {lists})",
        d2 = dims + 2
    )
}

/// The expression the blended index orders by, for a query vector in parameter `$p`.
pub fn blend_order_sql(dims: usize, p: usize) -> String {
    format!(
        "la_blend_key(embedding::public.vector({dims}), created_ms, confidence)::public.vector({d2}) OPERATOR(public.<#>) (${p}::public.vector)::public.vector({d2})",
        d2 = dims + 2
    )
}

/// The recency part of the blended key at `now`, `exp(clamp((created − ref)/h, −80, 8))·
/// exp((ref − now)/h)` with h = 45 days: `exp(−age/h)` with the age in fractional days (the
/// score takes whole days, so its recency is at most `exp(1/45)` times this), exactly what the
/// index ranks by. Also the query's recency coordinate over ε when `created` is omitted.
pub fn blend_recency(created_ms: i64, ref_ms: i64, now_ms: i64) -> f64 {
    let h = BLEND_HALF_LIFE_DAYS * crate::memory::clock::MS_PER_DAY as f64;
    let at_ref = ((created_ms - ref_ms) as f64 / h).clamp(-80.0, 8.0).exp();
    at_ref * ((ref_ms - now_ms) as f64 / h).exp()
}

/// The retrieval prior with agentic-flow's default weights and half-life (0.15 recency, 0.20
/// confidence, 45 days), with recency taken at `ref_ms` instead of now:
/// `0.15·exp((created − ref)/45 d) + 0.20·min(confidence, 1)`. An index can hold it (no `now()`),
/// and since recency decays at the same rate for every row, the true prior at any later time is
/// at most this value (times `exp(1/45)` for whole-day ages): see `read.rs`. The exponent is
/// clamped to ±700 so no timestamp, however far off, makes the index fail a write.
pub fn prior_sql(ref_ms: i64) -> String {
    format!(
        "(0.15 * exp(least(greatest((created_ms - {ref_ms})::float8 / 3888000000.0, -700.0), 700.0)) + 0.2 * least(confidence, 1.0))"
    )
}

/// [`prior_sql`] computed natively for one row (the value the prior index holds for it).
pub fn prior_at(created_ms: i64, confidence: f64, ref_ms: i64) -> f64 {
    let exponent = ((created_ms - ref_ms) as f64 / 3_888_000_000.0).clamp(-700.0, 700.0);
    0.15 * exponent.exp() + 0.2 * confidence.min(1.0)
}

/// Whether the bank has the IVF index over the score (`la_memories_ivf`).
pub fn ivf_exists(c: &mut impl postgres::GenericClient) -> Result<bool> {
    Ok(
        c.query_one("SELECT to_regclass('la_memories_ivf') IS NOT NULL", &[])?
            .get(0),
    )
}

/// The newest schema version this package writes.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Creates the schema (and the `vector` extension) if needed and applies missing migrations.
pub fn run(client: &mut Client, schema: &str) -> Result<i32> {
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1)::bigint)",
        &[&format!("lean-agentic-native/migrate/{schema}")],
    )?;
    let has_vector: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')",
            &[],
        )?
        .get(0);
    if !has_vector {
        if let Err(e) = tx.batch_execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public") {
            return err(
                ErrorCode::Store,
                format!("the pgvector extension is not installed in this database and could not be created ({e}); a superuser must run `CREATE EXTENSION vector` once"),
            );
        }
    }
    // `schema` is checked by BankConfig::validate: letters, digits and _ only.
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         SET LOCAL search_path = {schema}, public;
         CREATE TABLE IF NOT EXISTS la_schema_migrations (
            version integer PRIMARY KEY,
            description text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))?;
    let applied: Vec<i32> = tx
        .query(
            "SELECT version FROM la_schema_migrations ORDER BY version",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(&newest) = applied.last() {
        if newest > latest() {
            return err(
                ErrorCode::Store,
                format!("the bank's PostgreSQL schema is at version {newest}, newer than this package knows ({}); upgrade lean-agentic-native", latest()),
            );
        }
    }
    for (version, description, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let now = crate::memory::clock::now_ms();
        let blend_ref = now + BLEND_HORIZON_MS;
        let sql = sql
            .replace("{BLEND_KEY}", BLEND_KEY)
            .replace("{BLEND_REF_MS}", &blend_ref.to_string())
            .replace("{PRIOR_REF_MS}", &now.to_string())
            .replace("{PRIOR}", &prior_sql(now));
        tx.batch_execute(&sql)?;
        tx.execute(
            "INSERT INTO la_schema_migrations (version, description) VALUES ($1, $2)",
            &[version, description],
        )?;
    }
    tx.commit()?;
    Ok(latest())
}

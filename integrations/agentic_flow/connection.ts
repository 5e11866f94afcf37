/**
 * Syncing the bank with agentic-flow's `memory.db` through agentic-flow's OWN open
 * better-sqlite3 connection.
 *
 * Why: the engine links its own copy of SQLite. When agentic-flow has the same database open
 * in the same process, the engine's connection cannot see agentic-flow's POSIX locks (they are
 * per process), so on close it believes it is the last user, checkpoints and deletes the
 * `-wal`/`-shm` files under agentic-flow's open connection: agentic-flow's later writes go to
 * an unlinked WAL, invisible to every other reader until it closes (SQLite's "multiple copies
 * of SQLite in one process" hazard; agentic-flow's next read then failed with SQLITE_CORRUPT).
 * The engine therefore refuses such a file with `ERR_STORE_IN_USE` (`src/memory/file_claims.rs`),
 * and this module is the safe way its message names: going through agentic-flow's connection
 * keeps a second SQLite copy off the file. Rows are upserted (`ON CONFLICT DO UPDATE`, never
 * `INSERT OR REPLACE`, which would cascade-delete embeddings).
 */

import { LeanAgenticError } from '../errors';
import type { ImportReport } from '../bank';
import type { LeanAgenticSystem } from '../system';

/** The part of a better-sqlite3 `Database` used here. */
export interface SqliteConnection {
  readonly name?: string;
  prepare(sql: string): { run(...params: unknown[]): unknown; all(...params: unknown[]): any[]; get(...params: unknown[]): any };
  transaction<F extends (...args: any[]) => any>(fn: F): F;
}

interface DocMemory {
  id: string;
  type: string;
  patternData: unknown;
  confidence: number;
  usageCount: number;
  createdAt: string;
  lastUsed: string | null;
  embedding: { model: string; dims: number; vector: number[]; createdAt?: string } | null;
}

interface DocLink {
  src: string;
  dst: string;
  relation: string;
  weight: number;
  createdAt: string;
}

function checkSchema(db: SqliteConnection): void {
  const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name as string));
  for (const t of ['patterns', 'pattern_embeddings', 'pattern_links']) {
    if (!tables.has(t)) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `the agentic-flow database has no \`${t}\` table; run agentic-flow's db.runMigrations() first`);
    }
  }
}

/** Copies the bank's memories, embeddings and links into agentic-flow's database. */
export function exportThroughConnection(sys: LeanAgenticSystem, db: SqliteConnection): { path: string; memories: number; embeddings: number; links: number } {
  checkSchema(db);
  const doc = sys.bank.exportJson();
  const memories = (doc.memories ?? []) as DocMemory[];
  const links = (doc.links ?? []) as DocLink[];
  const putPattern = db.prepare(
    `INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET type = excluded.type, pattern_data = excluded.pattern_data, confidence = excluded.confidence,
       usage_count = excluded.usage_count, created_at = excluded.created_at, last_used = excluded.last_used`,
  );
  const putEmbedding = db.prepare(
    `INSERT INTO pattern_embeddings (id, model, dims, vector, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET model = excluded.model, dims = excluded.dims, vector = excluded.vector, created_at = excluded.created_at`,
  );
  const has = db.prepare('SELECT count(*) AS n FROM patterns WHERE id IN (?, ?)');
  const putLink = db.prepare(
    `INSERT INTO pattern_links (src_id, dst_id, relation, weight, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(src_id, dst_id, relation) DO UPDATE SET weight = excluded.weight, created_at = excluded.created_at`,
  );
  const out = { path: db.name ?? '', memories: 0, embeddings: 0, links: 0 };
  db.transaction(() => {
    for (const m of memories) {
      const data = typeof m.patternData === 'string' ? m.patternData : JSON.stringify(m.patternData);
      putPattern.run(m.id, m.type, data, m.confidence, m.usageCount, m.createdAt, m.lastUsed ?? null);
      out.memories += 1;
      if (m.embedding && Array.isArray(m.embedding.vector)) {
        const v = Float32Array.from(m.embedding.vector);
        putEmbedding.run(m.id, m.embedding.model, m.embedding.dims ?? v.length, Buffer.from(v.buffer, v.byteOffset, v.byteLength), m.embedding.createdAt ?? m.createdAt);
        out.embeddings += 1;
      }
    }
    for (const l of links) {
      if (linkEndsMissing(has, l)) continue;
      putLink.run(l.src, l.dst, l.relation, l.weight, l.createdAt);
      out.links += 1;
    }
  })();
  return out;
}

function linkEndsMissing(has: { get(...p: unknown[]): any }, l: DocLink): boolean {
  const n = Number(has.get(l.src, l.dst)?.n ?? 0);
  return n < (l.src === l.dst ? 1 : 2);
}

/** Copies agentic-flow's reasoning memories (with embeddings and links) into the bank. */
export function importThroughConnection(sys: LeanAgenticSystem, db: SqliteConnection): ImportReport {
  checkSchema(db);
  const rows = db
    .prepare(
      `SELECT p.id, p.type, p.pattern_data, p.confidence, p.usage_count, p.created_at, p.last_used,
              e.model AS e_model, e.dims AS e_dims, e.vector AS e_vector, e.created_at AS e_created_at
       FROM patterns p LEFT JOIN pattern_embeddings e ON e.id = p.id
       WHERE p.type = 'reasoning_memory' ORDER BY p.rowid`,
    )
    .all();
  let skipped = 0;
  const memories: DocMemory[] = [];
  for (const r of rows) {
    let patternData: unknown;
    try {
      patternData = JSON.parse(String(r.pattern_data));
    } catch {
      skipped += 1;
      continue;
    }
    let embedding: DocMemory['embedding'] = null;
    const blob = r.e_vector as Uint8Array | null;
    if (r.e_model != null && blob && blob.byteLength > 0 && blob.byteLength % 4 === 0) {
      const copy = new Uint8Array(blob); // aligned copy
      const v = new Float32Array(copy.buffer, 0, copy.byteLength / 4);
      if (v.every(Number.isFinite)) embedding = { model: String(r.e_model), dims: Number(r.e_dims ?? v.length), vector: Array.from(v), createdAt: r.e_created_at ?? r.created_at };
    }
    memories.push({
      id: String(r.id),
      type: String(r.type),
      patternData,
      confidence: Number(r.confidence),
      usageCount: Number(r.usage_count),
      createdAt: String(r.created_at),
      lastUsed: r.last_used ?? null,
      embedding,
    });
  }
  const links: DocLink[] = db
    .prepare(
      `SELECT l.src_id, l.dst_id, l.relation, l.weight, l.created_at FROM pattern_links l
       JOIN patterns a ON a.id = l.src_id AND a.type = 'reasoning_memory'
       JOIN patterns b ON b.id = l.dst_id AND b.type = 'reasoning_memory' ORDER BY l.rowid`,
    )
    .all()
    .map((l) => ({ src: l.src_id, dst: l.dst_id, relation: l.relation, weight: Number(l.weight), createdAt: l.created_at }));
  const report = sys.bank.importJson({ format: 'lean-agentic-memory', version: 1, memories, learnings: [], links });
  return { ...report, skipped: report.skipped + skipped };
}

/**
 * Reaching agentic-flow itself — a peer dependency, loaded only on request (importing the
 * bridge never loads it): its `memory.db` path and its ReasoningBank module.
 */

import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LeanAgenticError } from '../errors';
import type { SqliteConnection } from './connection';

/** agentic-flow's memory database: `explicit`, else `CLAUDE_FLOW_DB_PATH`, else `<cwd>/.swarm/memory.db`. */
export function agenticFlowDbPath(explicit?: string): string {
  if (explicit !== undefined && explicit.trim() !== '') return explicit;
  const env = process.env.CLAUDE_FLOW_DB_PATH;
  if (env !== undefined && env.trim() !== '') return env;
  return path.join(process.cwd(), '.swarm', 'memory.db');
}

/** agentic-flow's `db` module once {@link openAgenticFlowMemory} loaded it in this process. */
let loaded: AgenticFlowMemory['db'] | null = null;

/**
 * agentic-flow's own open connection to `dbPath`, when {@link openAgenticFlowMemory} loaded
 * agentic-flow in this process and its database is that file; else null.
 */
export function inProcessConnection(dbPath: string): SqliteConnection | null {
  if (!loaded) return null;
  try {
    const conn = loaded.getDb() as SqliteConnection;
    if (conn && typeof conn.name === 'string' && path.resolve(conn.name) === path.resolve(dbPath)) return conn;
  } catch {
    /* its database does not exist yet */
  }
  return null;
}

/** What {@link openAgenticFlowMemory} returns (agentic-flow's own functions, untyped). */
export interface AgenticFlowMemory {
  /** agentic-flow's `db` module (`runMigrations`, `getDb`, `fetchMemoryCandidates`, `closeDb`, …). */
  db: Record<string, (...args: any[]) => any>;
  /** agentic-flow's `retrieveMemories(query, { k, domain, agent })`. */
  retrieveMemories: (query: string, options?: { k?: number; domain?: string; agent?: string }) => Promise<any[]>;
  /** agentic-flow's `computeEmbedding(text)` (pass it as the bridge's `embed` option). */
  computeEmbedding: (text: string) => Promise<Float32Array>;
  /** The whole `agentic-flow/reasoningbank` module. */
  module: Record<string, unknown>;
}

/**
 * Loads `agentic-flow/reasoningbank` (slow: ~0.7 s, and it logs to stdout) and runs its
 * migrations. Set `CLAUDE_FLOW_DB_PATH` before the first call to choose its database, and
 * `SKIP_AGENTDB_PATCH=1` to stop it patching files under `node_modules/agentdb`.
 */
export async function openAgenticFlowMemory(options: { migrate?: boolean } = {}): Promise<AgenticFlowMemory> {
  let mod: Record<string, unknown>;
  try {
    // Resolve from this package (where the peer dependency is installed), then import by URL.
    let specifier = 'agentic-flow/reasoningbank';
    try {
      specifier = pathToFileURL(require.resolve(specifier)).href;
    } catch {
      /* let import() resolve the bare specifier */
    }
    // A real dynamic import() (tsconfig `module: node16` keeps it): agentic-flow is ESM-only.
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (e) {
    throw new LeanAgenticError(
      'ERR_NOT_FOUND',
      `could not load agentic-flow/reasoningbank (install the peer dependency: npm install agentic-flow): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const db = mod.db as AgenticFlowMemory['db'];
  if (options.migrate !== false) await db.runMigrations();
  loaded = db;
  return {
    db,
    retrieveMemories: mod.retrieveMemories as AgenticFlowMemory['retrieveMemories'],
    computeEmbedding: mod.computeEmbedding as AgenticFlowMemory['computeEmbedding'],
    module: mod,
  };
}

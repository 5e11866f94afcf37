/**
 * Moving a reasoning bank between stores: the embedded SQLite store (or an agentic-flow
 * `memory.db`) and a PostgreSQL database, either way. `lean-agentic migrate --from … --to …` and
 * {@link migrateBank} drive the native transfer (`src/memory/transfer.rs`) batch by batch:
 * rows copied as they are (ids, timestamps, usage counts, embeddings bit for bit, links,
 * learnings) with upserts, so running it again changes nothing and an interrupted run can be
 * repeated.
 */

import { call } from './errors';
import { native } from './native';

/** One end of a migration: a SQLite file path, or a PostgreSQL URL (with an optional schema). */
export type BankEndpoint = string | { path: string } | { url: string; pgSchema?: string };

/** How far a migration is (generated from the Rust `TransferProgress`). */
export type { TransferProgress as MigrationProgress } from './generated/TransferProgress';
import type { TransferProgress as MigrationProgress } from './generated/TransferProgress';

/** Options of {@link migrateBank}. */
export interface MigrateOptions {
  from: BankEndpoint;
  to: BankEndpoint;
  /** Memories per transaction (default 1,000). */
  batchSize?: number;
  /** Called after each batch. */
  onProgress?: (p: MigrationProgress) => void;
}

/** `postgres://…` / `postgresql://…` is a URL; anything else a SQLite path. */
export function endpointSpec(e: BankEndpoint): { path: string } | { url: string; pgSchema?: string } {
  if (typeof e !== 'string') return e;
  return /^postgres(ql)?:\/\//.test(e) ? { url: e } : { path: e };
}

/** Copies every memory, learning and link of `from` into `to`; returns the final progress. */
export function migrateBank(options: MigrateOptions): MigrationProgress {
  const batch = options.batchSize ?? 1000;
  const transfer = call(() => new native.NativeBankTransfer(JSON.stringify(endpointSpec(options.from)), JSON.stringify(endpointSpec(options.to))));
  for (;;) {
    const p = JSON.parse(call(() => transfer.step(batch))) as MigrationProgress;
    options.onProgress?.(p);
    if (p.done) return p;
  }
}

/** A one-line progress bar for a terminal: `[#####-----] 50% 5,000/10,000 memories 3,100/s`. */
export function progressLine(p: MigrationProgress, elapsedMs: number, width = 30): string {
  const share = p.total === 0 ? 1 : Math.min(1, p.memories / p.total);
  const filled = Math.round(share * width);
  const rate = elapsedMs > 0 ? Math.round((p.memories * 1000) / elapsedMs) : 0;
  const n = (x: number) => x.toLocaleString('en-US');
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}% ${n(p.memories)}/${n(p.total)} memories ${n(rate)}/s`;
}

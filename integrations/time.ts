/**
 * Times given to the API, read as the engine stores them: in UTC.
 *
 * The engine stores times as SQLite text `YYYY-MM-DD HH:MM:SS` in UTC (`createdAt`), the way
 * agentic-flow's `.swarm/memory.db` does. `Date.parse` reads such text — and any ISO date-time
 * without a zone — as *local* time, so handing a memory's own `createdAt` back to
 * `bridge.getMemories` or `bank.query({ since })` would be off by the machine's UTC offset.
 * Here text without a zone designator is UTC; text with one (`Z`, `+09:00`) keeps it.
 */
import { LeanAgenticError } from './errors';

/** `YYYY-MM-DD HH:MM[:SS[.fff]]` or the same with `T`, and no zone designator. */
const ZONELESS = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

/** Milliseconds since the epoch of a time string; zone-less text is UTC. `NaN` when unreadable. */
export function parseUtc(text: string): number {
  const m = ZONELESS.exec(text.trim());
  return m ? Date.parse(`${m[1]}T${m[2]}Z`) : Date.parse(text);
}

/** Milliseconds since the epoch from a Date, a number or a time string (zone-less text is UTC). */
export function toMs(t: number | Date | string): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? parseUtc(t) : t;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    const shown = typeof t === 'string' ? JSON.stringify(t) : typeof t === 'number' ? String(t) : typeof t;
    throw new LeanAgenticError(
      'ERR_INVALID_INPUT',
      `not a valid time: ${shown} (give a Date, milliseconds since the epoch or an ISO 8601 string; text without a zone is read as UTC)`,
    );
  }
  return ms;
}

/**
 * JSON helpers of the agentic-flow bridge: canonical JSON (for comparing votes) and short,
 * never-throwing JSON (for the text of memories and learnings).
 */

/** JSON with object keys sorted at every level, so equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  const seen = new WeakSet<object>();
  const norm = (v: unknown): unknown => {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return null;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Date) return v.toISOString();
    if (seen.has(v)) return '[Circular]';
    seen.add(v);
    let out: unknown;
    if (Array.isArray(v)) out = v.map(norm);
    else {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        o[k] = norm(x);
      }
      out = o;
    }
    seen.delete(v);
    return out;
  };
  return JSON.stringify(norm(value)) ?? 'null';
}

/** Canonical JSON cut to `max` characters (with an ellipsis), for human-readable text. */
export function shortJson(value: unknown, max = 300): string {
  let s: string;
  try {
    s = canonicalJson(value);
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A JSON-safe copy of `value` (cycles, functions and non-finite numbers removed). */
export function jsonSafe(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(canonicalJson(value));
  } catch {
    return String(value);
  }
}

/** The message of anything thrown. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

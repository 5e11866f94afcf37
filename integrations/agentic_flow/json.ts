/**
 * JSON helpers of the agentic-flow bridge: canonical JSON (for comparing votes: strict, equal
 * text exactly for equal values) and lenient, never-throwing JSON (for the text of memories and
 * learnings, and the inputs the bridge records).
 */

import { LeanAgenticError } from '../errors';
import { toJsonText } from '../json_input';

/**
 * Canonical JSON: object keys sorted at every level, so two values give the same text exactly
 * when they are equal JSON values (swarm votes are compared by it). What JSON cannot carry —
 * `NaN`, infinities, BigInt, `undefined`, functions, symbols, cycles — is a coded
 * `ERR_INVALID_INPUT` naming where it was found, never mapped onto a string or `null` that an
 * ordinary value could equal. Typed arrays are arrays of their numbers; `toJSON` (a `Date`)
 * is applied, as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined) throw new LeanAgenticError('ERR_INVALID_INPUT', 'undefined is not a JSON value');
  return JSON.stringify(sortKeys(JSON.parse(toJsonText(value, 'the value'))));
}

/** A parsed JSON value with every object's keys inserted in sorted order. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) o[k] = sortKeys((v as Record<string, unknown>)[k]);
  return o;
}

/**
 * JSON for people and for the bank's text, never throwing: keys sorted, what JSON cannot carry
 * written as text (`NaN` as "NaN", BigInt as its digits, a cycle as "[Circular]", functions as
 * null). Two different values may read the same here — never compare with it.
 */
function lenientJson(value: unknown): string {
  const seen = new WeakSet<object>();
  const norm = (v: unknown): unknown => {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return null;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.toISOString() : String(v);
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<unknown>, norm);
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

/** Lenient sorted JSON cut to `max` characters (with an ellipsis), for human-readable text. */
export function shortJson(value: unknown, max = 300): string {
  let s: string;
  try {
    s = lenientJson(value);
  } catch {
    // A getter or toJSON of the caller's that throws.
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A JSON-safe copy of `value` (what JSON cannot carry written as text, see {@link lenientJson}). */
export function jsonSafe(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(lenientJson(value));
  } catch {
    return String(value);
  }
}

/** The message of anything thrown. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

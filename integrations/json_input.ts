/**
 * JSON text of values callers hand to the engine (action parameters, contexts, handler
 * results), refusing what JSON cannot carry instead of letting `JSON.stringify` throw an
 * uncoded `TypeError` (BigInt, cycles) or silently turn it into something else (`NaN` and
 * `Infinity` into `null`, functions into nothing).
 *
 * A parameter that silently changed value could pass a policy it should fail (`NaN` becoming
 * `null`), so every value that is not plain JSON is a coded `ERR_INVALID_INPUT` that names
 * where it was found. Nesting is bounded ({@link MAX_JSON_DEPTH}) so that no input can
 * exhaust a stack on either side of the boundary.
 *
 * Typed arrays (`Float32Array` from an embedding model, `Float64Array`, the integer arrays) are
 * sequences of numbers and travel as JSON arrays — `JSON.stringify` alone would turn them into
 * objects keyed "0", "1", … . Their elements are checked like any number (`NaN` is refused);
 * a `BigInt64Array` holds BigInts and is refused like one, a `DataView` is not a sequence.
 */

import { LeanAgenticError } from './errors';

/** Deepest nesting of objects and arrays accepted in a value handed to the engine. */
export const MAX_JSON_DEPTH = 64;

/**
 * The JSON text of `value`, or a coded `ERR_INVALID_INPUT` naming `what` and the path of the
 * first value JSON cannot carry (BigInt, non-finite number, function, symbol, a cycle) or of
 * nesting deeper than {@link MAX_JSON_DEPTH}. `undefined` object members are left out, as
 * `JSON.stringify` does; objects with `toJSON` (e.g. `Date`) are serialised through it. `code`
 * is the error code to use (`ERR_INVALID_CONFIG` for a configuration).
 */
export function toJsonText(value: unknown, what: string, code: 'ERR_INVALID_INPUT' | 'ERR_INVALID_CONFIG' = 'ERR_INVALID_INPUT'): string {
  try {
    const found = { typedArray: false };
    checkJson(value, what, '', 0, new Set(), found);
    // The replacer costs a function call per value: only when a typed array is there to convert.
    return found.typedArray ? JSON.stringify(value, typedArraysAsArrays) : JSON.stringify(value);
  } catch (e) {
    if (e instanceof LeanAgenticError) throw code === e.code ? e : new LeanAgenticError(code, e.message);
    // A getter, proxy or toJSON of the caller's that throws.
    throw new LeanAgenticError(code, `${what} could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function fail(what: string, path: string, problem: string): never {
  const where = path === '' ? what : `${what} at ${path}`;
  throw new LeanAgenticError('ERR_INVALID_INPUT', `${where} ${problem}; pass plain JSON values (strings, finite numbers, booleans, null, arrays, objects)`);
}

/** A `JSON.stringify` replacer that writes typed arrays as arrays. */
function typedArraysAsArrays(_key: string, value: unknown): unknown {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) ? Array.from(value as unknown as ArrayLike<number>) : value;
}

function checkJson(value: unknown, what: string, path: string, depth: number, seen: Set<object>, found: { typedArray: boolean }): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(what, path, `is ${String(value)}, which JSON cannot carry`);
      return;
    case 'bigint':
      fail(what, path, `is a BigInt (${String(value)}n), which JSON cannot carry (send a number or a string)`);
    // eslint-disable-next-line no-fallthrough
    case 'function':
    case 'symbol':
      fail(what, path, `is a ${typeof value}`);
    // eslint-disable-next-line no-fallthrough
    default:
      break;
  }
  if (value === null) return;
  const obj = value as { toJSON?: () => unknown };
  if (typeof obj.toJSON === 'function') {
    checkJson(obj.toJSON(), what, path, depth, seen, found);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) fail(what, path, 'is a DataView, not a sequence of numbers (pass an array or a typed array)');
    found.typedArray = true;
    const items = value as unknown as ArrayLike<unknown>;
    for (let i = 0; i < items.length; i++) checkJson(items[i], what, `${path}[${i}]`, depth + 1, seen, found);
    return;
  }
  if (depth >= MAX_JSON_DEPTH) fail(what, path, `is nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (seen.has(value as object)) fail(what, path, 'refers back to itself (a cycle)');
  seen.add(value as object);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJson(value[i], what, `${path}[${i}]`, depth + 1, seen, found);
  } else {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      checkJson(v, what, path === '' ? k : `${path}.${k}`, depth + 1, seen, found);
    }
  }
  seen.delete(value as object);
}

/** `value` if it is a string, else a coded `ERR_INVALID_INPUT` naming `what`. */
export function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} must be a string, got ${describe(value)}`);
  }
  return value;
}

/**
 * The options object a method was given (`undefined` and `null` are no options), with its
 * fields copied out — so a getter or proxy of the caller's that throws is a coded
 * `ERR_INVALID_INPUT` here, not a stray error later.
 */
export function optionsObject<T extends object>(value: unknown, what: string): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} must be an object, got ${describe(value)}`);
  }
  try {
    return { ...(value as T) };
  } catch (e) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${what} could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * An integer option: `dflt` when absent, else `v` if it is an integer ≥ `min` (1 by default),
 * else a coded `ERR_INVALID_INPUT` naming the option.
 */
export function integerOption(name: string, v: unknown, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${name} must be an integer >= ${min}, got ${typeof v === 'number' ? String(v) : describe(v)}`);
  }
  return v;
}

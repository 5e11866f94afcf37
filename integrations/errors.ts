/**
 * Errors: every failure surfaces as an `Error` with a stable `code` (e.g. `ERR_INVALID_CONFIG`).
 * The native layer sends its code as a message prefix; {@link toError} splits it back out.
 */

import type { EngineErrorCode } from './generated/ErrorCodes';

/**
 * Stable error codes of the public API: the engine's (generated from `src/error.rs`), plus the
 * streaming transports' and the server's own.
 */
export type ErrorCode = EngineErrorCode | 'ERR_STREAM_NETWORK' | 'ERR_STREAM_HTTP' | 'ERR_STREAM_PARSE' | 'ERR_TIMEOUT';

/** An `Error` with a stable `code`. */
export class LeanAgenticError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'LeanAgenticError';
    this.code = code;
  }
}

const PREFIX = /^(ERR_[A-Z_]+): ([\s\S]*)$/;

/** Codes napi-rs gives an argument it cannot convert (a wrong type from the caller). */
const NAPI_ARGUMENT_CODES = new Set(['InvalidArg', 'StringExpected', 'NumberExpected', 'BooleanExpected', 'ObjectExpected', 'ArrayExpected', 'BigintExpected', 'FunctionExpected']);

/**
 * Turns anything thrown by the native layer into a {@link LeanAgenticError}. An argument of the
 * wrong type (napi-rs's conversion errors), and what reading or serialising a caller's value
 * threw (a `TypeError` from a cycle or a BigInt, a `RangeError` from depth, a throwing getter or
 * proxy), is the caller's input: `ERR_INVALID_INPUT`. Only what is left is `ERR_INTERNAL`.
 */
export function toError(e: unknown): LeanAgenticError {
  if (e instanceof LeanAgenticError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = PREFIX.exec(message);
  if (m) return new LeanAgenticError(m[1] as ErrorCode, m[2]);
  const code = (e as { code?: unknown } | null)?.code;
  if ((typeof code === 'string' && NAPI_ARGUMENT_CODES.has(code)) || /^Failed to convert JavaScript value/.test(message)) {
    return new LeanAgenticError('ERR_INVALID_INPUT', `an argument has the wrong type: ${message}; check the argument types in index.d.ts`);
  }
  if (e instanceof TypeError || e instanceof RangeError) {
    return new LeanAgenticError('ERR_INVALID_INPUT', `an argument could not be read as JSON: ${message}`);
  }
  return new LeanAgenticError('ERR_INTERNAL', message);
}

/** Calls `f`, rethrowing native errors as {@link LeanAgenticError}. */
export function call<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw toError(e);
  }
}

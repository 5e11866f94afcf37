/**
 * What every streaming source shares: the iterable shape ({@link StreamSource}), counters, the
 * transport error codes, and the pull-based wrapper fetch-based sources are built on, whose
 * `return()` aborts at once.
 */

import { LeanAgenticError } from '../errors';
import type { ErrorCode } from '../errors';

/** Error codes of the transports (in addition to the engine's `ErrorCode`s). */
export type TransportErrorCode = 'ERR_STREAM_NETWORK' | 'ERR_STREAM_HTTP' | 'ERR_STREAM_PARSE';

/** A transport failure: a `LeanAgenticError` with transport details. */
export interface TransportError extends LeanAgenticError {
  /** HTTP status, for `ERR_STREAM_HTTP`. */
  status?: number;
  /** 1-based line number, for `ERR_STREAM_PARSE`. */
  line?: number;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Builds a transport error (a `LeanAgenticError` carrying one of {@link TransportErrorCode}). */
export function transportError(
  code: TransportErrorCode,
  message: string,
  extra: { status?: number; line?: number; cause?: unknown } = {},
): TransportError {
  // The codes are not (yet) part of errors.ts's ErrorCode union.
  const err = new LeanAgenticError(code as unknown as ErrorCode, message) as TransportError;
  if (extra.status !== undefined) err.status = extra.status;
  if (extra.line !== undefined) err.line = extra.line;
  if (extra.cause !== undefined) {
    Object.defineProperty(err, 'cause', { value: extra.cause, enumerable: false, writable: true, configurable: true });
  }
  return err;
}

/** Counters of a source. */
export interface SourceStats {
  /** Chunks received and not yet taken by the consumer. */
  buffered: number;
  /** The largest `buffered` seen. */
  maxBuffered: number;
  /** Chunks received from the transport. */
  received: number;
  /** Chunks handed to the consumer. */
  yielded: number;
  /** Times the transport was paused for backpressure (WebSocket). */
  pauses: number;
  /** Reconnections made (SSE). */
  reconnects: number;
  /** The id of the last SSE event received, if any. */
  lastEventId?: string;
}

/** An async iterable of chunks with introspection and an explicit close. */
export interface StreamSource extends AsyncIterableIterator<string> {
  /** Chunks received and not yet consumed. */
  readonly bufferedCount: number;
  /** A snapshot of the source's counters. */
  readonly stats: SourceStats;
  /** Stops the source: closes the socket or aborts the request. Idempotent. */
  close(): Promise<void>;
}

/** An SSE source: also knows the last event id (to resume elsewhere). */
export interface SSESource extends StreamSource {
  readonly lastEventId: string | undefined;
}

export type FetchLike = typeof fetch;

export function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    const code = (e as { code?: unknown }).code;
    let s = e.message;
    if (typeof code === 'string' && !s.includes(code)) s = `${code} ${s}`;
    if (cause instanceof Error) s += ` (${describe(cause)})`;
    return s;
  }
  return String(e);
}

export function newStats(): SourceStats {
  return { buffered: 0, maxBuffered: 0, received: 0, yielded: 0, pauses: 0, reconnects: 0 };
}

/** A pending `next()` of a push-based source. */
export type Waiter = { resolve: (r: IteratorResult<string, undefined>) => void; reject: (e: unknown) => void };

/**
 * What every source's iteration protocol shares: stopping it (`return()`, `throw()`, a
 * `break`) closes the source.
 */
export abstract class ClosingSource {
  abstract close(): Promise<void>;

  async return(): Promise<IteratorResult<string, undefined>> {
    await this.close();
    return DONE;
  }

  async throw(e?: unknown): Promise<IteratorResult<string, undefined>> {
    await this.close();
    throw e;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** The end of an iteration. */
export const DONE: IteratorResult<string, undefined> = { done: true, value: undefined };

/** A FIFO with O(1) shift. */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head] = undefined as unknown as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------------

export type Producer = (signal: AbortSignal, stats: SourceStats) => AsyncGenerator<string, void, undefined>;

/**
 * Wraps a generator so that `return()` aborts at once (even while a read is pending) instead of
 * waiting behind it, as a plain async generator's `return()` would.
 */
export class PullSource extends ClosingSource implements SSESource {
  private readonly ctrl = new AbortController();
  private readonly counters = newStats();
  private readonly gen: AsyncGenerator<string, void, undefined>;
  private stopped = false;

  constructor(producer: Producer, signal?: AbortSignal) {
    super();
    if (signal) {
      if (signal.aborted) this.ctrl.abort(signal.reason);
      else signal.addEventListener('abort', () => this.ctrl.abort(signal.reason), { once: true });
    }
    this.gen = producer(this.ctrl.signal, this.counters);
  }

  get bufferedCount(): number {
    return this.counters.buffered;
  }

  get stats(): SourceStats {
    return { ...this.counters };
  }

  get lastEventId(): string | undefined {
    return this.counters.lastEventId;
  }

  async next(): Promise<IteratorResult<string, undefined>> {
    if (this.stopped) return DONE;
    try {
      const r = await this.gen.next();
      if (r.done) {
        this.stopped = true;
        return DONE;
      }
      this.counters.yielded++;
      return { done: false, value: r.value };
    } catch (e) {
      this.stopped = true;
      this.ctrl.abort();
      throw e;
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.ctrl.abort();
    try {
      await this.gen.return(undefined);
    } catch {
      // The producer ends quietly on abort; anything else is moot once the consumer left.
    }
  }

}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function discard(res: Response): void {
  res.body?.cancel().catch(() => {});
}

export async function* readBody(res: Response, signal: AbortSignal): AsyncGenerator<Uint8Array, void, undefined> {
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value && value.byteLength > 0) yield value;
      if (signal.aborted) return;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events
// ---------------------------------------------------------------------------------------------

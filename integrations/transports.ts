/**
 * Streaming transports: sources of chunks for `sys.processStream(source, ctx, options)`.
 *
 * Every source is an async iterable of strings (one chunk per WebSocket message, SSE event or
 * text/NDJSON line) with a `bufferedCount` getter, `stats` and `close()`:
 *
 * - {@link fromWebSocket}: text messages of a WebSocket (`ws` package); pauses the socket when
 *   more than `highWaterMark` messages wait unconsumed, so a slow consumer slows the producer.
 * - {@link fromSSE}: `data` of Server-Sent Events over `fetch`; reconnects after a dropped
 *   connection with `Last-Event-ID`, honouring the server's `retry:`.
 * - {@link fromHttpStream}: lines of a chunked HTTP response, as text or NDJSON.
 * - {@link fromByteStream}: the same line parsing over any async iterable of bytes (a request,
 *   `process.stdin`, a file stream).
 *
 * Fetch-based sources are pull-based: the body is read only as fast as the consumer takes chunks,
 * so TCP flow control carries the backpressure. Stopping the iteration (`break`, `return()`,
 * `close()`) closes the socket or aborts the fetch.
 *
 * Failures reject the iteration with a `LeanAgenticError` whose `code` is one of
 * {@link TransportErrorCode}: `ERR_STREAM_NETWORK` (connection refused or dropped, abnormal
 * WebSocket close), `ERR_STREAM_HTTP` (non-2xx status or wrong content type; `status` is set) or
 * `ERR_STREAM_PARSE` (a malformed NDJSON line; `line` is its 1-based number).
 */

import { integerOption } from './json_input';
import WebSocket from 'ws';
import { createParser } from 'eventsource-parser';
import { LeanAgenticError } from './errors';
import type { ErrorCode } from './errors';

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

type FetchLike = typeof fetch;

function describe(e: unknown): string {
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

function newStats(): SourceStats {
  return { buffered: 0, maxBuffered: 0, received: 0, yielded: 0, pauses: 0, reconnects: 0 };
}

/** A FIFO with O(1) shift. */
class Fifo<T> {
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

/** Options of {@link fromWebSocket}. */
export interface WebSocketSourceOptions {
  /** Subprotocols to offer. */
  protocols?: string | string[];
  /** Extra handshake headers (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /**
   * Most messages buffered unconsumed before the socket is paused (default 1024). Messages that
   * were already read from the socket when it paused are still delivered, so the buffer can
   * exceed this by the messages of one socket read (at most ~64 KiB of frames).
   */
  highWaterMark?: number;
  /** The socket resumes when the buffer drains to this many messages (default highWaterMark / 2). */
  lowWaterMark?: number;
  /** Opening handshake timeout in ms (default 30000). */
  handshakeTimeout?: number;
  /** Largest accepted message in bytes (default 100 MiB, the `ws` default). */
  maxPayload?: number;
}

type Waiter = { resolve: (r: IteratorResult<string, undefined>) => void; reject: (e: unknown) => void };

const DONE: IteratorResult<string, undefined> = { done: true, value: undefined };

class WebSocketSource implements StreamSource {
  private readonly queue = new Fifo<string>();
  private readonly waiters: Waiter[] = [];
  private readonly counters = newStats();
  private readonly hwm: number;
  private readonly lwm: number;
  private ended = false;
  private stopped = false;
  private failure: unknown = null;
  private paused = false;
  private readonly closed: Promise<void>;

  constructor(
    private readonly ws: WebSocket,
    label: string,
    marks: { hwm: number; lwm: number },
  ) {
    this.hwm = marks.hwm;
    this.lwm = marks.lwm;
    this.closed = new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) resolve();
      else ws.once('close', () => resolve());
    });
    if (ws.readyState === WebSocket.CLOSED) {
      this.ended = true;
      return;
    }
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('unexpected-response', (_req, res) => {
      this.fail(
        transportError('ERR_STREAM_HTTP', `WebSocket handshake with ${label} failed: HTTP ${res.statusCode}`, {
          status: res.statusCode,
        }),
      );
      res.resume();
      ws.terminate(); // aborts the handshake: 'error' (ignored, a failure is set) then 'close'
    });
    ws.on('error', (err: Error) => {
      if (this.stopped) return;
      this.fail(transportError('ERR_STREAM_NETWORK', `WebSocket ${label}: ${describe(err)}`, { cause: err }));
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (!this.stopped && code !== 1000 && code !== 1005) {
        const why = reason.length > 0 ? `: ${reason.toString()}` : '';
        this.fail(transportError('ERR_STREAM_NETWORK', `WebSocket ${label} closed abnormally (code ${code}${why})`));
      }
      this.ended = true;
      this.settle();
    });
  }

  get bufferedCount(): number {
    return this.queue.length;
  }

  get stats(): SourceStats {
    return { ...this.counters, buffered: this.queue.length };
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.stopped) return;
    const text = isBinary
      ? Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8')
      : data.toString();
    this.counters.received++;
    const w = this.waiters.shift();
    if (w) {
      this.counters.yielded++;
      w.resolve({ done: false, value: text });
      return;
    }
    this.queue.push(text);
    const n = this.queue.length;
    if (n > this.counters.maxBuffered) this.counters.maxBuffered = n;
    if (n >= this.hwm && !this.paused && this.ws.readyState === WebSocket.OPEN) {
      this.paused = true;
      this.counters.pauses++;
      this.ws.pause();
    }
  }

  private fail(e: unknown): void {
    if (this.failure === null) this.failure = e;
  }

  /** Answers waiting consumers once the socket has ended. */
  private settle(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters.shift() as Waiter;
      if (this.queue.length > 0) {
        this.counters.yielded++;
        w.resolve({ done: false, value: this.queue.shift() as string });
      } else if (this.failure !== null && !this.stopped) {
        const f = this.failure;
        this.stopped = true;
        w.reject(f);
      } else {
        w.resolve(DONE);
      }
    }
  }

  next(): Promise<IteratorResult<string, undefined>> {
    if (this.queue.length > 0) {
      const value = this.queue.shift() as string;
      this.counters.yielded++;
      if (this.paused && this.queue.length <= this.lwm) {
        this.paused = false;
        this.ws.resume();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.stopped) return Promise.resolve(DONE);
    if (this.ended) {
      if (this.failure !== null) {
        this.stopped = true;
        return Promise.reject(this.failure);
      }
      return Promise.resolve(DONE);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async return(): Promise<IteratorResult<string, undefined>> {
    await this.close();
    return DONE;
  }

  async throw(e?: unknown): Promise<IteratorResult<string, undefined>> {
    await this.close();
    throw e;
  }

  async close(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.queue.clear();
      for (const w of this.waiters.splice(0)) w.resolve(DONE);
      const ws = this.ws;
      if (ws.readyState === WebSocket.OPEN) {
        // A paused socket would never read the peer's close frame.
        ws.resume();
        ws.close(1000, 'consumer done');
      } else if (ws.readyState === WebSocket.CONNECTING) {
        ws.terminate();
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2000);
    });
    await Promise.race([this.closed, timeout]);
    clearTimeout(timer);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Text messages of a WebSocket, in order. `target` is a `ws://`/`wss://` URL (a socket is opened)
 * or an existing `ws` WebSocket (e.g. one accepted by a `WebSocketServer`). Binary messages are
 * decoded as UTF-8.
 *
 * The iteration ends when the socket closes normally (code 1000 or 1005) and rejects with
 * `ERR_STREAM_NETWORK` on a network error or an abnormal close, or with `ERR_STREAM_HTTP` when
 * the handshake is answered with an HTTP error. `return()`/`close()` closes the socket.
 */
export function fromWebSocket(target: string | URL | WebSocket, options: WebSocketSourceOptions = {}): StreamSource {
  if (options === null || typeof options !== 'object') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'fromWebSocket options must be an object');
  }
  const hwm = integerOption('highWaterMark', options.highWaterMark, 1024);
  const marks = { hwm, lwm: Math.min(integerOption('lowWaterMark', options.lowWaterMark, Math.floor(hwm / 2), 0), hwm - 1) };
  if (target instanceof WebSocket) return new WebSocketSource(target, 'socket', marks);
  const url = String(target);
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, options.protocols, {
      headers: options.headers,
      handshakeTimeout: options.handshakeTimeout ?? 30_000,
      ...(options.maxPayload !== undefined ? { maxPayload: options.maxPayload } : {}),
    });
  } catch (e) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `fromWebSocket: invalid URL ${JSON.stringify(url)}: ${describe(e)}`);
  }
  return new WebSocketSource(ws, url, marks);
}

// ---------------------------------------------------------------------------------------------
// Pull-based sources (fetch)
// ---------------------------------------------------------------------------------------------

type Producer = (signal: AbortSignal, stats: SourceStats) => AsyncGenerator<string, void, undefined>;

/**
 * Wraps a generator so that `return()` aborts at once (even while a read is pending) instead of
 * waiting behind it, as a plain async generator's `return()` would.
 */
class PullSource implements SSESource {
  private readonly ctrl = new AbortController();
  private readonly counters = newStats();
  private readonly gen: AsyncGenerator<string, void, undefined>;
  private stopped = false;

  constructor(producer: Producer, signal?: AbortSignal) {
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

  async return(): Promise<IteratorResult<string, undefined>> {
    await this.close();
    return DONE;
  }

  async throw(e?: unknown): Promise<IteratorResult<string, undefined>> {
    await this.close();
    throw e;
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

  [Symbol.asyncIterator](): this {
    return this;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
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

function discard(res: Response): void {
  res.body?.cancel().catch(() => {});
}

async function* readBody(res: Response, signal: AbortSignal): AsyncGenerator<Uint8Array, void, undefined> {
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

/** Options of {@link fromSSE}. */
export interface SSESourceOptions {
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Resume after this event id (sent as `Last-Event-ID` on the first request). */
  lastEventId?: string;
  /**
   * Consecutive failed attempts tolerated before giving up with `ERR_STREAM_NETWORK` (default 5).
   * A failed attempt is a refused connection, or a connection that dropped or ended before
   * delivering any event; an attempt that delivered events resets the count.
   */
  maxRetries?: number;
  /** Reconnection delay in ms until the server sends `retry:` (default 1000); doubles per failed attempt, at most 30 s. */
  retryMs?: number;
  /**
   * Event names to yield (`'message'` is the name of events without an `event:` field).
   * Default: every event, unnamed and named alike.
   */
  events?: string[];
  /**
   * End the iteration when the server ends the response normally (default false: like
   * `EventSource`, reconnect with `Last-Event-ID`; a server ends an SSE stream for good by
   * answering a request with 204 No Content).
   */
  endOnClose?: boolean;
  /** Largest event (or unterminated line) buffered, in characters (default 16 MiB); larger fails with `ERR_STREAM_PARSE`. */
  maxEventSize?: number;
  /** `fetch` to use (default the global one). */
  fetchImpl?: FetchLike;
  /** Aborting it ends the iteration. */
  signal?: AbortSignal;
}

/**
 * `data` of each Server-Sent Event from `url`, in order.
 *
 * Honours `id:` (remembered; sent as `Last-Event-ID` when reconnecting, so a server that resumes
 * after it loses and duplicates nothing), `event:` (see `events`) and `retry:` (the reconnection
 * delay). A dropped connection is retried; after `maxRetries` consecutive failures the iteration
 * rejects with `ERR_STREAM_NETWORK`. A non-2xx status or a content type other than
 * `text/event-stream` rejects with `ERR_STREAM_HTTP` (with `status`) without retrying; 204 ends
 * the stream. `return()`/`close()` aborts the request.
 */
export function fromSSE(url: string | URL, options: SSESourceOptions = {}): SSESource {
  if (options === null || typeof options !== 'object') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'fromSSE options must be an object');
  }
  const target = String(url);
  const fetchImpl: FetchLike = options.fetchImpl ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'fromSSE needs fetch: pass options.fetchImpl on runtimes without a global fetch');
  }
  const maxRetries = integerOption('maxRetries', options.maxRetries, 5, 0);
  const initialRetry = integerOption('retryMs', options.retryMs, 1000, 0);
  const maxEventSize = integerOption('maxEventSize', options.maxEventSize, 16 * 1024 * 1024);
  const filter = options.events ? new Set(options.events) : null;
  if (filter && ![...filter].every((e) => typeof e === 'string')) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'fromSSE events must be an array of event names');
  }

  const producer: Producer = async function* (signal, stats) {
    if (options.lastEventId !== undefined) stats.lastEventId = String(options.lastEventId);
    let retryMs = initialRetry;
    let failures = 0;
    let lastError: unknown = null;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return;
      if (attempt > 0) stats.reconnects++;
      let delivered = 0;
      let dropped = false;
      let res: Response | null = null;
      try {
        const headers = new Headers(options.headers);
        headers.set('Accept', 'text/event-stream');
        headers.set('Cache-Control', 'no-cache');
        if (stats.lastEventId !== undefined && stats.lastEventId !== '') headers.set('Last-Event-ID', stats.lastEventId);
        res = await fetchImpl(target, { headers, signal });
      } catch (e) {
        if (signal.aborted) return;
        lastError = e;
        dropped = true;
      }
      if (res) {
        if (res.status === 204) {
          discard(res);
          return;
        }
        if (!res.ok) {
          discard(res);
          throw transportError('ERR_STREAM_HTTP', `SSE request to ${target} failed: HTTP ${res.status} ${res.statusText}`.trim(), {
            status: res.status,
          });
        }
        const type = res.headers.get('content-type') ?? '';
        if (!/^text\/event-stream\b/i.test(type.trim())) {
          discard(res);
          throw transportError(
            'ERR_STREAM_HTTP',
            `SSE response from ${target} has content type ${JSON.stringify(type)}, expected text/event-stream`,
            { status: res.status },
          );
        }
        // Parsed events waiting to be taken; `data: null` for filtered-out ones (their id still counts).
        const pending: { data: string | null; id: string | undefined }[] = [];
        let waiting = 0;
        let tooLarge = false;
        const parser = createParser({
          maxBufferSize: maxEventSize,
          onError(err) {
            if (err.type === 'max-buffer-size-exceeded') tooLarge = true;
          },
          onEvent(ev) {
            const keep = !filter || filter.has(ev.event ?? 'message');
            pending.push({ data: keep ? ev.data : null, id: ev.id });
            if (keep) {
              waiting++;
              stats.received++;
            }
          },
          onRetry(ms) {
            if (Number.isFinite(ms) && ms >= 0) retryMs = ms;
          },
        });
        const decoder = new TextDecoder();
        try {
          for await (const bytes of readBody(res, signal)) {
            parser.feed(decoder.decode(bytes, { stream: true }));
            stats.buffered = waiting;
            if (waiting > stats.maxBuffered) stats.maxBuffered = waiting;
            for (let i = 0; i < pending.length; i++) {
              const ev = pending[i];
              // The last event id is that of the last event handed over (or skipped).
              if (ev.id !== undefined) stats.lastEventId = ev.id;
              if (ev.data === null) continue;
              delivered++;
              stats.buffered = --waiting;
              yield ev.data;
            }
            pending.length = 0;
            waiting = 0;
            stats.buffered = 0;
            if (tooLarge) {
              throw transportError('ERR_STREAM_PARSE', `SSE stream ${target}: an event is larger than maxEventSize (${maxEventSize} characters)`);
            }
          }
        } catch (e) {
          if (signal.aborted) return;
          if (tooLarge) throw e;
          lastError = e;
          dropped = true;
        }
        if (signal.aborted) return;
        // An event not terminated by a blank line is incomplete: drop it (the server resends it).
        parser.reset();
        if (!dropped && options.endOnClose) return;
        if (!dropped && delivered === 0) lastError = new Error('the server ended the response without sending an event');
      }
      if (delivered > 0) failures = dropped ? 1 : 0;
      else failures++;
      if (failures > maxRetries) {
        throw transportError(
          'ERR_STREAM_NETWORK',
          `SSE stream ${target} failed ${failures} time(s) in a row` +
            (maxRetries > 0 ? ` (maxRetries ${maxRetries})` : '') +
            `: ${describe(lastError)}`,
          { cause: lastError },
        );
      }
      const delay = failures <= 1 ? retryMs : Math.min(retryMs * 2 ** (failures - 1), Math.max(retryMs, 30_000));
      await sleep(delay, signal);
    }
  };
  return new PullSource(producer, options.signal);
}

// ---------------------------------------------------------------------------------------------
// Lines and NDJSON
// ---------------------------------------------------------------------------------------------

/** Options of {@link fromByteStream} (and {@link fromHttpStream}). */
export interface LineStreamOptions {
  /**
   * `'lines'`: each text line is a chunk. `'ndjson'`: each line is JSON — a string is the chunk,
   * an object's `field` is (default `'ndjson'`).
   */
  format?: 'ndjson' | 'lines';
  /** The property of NDJSON objects holding the text (default `'text'`). */
  field?: string;
  /** Yield empty (or, for NDJSON, blank) lines too (default false: the engine rejects empty chunks). */
  keepEmpty?: boolean;
  /** Longest accepted line in characters (default 8 MiB); longer ones fail with `ERR_STREAM_PARSE`. */
  maxLineLength?: number;
}

function lineConverter(options: LineStreamOptions): (line: string, n: number) => string | undefined {
  const format = options.format ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'lines') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `format must be 'ndjson' or 'lines', got ${JSON.stringify(format)}`);
  }
  const field = options.field ?? 'text';
  if (typeof field !== 'string') throw new LeanAgenticError('ERR_INVALID_INPUT', 'field must be a string');
  const keepEmpty = options.keepEmpty === true;
  if (format === 'lines') return (line) => (line.length === 0 && !keepEmpty ? undefined : line);
  return (line, n) => {
    if (line.trim().length === 0) return keepEmpty ? '' : undefined;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw transportError('ERR_STREAM_PARSE', `NDJSON line ${n} is not valid JSON: ${describe(e)}`, { line: n });
    }
    if (typeof v === 'string') return v;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const t = (v as Record<string, unknown>)[field];
      if (typeof t === 'string') return t;
      throw transportError('ERR_STREAM_PARSE', `NDJSON line ${n}: the object has no string field ${JSON.stringify(field)}`, {
        line: n,
      });
    }
    throw transportError(
      'ERR_STREAM_PARSE',
      `NDJSON line ${n} must be a JSON string or an object with a string ${JSON.stringify(field)}, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`,
      { line: n },
    );
  };
}

/** Splits decoded text into lines; `stats.buffered` counts lines split but not yet taken. */
async function* splitLines(
  chunks: AsyncIterable<Uint8Array | string>,
  options: LineStreamOptions,
  stats: SourceStats,
  signal?: AbortSignal,
): AsyncGenerator<string, void, undefined> {
  const convert = lineConverter(options);
  const maxLine = integerOption('maxLineLength', options.maxLineLength, 8 * 1024 * 1024);
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let lineNo = 0;
  const tooLong = () =>
    transportError('ERR_STREAM_PARSE', `line ${lineNo + 1} is longer than maxLineLength (${maxLine} characters)`, {
      line: lineNo + 1,
    });
  const emit = function* (text: string, final: boolean): Generator<string, void, undefined> {
    const parts = text.split('\n');
    const last = final ? undefined : parts.pop();
    if (final && parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    stats.buffered = parts.length;
    if (parts.length > stats.maxBuffered) stats.maxBuffered = parts.length;
    for (let i = 0; i < parts.length; i++) {
      let line = parts[i];
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.length > maxLine) throw tooLong();
      lineNo++;
      stats.buffered = parts.length - i - 1;
      const v = convert(line, lineNo);
      if (v !== undefined) {
        stats.received++;
        yield v;
      }
    }
    stats.buffered = 0;
    carry = last ?? '';
  };
  for await (const chunk of chunks) {
    if (signal?.aborted) return;
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (text.indexOf('\n') < 0) {
      carry += text;
      if (carry.length > maxLine) throw tooLong();
      continue;
    }
    yield* emit(carry + text, false);
    if (carry.length > maxLine) throw tooLong();
  }
  if (signal?.aborted) return;
  const rest = carry + decoder.decode();
  carry = '';
  if (rest.length > 0) yield* emit(rest, true);
}

/**
 * Lines of any async iterable of bytes or strings (an `http.IncomingMessage`, `process.stdin`, a
 * file stream), as text lines or NDJSON (see {@link LineStreamOptions}). UTF-8 sequences split
 * across chunks are decoded correctly and a last line without a newline is kept. Pulls from
 * `chunks` only as the consumer asks, so backpressure reaches the underlying stream.
 */
export function fromByteStream(chunks: AsyncIterable<Uint8Array | string>, options: LineStreamOptions = {}): StreamSource {
  if (chunks == null || typeof (chunks as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'fromByteStream takes an async iterable of bytes or strings');
  }
  lineConverter(options); // validate eagerly
  return new PullSource((signal, stats) => splitLines(chunks, options, stats, signal));
}

/** Options of {@link fromHttpStream}. */
export interface HttpStreamOptions extends LineStreamOptions {
  /** Request method (default GET). */
  method?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Request body. */
  body?: string | Uint8Array;
  /** `fetch` to use (default the global one). */
  fetchImpl?: FetchLike;
  /** Aborting it ends the iteration. */
  signal?: AbortSignal;
}

/**
 * Lines of a (chunked) HTTP response from `url`: text lines (`format: 'lines'`) or NDJSON
 * (`format: 'ndjson'`, the default: JSON strings as they are, objects' `field`, default `text`).
 * A non-2xx status rejects with `ERR_STREAM_HTTP`, a malformed NDJSON line with
 * `ERR_STREAM_PARSE` (its `line` number), a refused or dropped connection with
 * `ERR_STREAM_NETWORK`. `return()`/`close()` aborts the request.
 */
export function fromHttpStream(url: string | URL, options: HttpStreamOptions = {}): StreamSource {
  if (options === null || typeof options !== 'object') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'fromHttpStream options must be an object');
  }
  const target = String(url);
  const fetchImpl: FetchLike = options.fetchImpl ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'fromHttpStream needs fetch: pass options.fetchImpl on runtimes without a global fetch');
  }
  lineConverter(options);
  const producer: Producer = async function* (signal, stats) {
    let res: Response;
    try {
      res = await fetchImpl(target, {
        method: options.method ?? 'GET',
        headers: options.headers,
        body: options.body,
        signal,
      });
    } catch (e) {
      if (signal.aborted) return;
      throw transportError('ERR_STREAM_NETWORK', `HTTP stream ${target}: ${describe(e)}`, { cause: e });
    }
    if (!res.ok) {
      discard(res);
      throw transportError('ERR_STREAM_HTTP', `HTTP stream ${target} failed: HTTP ${res.status} ${res.statusText}`.trim(), {
        status: res.status,
      });
    }
    // Network failures while reading the body become ERR_STREAM_NETWORK; parse errors pass through.
    const body = (async function* () {
      try {
        yield* readBody(res, signal);
      } catch (e) {
        if (signal.aborted) return;
        throw transportError('ERR_STREAM_NETWORK', `HTTP stream ${target} dropped: ${describe(e)}`, { cause: e });
      }
    })();
    yield* splitLines(body, options, stats, signal);
  };
  return new PullSource(producer, options.signal);
}

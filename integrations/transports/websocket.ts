/**
 * Text messages of a WebSocket as a stream source, with backpressure: the socket is paused while
 * more than `highWaterMark` messages wait unconsumed.
 */

import WebSocket from 'ws';
import { integerOption } from '../json_input';
import { LeanAgenticError } from '../errors';
import { ClosingSource, DONE, Fifo, newStats, transportError, describe, type SourceStats, type StreamSource, type Waiter } from './source';

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

/**
 * A `ws` WebSocket, as {@link fromWebSocket} accepts one. Declared by shape (what a `ws` 8
 * WebSocket has) so that these declarations compile without `@types/ws` in the user's project;
 * at run time the value must be an actual `ws` WebSocket.
 */
export interface WebSocketLike {
  readonly readyState: number;
  on(event: string, listener: (...args: any[]) => void): this;
  once(event: string, listener: (...args: any[]) => void): this;
  pause(): void;
  resume(): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

class WebSocketSource extends ClosingSource implements StreamSource {
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
    super();
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
export function fromWebSocket(target: string | URL | WebSocketLike, options: WebSocketSourceOptions = {}): StreamSource {
  if (options === null || typeof options !== 'object') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'fromWebSocket options must be an object');
  }
  const hwm = integerOption('highWaterMark', options.highWaterMark, 1024);
  const marks = { hwm, lwm: Math.min(integerOption('lowWaterMark', options.lowWaterMark, Math.floor(hwm / 2), 0), hwm - 1) };
  if (target instanceof WebSocket) return new WebSocketSource(target, 'socket', marks);
  if (typeof target === 'object' && target !== null && !(target instanceof URL)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'fromWebSocket target must be a ws:// or wss:// URL or a WebSocket of the `ws` package');
  }
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

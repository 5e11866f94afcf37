/**
 * The HTTP / SSE / WebSocket service around a {@link LeanAgenticSystem} (`lean-agentic serve`).
 *
 * Endpoints (every error is `{"error": {"code", "message"}}` with a status chosen by its code):
 *
 * - `POST /process` — body `{"text": "...", "sessionId"?: "..."}` → the step result.
 * - `POST /stream?sessionId=` — NDJSON in (one `{"text": ...}` object or JSON string per line),
 *   NDJSON out (one step result per line, in order, chunked). The body is read only as fast as
 *   results are written, so a slow client slows the stream down instead of growing memory.
 * - `GET /events?sessionId=` — Server-Sent Events: every result of that session (of every
 *   session without `sessionId`) produced via the other endpoints, with `id:` a monotonically
 *   increasing event number. `Last-Event-ID` (header, or `?lastEventId=`) replays the retained
 *   events after it from a bounded ring buffer.
 * - `GET /ws?sessionId=` (WebSocket) — each text message is processed (a JSON object with a string
 *   `text`, and optionally `sessionId`, is unwrapped; anything else is the text itself); the
 *   result, or `{"error": ...}`, is sent back in order.
 * - `GET /stats` — `sys.stats()`; `GET /health` — `{"ok": true}`.
 *
 * Sessions are created on first use (`sys.createContext(id)`); the default session is
 * `"default"`. Steps of one session run one at a time, in arrival order.
 *
 * Under load: the event loop stays free while a long step runs (large chunks are processed on the
 * engine's session threads, see `processChunk`), so `/health` and other sessions keep answering;
 * a `/process` request or WebSocket message that takes longer than `requestTimeoutMs` is answered
 * with `ERR_TIMEOUT` (503) while its step completes in the background; a step reports at most
 * 1,000 entities (`entitiesTruncated`), which bounds each response to about twice its chunk.
 */

import { integerOption } from './json_input';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import type { RawData } from 'ws';
import { LeanAgenticError, toError } from './errors';
import type { ErrorCode } from './errors';
import { processStream } from './stream';
import type { StreamOptions } from './stream';
import type { LeanAgenticSystem } from './system';
import type { StepResult } from './types';
import { fromByteStream } from './transports';

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** Largest accepted request body (`/process`), NDJSON line (`/stream`) or WebSocket message, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Results retained for `Last-Event-ID` replay (default 1000). */
  eventBufferSize?: number;
  /** `processStream` options of `/stream` (default `{ batchSize: 64, highWaterMark: 256 }`). */
  stream?: StreamOptions;
  /** Unprocessed messages per WebSocket before the socket is paused (default 64). */
  wsHighWaterMark?: number;
  /** An SSE client further behind than this many bytes is disconnected; it resumes with `Last-Event-ID` (default 8 MiB). */
  maxEventLagBytes?: number;
  /** SSE comment heartbeat interval in ms, 0 for none (default 15000). */
  heartbeatMs?: number;
  /** `retry:` sent to SSE clients, in ms (default 1000). */
  sseRetryMs?: number;
  /** How long `close()` waits for in-flight requests before cutting connections (default 10000 ms). */
  shutdownTimeoutMs?: number;
  /** Whether `close()` flushes and closes the system (default true: the service owns it). */
  closeSystem?: boolean;
  /** Session used when a request names none (default `"default"`). */
  defaultSessionId?: string;
  /**
   * Longest a `/process` request or a WebSocket message may take, in ms (default 30000). Past it
   * the client gets `ERR_TIMEOUT` (HTTP 503); the step itself still runs to its end, in order
   * with the session's other steps, and its result is published on `/events`.
   */
  requestTimeoutMs?: number;
  /** Receives one line per notable event (default: none). */
  log?: (line: string) => void;
}

/** A running service (not yet listening: call `server.listen`). */
export interface LeanAgenticService {
  server: http.Server;
  wss: WebSocketServer;
  /**
   * Graceful shutdown: stops accepting, lets in-flight requests and WebSocket messages finish
   * (up to `shutdownTimeoutMs`), ends event streams, then `await sys.flush()` and
   * `await sys.close()` (unless `closeSystem: false`). Idempotent.
   */
  close(): Promise<void>;
  /** Whether `close()` was called. */
  readonly closing: boolean;
}

/** Codes only the server raises. */
type ServerCode = 'ERR_METHOD_NOT_ALLOWED' | 'ERR_PAYLOAD_TOO_LARGE' | 'ERR_SHUTTING_DOWN';

/**
 * The HTTP status of every error code. A `Record` over the generated union: a new engine code
 * does not compile until it has a status here.
 */
const STATUS: Record<ErrorCode | ServerCode, number> = {
  ERR_INVALID_INPUT: 400,
  ERR_INVALID_JSON: 400,
  ERR_EMPTY_CHUNK: 400,
  ERR_INVALID_REWARD: 400,
  ERR_INVALID_CONFIG: 400,
  ERR_POLICY_PARSE: 400,
  ERR_POLICY_INVALID: 400,
  ERR_RULE_PARSE: 400,
  ERR_PROOF_INVALID: 400,
  ERR_INVALID_WORKFLOW: 400,
  ERR_EMBEDDING_DIMS: 400,
  ERR_STREAM_PARSE: 400,
  ERR_UNKNOWN_SESSION: 404,
  ERR_UNKNOWN_ACTION: 404,
  ERR_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_CLOSED: 409,
  ERR_STORE_IN_USE: 409,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_CHUNK_TOO_LARGE: 413,
  ERR_SHUTTING_DOWN: 503,
  ERR_TIMEOUT: 503,
  ERR_HANDLER_FAILED: 500,
  ERR_HANDLER_TIMEOUT: 500,
  ERR_STORE_CORRUPT: 500,
  ERR_STORE: 500,
  ERR_STREAM_NETWORK: 500,
  ERR_STREAM_HTTP: 500,
  ERR_INTERNAL: 500,
};

/** HTTP status for an error code (500 for a code this server does not know). */
export function statusForCode(code: string): number {
  return Object.prototype.hasOwnProperty.call(STATUS, code) ? STATUS[code as keyof typeof STATUS] : 500;
}

interface ErrorBody {
  code: string;
  message: string;
  line?: number;
}

function errorBody(e: unknown): ErrorBody {
  const err = e instanceof LeanAgenticError ? e : toError(e);
  const body: ErrorBody = { code: err.code, message: err.message };
  const line = (err as { line?: unknown }).line;
  if (typeof line === 'number') body.line = line;
  return body;
}

class HttpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function codeOf(e: unknown): ErrorBody {
  if (e instanceof HttpError) return { code: e.code, message: e.message };
  return errorBody(e);
}

interface StoredEvent {
  id: number;
  sessionId: string;
  data: string;
}

/** A bounded ring of the latest events. */
class EventRing {
  private readonly buf: (StoredEvent | undefined)[];
  private start = 0;
  private size = 0;
  constructor(private readonly capacity: number) {
    this.buf = new Array(capacity);
  }
  push(ev: StoredEvent): void {
    if (this.size < this.capacity) {
      this.buf[(this.start + this.size) % this.capacity] = ev;
      this.size++;
    } else {
      this.buf[this.start] = ev;
      this.start = (this.start + 1) % this.capacity;
    }
  }
  get oldestId(): number | undefined {
    return this.size > 0 ? (this.buf[this.start] as StoredEvent).id : undefined;
  }
  *after(id: number): Generator<StoredEvent> {
    for (let i = 0; i < this.size; i++) {
      const ev = this.buf[(this.start + i) % this.capacity] as StoredEvent;
      if (ev.id > id) yield ev;
    }
  }
}

interface Subscriber {
  res: http.ServerResponse;
  sessionId: string | null;
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** The longest delay a Node timer supports. */
const MAX_TIMER_MS = 2_147_483_647;
const SESSION_ID_MAX = 256;

/** Creates the service for `sys` (see the module docs); listen with `service.server.listen(port, host)`. */
export function createServer(sys: LeanAgenticSystem, options: ServerOptions = {}): LeanAgenticService {
  if (options === null || typeof options !== 'object') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'createServer options must be an object');
  }
  const maxBodyBytes = integerOption('maxBodyBytes', options.maxBodyBytes, 1024 * 1024);
  const ring = new EventRing(integerOption('eventBufferSize', options.eventBufferSize, 1000));
  const streamOptions: StreamOptions = { batchSize: 64, highWaterMark: 256, ...(options.stream ?? {}) };
  const wsHighWaterMark = integerOption('wsHighWaterMark', options.wsHighWaterMark, 64);
  const maxEventLag = integerOption('maxEventLagBytes', options.maxEventLagBytes, 8 * 1024 * 1024);
  const heartbeatMs = integerOption('heartbeatMs', options.heartbeatMs, 15_000, 0);
  const sseRetryMs = integerOption('sseRetryMs', options.sseRetryMs, 1000, 0);
  const shutdownTimeoutMs = integerOption('shutdownTimeoutMs', options.shutdownTimeoutMs, 10_000, 0);
  const requestTimeoutMs = integerOption('requestTimeoutMs', options.requestTimeoutMs, 30_000);
  if (requestTimeoutMs > MAX_TIMER_MS) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `requestTimeoutMs must be at most ${MAX_TIMER_MS} (about 24.8 days), got ${requestTimeoutMs}`);
  }
  const closeSystem = options.closeSystem !== false;
  const defaultSession = options.defaultSessionId ?? 'default';
  const log = options.log ?? (() => {});

  let closing = false;
  let closePromise: Promise<void> | null = null;
  let eventSeq = 0;
  const knownSessions = new Set<string>();
  const sessionTails = new Map<string, Promise<unknown>>();
  const subscribers = new Set<Subscriber>();
  const inflight = new Set<Promise<void>>();
  const sockets = new Map<WebSocket, { tail: () => Promise<void> }>();

  // ---- sessions, ordering, events -------------------------------------------------------------

  function checkSessionId(id: unknown): string {
    if (id === undefined || id === null || id === '') return defaultSession;
    if (typeof id !== 'string' || id.length > SESSION_ID_MAX) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `sessionId must be a string of at most ${SESSION_ID_MAX} characters`);
    }
    return id;
  }

  function ensureSession(id: string): void {
    if (knownSessions.has(id)) return;
    sys.createContext(id);
    knownSessions.add(id);
  }

  /** Runs `fn` after every earlier step of the session. */
  function inSession<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = sessionTails.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    sessionTails.set(id, tail);
    void tail.then(() => {
      if (sessionTails.get(id) === tail) sessionTails.delete(id);
    });
    return run;
  }

  function publish(r: StepResult): void {
    const ev: StoredEvent = { id: ++eventSeq, sessionId: r.sessionId, data: JSON.stringify(r) };
    ring.push(ev);
    for (const sub of subscribers) {
      if (sub.sessionId === null || sub.sessionId === ev.sessionId) writeEvent(sub, ev);
    }
  }

  function writeEvent(sub: Subscriber, ev: StoredEvent): void {
    if (sub.res.writableLength > maxEventLag) {
      // Too far behind: drop it; the client reconnects with Last-Event-ID and replays.
      subscribers.delete(sub);
      sub.res.end();
      return;
    }
    sub.res.write(`id: ${ev.id}\ndata: ${ev.data}\n\n`);
  }

  /** Runs `fn` on a session created on first use (again, if it was ended behind our back). */
  async function onSession<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    ensureSession(sessionId);
    try {
      return await fn();
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ERR_UNKNOWN_SESSION') throw e;
      knownSessions.delete(sessionId);
      ensureSession(sessionId);
      return fn();
    }
  }

  /**
   * One step, answered within `requestTimeoutMs`: past it the promise rejects with `ERR_TIMEOUT`
   * while the step runs on (it is never abandoned half-way) and is published when it ends.
   */
  function processOne(sessionId: string, text: string): Promise<StepResult> {
    const step = inSession(sessionId, async () => {
      const r = await onSession(sessionId, () => sys.processChunk(text, sessionId));
      publish(r);
      return r;
    });
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LeanAgenticError(
              'ERR_TIMEOUT',
              `the step did not finish within ${requestTimeoutMs} ms (requestTimeoutMs); it still runs and its result is published on /events`,
            ),
          ),
        requestTimeoutMs,
      );
    });
    // A step that fails after its request timed out has nobody to tell.
    step.catch(() => undefined);
    return Promise.race([step, limit]).finally(() => clearTimeout(timer));
  }

  /** The system seen through the session order, publishing every result. */
  function sessionProcessor(sessionId: string) {
    return {
      processBatch: (chunks: string[]) =>
        inSession(sessionId, async () => {
          const rs = await onSession(sessionId, () => sys.processBatch(chunks, sessionId));
          for (const r of rs) publish(r);
          return rs;
        }),
    };
  }

  // ---- HTTP helpers ---------------------------------------------------------------------------

  function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) {
      if (!res.writableEnded) res.end();
      return;
    }
    const data = JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': JSON_TYPE,
      'Content-Length': Buffer.byteLength(data),
      'Cache-Control': 'no-store',
    };
    if (closing) headers.Connection = 'close';
    res.writeHead(status, headers);
    res.end(data);
  }

  function sendError(res: http.ServerResponse, e: unknown): void {
    const body = codeOf(e);
    sendJson(res, statusForCode(body.code), { error: body });
  }

  /** Reads a bounded body; an oversize one is drained (up to a limit) and rejected with 413. */
  function readBody(req: http.IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const tooLarge = () =>
        new HttpError('ERR_PAYLOAD_TOO_LARGE', `request body is larger than the limit of ${maxBodyBytes} bytes`);
      const declared = Number(req.headers['content-length']);
      const drainLimit = Math.max(maxBodyBytes * 4, 16 * 1024 * 1024);
      if (Number.isFinite(declared) && declared > drainLimit) {
        req.resume();
        reject(tooLarge());
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      let over = Number.isFinite(declared) && declared > maxBodyBytes;
      req.on('data', (b: Buffer) => {
        size += b.length;
        if (size > maxBodyBytes) {
          over = true;
          parts.length = 0;
          if (size > drainLimit) {
            reject(tooLarge());
            req.destroy();
          }
          return;
        }
        if (!over) parts.push(b);
      });
      req.on('end', () => (over ? reject(tooLarge()) : resolve(Buffer.concat(parts))));
      req.on('error', reject);
    });
  }

  async function readJson(req: http.IncomingMessage): Promise<unknown> {
    const raw = (await readBody(req)).toString('utf8');
    try {
      return JSON.parse(raw);
    } catch (e) {
      throw new HttpError('ERR_INVALID_JSON', `the request body is not valid JSON: ${(e as Error).message}`);
    }
  }

  function waitDrain(res: http.ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }

  // ---- endpoints ------------------------------------------------------------------------------

  async function handleProcess(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'the request body must be a JSON object like {"text": "...", "sessionId": "..."}');
    }
    const { text, sessionId } = body as { text?: unknown; sessionId?: unknown };
    if (typeof text !== 'string') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', '"text" must be a string');
    }
    const r = await processOne(checkSessionId(sessionId), text);
    sendJson(res, 200, r);
  }

  async function handleStream(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const sessionId = checkSessionId(url.searchParams.get('sessionId'));
    // Reading the body stops on `stop` (a failed batch, a gone client) without destroying the
    // request, so an error can still be answered.
    const stop = new AbortController();
    res.on('close', () => stop.abort());
    const source = fromByteStream(requestChunks(req, stop.signal), {
      format: 'lines',
      maxLineLength: maxBodyBytes,
    });
    let lineNo = 0;
    // Lines are `{"text": ...}` or JSON strings; blank lines are skipped.
    const chunks = (async function* () {
      for await (const line of source) {
        lineNo++;
        if (line.trim().length === 0) continue;
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch (e) {
          throw Object.assign(new HttpError('ERR_INVALID_JSON', `line ${lineNo} is not valid JSON: ${(e as Error).message}`), {
            line: lineNo,
          });
        }
        if (typeof v === 'string') yield v;
        else if (v !== null && typeof v === 'object' && typeof (v as { text?: unknown }).text === 'string') {
          yield (v as { text: string }).text;
        } else {
          throw Object.assign(
            new HttpError('ERR_INVALID_INPUT', `line ${lineNo} must be a JSON string or an object with a string "text"`),
            { line: lineNo },
          );
        }
      }
    })();
    const inner = sessionProcessor(sessionId);
    const processor = {
      processBatch: async (batch: string[]) => {
        try {
          return await inner.processBatch(batch);
        } catch (e) {
          stop.abort();
          throw e;
        }
      },
    };
    const start = () => {
      if (!res.headersSent) {
        res.writeHead(200, {
          'Content-Type': 'application/x-ndjson; charset=utf-8',
          'Cache-Control': 'no-store',
          'X-Accel-Buffering': 'no',
        });
      }
    };
    try {
      for await (const r of processStream(processor, chunks, sessionId, streamOptions)) {
        if (res.destroyed) break;
        start();
        if (!res.write(JSON.stringify(r) + '\n')) await waitDrain(res);
      }
    } catch (e) {
      if (res.destroyed) return;
      let err = e;
      if ((e as { code?: unknown }).code === 'ERR_STREAM_PARSE') {
        err = Object.assign(
          new HttpError('ERR_PAYLOAD_TOO_LARGE', `line ${lineNo + 1} of the stream is larger than the limit of ${maxBodyBytes} bytes`),
          { line: lineNo + 1 },
        );
      }
      const body = codeOf(err);
      const line = (err as { line?: unknown }).line;
      if (typeof line === 'number') body.line = line;
      // Let the client finish sending; what it sends is discarded.
      req.resume();
      if (!res.headersSent) {
        // Nothing written yet: a plain error response.
        sendJson(res, statusForCode(body.code), { error: body });
        return;
      }
      res.end(JSON.stringify({ error: body }) + '\n');
      return;
    }
    if (!res.destroyed) {
      start();
      res.end();
    }
  }

  function handleEvents(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const raw = url.searchParams.get('sessionId');
    const sessionId = raw === null || raw === '' ? null : checkSessionId(raw);
    const lastHeader = req.headers['last-event-id'];
    const lastRaw = (Array.isArray(lastHeader) ? lastHeader[0] : lastHeader) ?? url.searchParams.get('lastEventId');
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: ${sseRetryMs}\n\n`);
    const sub: Subscriber = { res, sessionId };
    if (lastRaw !== undefined && lastRaw !== null && /^\d+$/.test(lastRaw.trim())) {
      let last = Number(lastRaw.trim());
      // An id from the future belongs to an earlier run of the server: replay everything retained.
      if (last > eventSeq) last = 0;
      const oldest = ring.oldestId;
      if (oldest !== undefined && oldest > last + 1) {
        res.write(`: events ${last + 1}..${oldest - 1} are no longer retained\n\n`);
      }
      for (const ev of ring.after(last)) {
        if (sessionId === null || ev.sessionId === sessionId) writeEvent(sub, ev);
      }
    }
    if (res.writableEnded) return;
    subscribers.add(sub);
    const heartbeat = heartbeatMs > 0 ? setInterval(() => res.write(': ping\n\n'), heartbeatMs) : null;
    heartbeat?.unref();
    res.on('close', () => {
      if (heartbeat) clearInterval(heartbeat);
      subscribers.delete(sub);
    });
  }

  type Route = { methods: string[]; run: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void> | void };
  const routes: Record<string, Route> = {
    '/process': { methods: ['POST'], run: handleProcess },
    '/stream': { methods: ['POST'], run: handleStream },
    '/events': { methods: ['GET'], run: handleEvents },
    '/stats': { methods: ['GET'], run: async (_req, res) => sendJson(res, 200, await sys.stats()) },
    '/health': { methods: ['GET'], run: (_req, res) => sendJson(res, 200, { ok: true, closing }) },
  };

  const server = http.createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendError(res, new HttpError('ERR_INVALID_INPUT', 'malformed request URL'));
      return;
    }
    const route = routes[url.pathname];
    if (!route) {
      req.resume();
      sendError(res, new HttpError('ERR_NOT_FOUND', `no endpoint ${url.pathname}; try POST /process, POST /stream, GET /events, GET /stats or /ws`));
      return;
    }
    if (!route.methods.includes(req.method ?? '')) {
      req.resume();
      res.setHeader('Allow', route.methods.join(', '));
      sendError(res, new HttpError('ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}; use ${route.methods.join(' or ')}`));
      return;
    }
    if (closing) {
      req.resume();
      sendError(res, new HttpError('ERR_SHUTTING_DOWN', 'the server is shutting down'));
      return;
    }
    if (url.pathname === '/events') {
      // Long-lived: not an in-flight request; ended by close().
      try {
        handleEvents(req, res, url);
      } catch (e) {
        sendError(res, e);
      }
      return;
    }
    const job = (async () => {
      try {
        await route.run(req, res, url);
      } catch (e) {
        if (e instanceof HttpError && e.code === 'ERR_PAYLOAD_TOO_LARGE') res.setHeader('Connection', 'close');
        sendError(res, e);
      }
    })();
    inflight.add(job);
    void job.finally(() => inflight.delete(job));
  });

  // ---- WebSocket ------------------------------------------------------------------------------

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxBodyBytes });

  server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
    let pathname = '';
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      // falls through to 404
    }
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (pathname !== '/ws') return refuse(404, 'Not Found');
    if (closing) return refuse(503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => {
    let sessionId: string;
    try {
      sessionId = checkSessionId(new URL(req.url ?? '/', 'http://localhost').searchParams.get('sessionId'));
    } catch (e) {
      ws.close(1008, errorBody(e).message.slice(0, 100));
      return;
    }
    let tail: Promise<void> = Promise.resolve();
    let pending = 0;
    let paused = false;
    sockets.set(ws, { tail: () => tail });
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', (e) => log(`websocket error: ${e.message}`));
    ws.on('message', (data: RawData) => {
      if (closing) {
        // Received after shutdown began: say so rather than drop it silently.
        tail = tail.then(() => {
          if (ws.readyState === WebSocket.OPEN) {
            ws.send(JSON.stringify({ error: { code: 'ERR_SHUTTING_DOWN', message: 'the server is shutting down; message not processed' } }));
          }
        });
        return;
      }
      const raw = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      pending++;
      if (pending >= wsHighWaterMark && !paused) {
        paused = true;
        ws.pause();
      }
      tail = tail.then(async () => {
        let reply: string;
        try {
          let text = raw;
          let sid = sessionId;
          if (raw.startsWith('{')) {
            let v: unknown;
            try {
              v = JSON.parse(raw);
            } catch {
              v = undefined;
            }
            if (v !== null && typeof v === 'object' && typeof (v as { text?: unknown }).text === 'string') {
              text = (v as { text: string }).text;
              const s = (v as { sessionId?: unknown }).sessionId;
              if (s !== undefined) sid = checkSessionId(s);
            }
          }
          reply = JSON.stringify(await processOne(sid, text));
        } catch (e) {
          reply = JSON.stringify({ error: errorBody(e) });
        }
        if (ws.readyState === WebSocket.OPEN) {
          if (ws.bufferedAmount > maxBodyBytes) await new Promise<void>((r) => ws.send(reply, () => r()));
          else ws.send(reply);
        }
        pending--;
        if (paused && pending <= wsHighWaterMark / 2) {
          paused = false;
          ws.resume();
        }
      }).catch((e: unknown) => log(`websocket reply failed: ${(e as Error).message}`));
    });
  });

  // ---- shutdown -------------------------------------------------------------------------------

  async function shutdown(): Promise<void> {
    closing = true;
    log('shutting down: no new connections; finishing in-flight requests');
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();

    // Event streams never finish by themselves: end them.
    for (const sub of subscribers) {
      sub.res.end(': server shutting down\n\n');
    }
    subscribers.clear();

    // WebSockets: answer what was received, then close.
    const wsDone = Promise.all(
      [...sockets.entries()].map(async ([ws, s]) => {
        await s.tail();
        if (ws.readyState === WebSocket.OPEN) {
          ws.resume();
          ws.close(1001, 'server shutting down');
        }
        await new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const t = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2000);
          ws.once('close', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }),
    );

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs);
    });
    const work = (async () => {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
      await wsDone;
    })();
    const outcome = await Promise.race([work.then(() => 'done' as const), deadline]);
    if (outcome === 'timeout') {
      log(`shutdown: in-flight work still running after ${shutdownTimeoutMs} ms; closing connections`);
      for (const ws of sockets.keys()) ws.terminate();
    }
    server.closeAllConnections();
    await Promise.race([serverClosed, deadline]);
    clearTimeout(timer);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    // Steps of every session that were already started finish before the store closes.
    await Promise.allSettled([...sessionTails.values()]);
    if (closeSystem && !sys.closed) {
      await sys.flush();
      await sys.close();
      log('store flushed and closed');
    }
  }

  return {
    server,
    wss,
    get closing() {
      return closing;
    },
    close(): Promise<void> {
      if (!closePromise) closePromise = shutdown();
      return closePromise;
    },
  };
}

/**
 * The body of `req` as an async iterable of chunks, pulled with pause/resume (so TCP flow control
 * slows the client down). When `signal` aborts, the iteration ends and the rest of the body is
 * read and discarded, leaving the request able to receive a response.
 */
function requestChunks(req: http.IncomingMessage, signal: AbortSignal): AsyncIterable<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: unknown = null;
  let discarding = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  req.pause();
  req.on('data', (b: Buffer) => {
    if (discarding) return;
    queue.push(b);
    req.pause();
    notify();
  });
  req.on('end', () => {
    ended = true;
    notify();
  });
  req.on('error', (e) => {
    failure = e;
    notify();
  });
  const onAbort = () => {
    discarding = true;
    queue.length = 0;
    req.resume();
    notify();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<Buffer, undefined>> {
        for (;;) {
          if (signal.aborted) return { done: true, value: undefined };
          const b = queue.shift();
          if (b) return { done: false, value: b };
          if (failure) throw failure;
          if (ended) return { done: true, value: undefined };
          await new Promise<void>((r) => {
            wake = r;
            req.resume();
          });
        }
      },
      async return(): Promise<IteratorResult<Buffer, undefined>> {
        discarding = true;
        queue.length = 0;
        req.resume();
        return { done: true, value: undefined };
      },
    }),
  };
}

/** Starts listening; resolves with the bound address. */
export function listen(service: LeanAgenticService, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    service.server.once('error', onError);
    service.server.listen(port, host, () => {
      service.server.off('error', onError);
      resolve(service.server.address() as AddressInfo);
    });
  });
}

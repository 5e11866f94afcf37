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
 *
 * Files: `http.ts` (statuses, error bodies, bodies), `sessions.ts` (session order, the request
 * time limit), `events.ts` (`/events`), `ws.ts` (`/ws`), `log.ts` (the `log` option and its
 * request lines); this file wires them into one server
 * with `/process`, `/stream`, `/stats`, `/health` and a graceful shutdown.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { integerOption } from '../json_input';
import { LeanAgenticError } from '../errors';
import { processStream } from '../stream';
import type { StreamOptions } from '../stream';
import type { LeanAgenticSystem } from '../system';
import { fromByteStream } from '../transports';
import { Events } from './events';
import { codeOf, HttpError, readJson, requestChunks, sendError, sendJson, statusForCode, waitDrain } from './http';
import { logFunction, stopwatch } from './log';
import type { LogTarget } from './log';
import { MAX_TIMER_MS, Sessions } from './sessions';
import { WsEndpoint } from './ws';
import { Guard, isLoopback } from './guard';
import { Console } from './console';
import type { ConsoleOptions } from './console';

export { statusForCode } from './http';
export type { LogFunction, LogKind, LogTarget } from './log';
export type { ConsoleOptions } from './console';
export { isLoopback } from './guard';

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
  /**
   * The log (default: none). `true` writes to stderr, a function receives `(line, kind)`, a stream
   * gets each line and "\n". Lines: one per request when its response ends (`POST /process 200
   * 1.4ms`: method, path without the query, status or `aborted`, duration), SSE and WebSocket
   * connections when they open (`GET /ws open`) and close (`GET /ws 101 5012.3ms`) — kind
   * `request` —, shutdown progress (`info`) and failures the service survived (`error`).
   */
  log?: LogTarget;
  /**
   * A secret every HTTP request and WebSocket upgrade must carry (`Authorization: Bearer`, the
   * console's cookie, or `?token=`; see `guard.ts`). Required to {@link listen} on a non-loopback
   * address. Default: none (loopback only).
   */
  token?: string;
  /** Serve the live console at `/` (default true; see `console/index.ts`). */
  console?: boolean | ConsoleOptions;
}

/** What {@link LeanAgenticService.wss} offers of a `ws` WebSocketServer. */
export interface WebSocketServerLike {
  readonly clients: Set<{ terminate(): void; close(code?: number, reason?: string): void }>;
  close(callback?: (err?: Error) => void): void;
}

/** A running service (not yet listening: call `server.listen`). */
export interface LeanAgenticService {
  server: http.Server;
  /**
   * The `ws` WebSocketServer of `/ws` (declared by shape, so these declarations compile without
   * `@types/ws`): its open sockets and `close`.
   */
  wss: WebSocketServerLike;
  /**
   * Graceful shutdown: stops accepting, lets in-flight requests and WebSocket messages finish
   * (up to `shutdownTimeoutMs`), ends event streams, then `await sys.flush()` and
   * `await sys.close()` (unless `closeSystem: false`). Idempotent.
   */
  close(): Promise<void>;
  /** Whether `close()` was called. */
  readonly closing: boolean;
  /** Whether requests must carry the token. */
  readonly requiresToken: boolean;
}

/**
 * Creates the service for `sys` (see the module docs); start it with {@link listen}, which refuses
 * a non-loopback address without a token. (Listening with `service.server.listen` directly is
 * allowed, but without a token the service then answers only requests that arrive on loopback.)
 */
export function createServer(sys: LeanAgenticSystem, options: ServerOptions = {}): LeanAgenticService {
  if (options === null || typeof options !== 'object') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'createServer options must be an object');
  }
  const maxBodyBytes = integerOption('maxBodyBytes', options.maxBodyBytes, 1024 * 1024);
  const streamOptions: StreamOptions = { batchSize: 64, highWaterMark: 256, ...(options.stream ?? {}) };
  const events = new Events(
    integerOption('eventBufferSize', options.eventBufferSize, 1000),
    integerOption('maxEventLagBytes', options.maxEventLagBytes, 8 * 1024 * 1024),
    integerOption('heartbeatMs', options.heartbeatMs, 15_000, 0),
    integerOption('sseRetryMs', options.sseRetryMs, 1000, 0),
  );
  const wsHighWaterMark = integerOption('wsHighWaterMark', options.wsHighWaterMark, 64);
  const shutdownTimeoutMs = integerOption('shutdownTimeoutMs', options.shutdownTimeoutMs, 10_000, 0);
  const requestTimeoutMs = integerOption('requestTimeoutMs', options.requestTimeoutMs, 30_000);
  if (requestTimeoutMs > MAX_TIMER_MS) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `requestTimeoutMs must be at most ${MAX_TIMER_MS} (about 24.8 days), got ${requestTimeoutMs}`);
  }
  const closeSystem = options.closeSystem !== false;
  const log = logFunction(options.log);
  const sessions = new Sessions(sys, events, options.defaultSessionId ?? 'default', requestTimeoutMs);
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 16)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'token must be a string of at least 16 characters (e.g. `openssl rand -hex 16`)');
  }
  const guard = new Guard(options.token ?? null);
  const consoleOptions = options.console === undefined || options.console === true ? {} : options.console;
  const panel = consoleOptions === false ? null : new Console(sys, sessions, events, maxBodyBytes, consoleOptions);

  let closing = false;
  let closePromise: Promise<void> | null = null;
  const inflight = new Set<Promise<void>>();
  const json = (res: http.ServerResponse, status: number, body: unknown) => sendJson(res, status, body, closing);
  const fail = (res: http.ServerResponse, e: unknown) => sendError(res, e, closing);

  // ---- endpoints ------------------------------------------------------------------------------

  async function handleProcess(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readJson(req, maxBodyBytes);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'the request body must be a JSON object like {"text": "...", "sessionId": "..."}');
    }
    const { text, sessionId } = body as { text?: unknown; sessionId?: unknown };
    if (typeof text !== 'string') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', '"text" must be a string');
    }
    const r = await sessions.processOne(sessions.checkId(sessionId), text);
    json(res, 200, r);
  }

  async function handleStream(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const sessionId = sessions.checkId(url.searchParams.get('sessionId'));
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
    const inner = sessions.processor(sessionId);
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
        json(res, statusForCode(body.code), { error: body });
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
    events.serve(req, res, url, raw === null || raw === '' ? null : sessions.checkId(raw));
  }

  type Route = { methods: string[]; run: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void> | void };
  const routes: Record<string, Route> = {
    '/process': { methods: ['POST'], run: handleProcess },
    '/stream': { methods: ['POST'], run: handleStream },
    '/events': { methods: ['GET'], run: handleEvents },
    '/stats': { methods: ['GET'], run: async (_req, res) => json(res, 200, await sys.stats()) },
    '/health': { methods: ['GET'], run: (_req, res) => json(res, 200, { ok: true, closing }) },
  };

  /**
   * Runs a request's handler as in-flight work (shutdown waits for it); a failure is answered
   * with its error, and a body over the limit also closes the connection (its rest is unread).
   */
  function inFlight(res: http.ServerResponse, run: () => Promise<void> | void): void {
    const job = (async () => {
      try {
        await run();
      } catch (e) {
        if (e instanceof HttpError && e.code === 'ERR_PAYLOAD_TOO_LARGE') res.setHeader('Connection', 'close');
        fail(res, e);
      }
    })();
    inflight.add(job);
    void job.finally(() => inflight.delete(job));
  }

  /** Answers a request that arrived after `close()` began. */
  function shuttingDown(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    fail(res, new HttpError('ERR_SHUTTING_DOWN', 'the server is shutting down'));
  }

  const server = http.createServer((req, res) => {
    const elapsed = stopwatch();
    let pathname = '-';
    res.once('close', () => {
      // A response that never began: the client left (or the connection was cut) first.
      const status = res.headersSent ? String(res.statusCode) : 'aborted';
      log(`${req.method} ${pathname} ${status} ${elapsed()}`, 'request');
    });
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      fail(res, new HttpError('ERR_INVALID_INPUT', 'malformed request URL'));
      return;
    }
    pathname = url.pathname;
    const admission = guard.check(req, url);
    if (!admission.ok) {
      req.resume();
      fail(res, new HttpError(admission.code, admission.message));
      return;
    }
    if (admission.setCookie) res.setHeader('Set-Cookie', admission.setCookie);
    if (panel && (url.pathname === '/' || url.pathname.startsWith('/console/'))) {
      if (closing) {
        shuttingDown(req, res);
        return;
      }
      if (admission.tokenInQuery && req.method === 'GET' && url.pathname === '/') {
        // The console's link: the cookie now carries the token; drop it from the address bar.
        res.writeHead(303, { Location: '/', 'Cache-Control': 'no-store' });
        res.end();
        return;
      }
      inFlight(res, () => panel.handle(req, res, url));
      return;
    }
    const route = routes[url.pathname];
    if (!route) {
      req.resume();
      fail(res, new HttpError('ERR_NOT_FOUND', `no endpoint ${url.pathname}; try POST /process, POST /stream, GET /events, GET /stats or /ws`));
      return;
    }
    if (!route.methods.includes(req.method ?? '')) {
      req.resume();
      res.setHeader('Allow', route.methods.join(', '));
      fail(res, new HttpError('ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}; use ${route.methods.join(' or ')}`));
      return;
    }
    if (closing) {
      shuttingDown(req, res);
      return;
    }
    if (url.pathname === '/events') {
      // Long-lived: not an in-flight request; ended by close().
      try {
        handleEvents(req, res, url);
        if (res.headersSent && !res.writableEnded) log(`${req.method} ${pathname} open`, 'request');
      } catch (e) {
        fail(res, e);
      }
      return;
    }
    inFlight(res, () => route.run(req, res, url));
  });

  const ws = new WsEndpoint(server, {
    guard,
    maxBodyBytes,
    wsHighWaterMark,
    sessions,
    events,
    isClosing: () => closing,
    log,
  });

  // ---- shutdown -------------------------------------------------------------------------------

  async function shutdown(): Promise<void> {
    closing = true;
    log('shutting down: no new connections; finishing in-flight requests', 'info');
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    events.endAll();
    // WebSockets: answer what was received, then close.
    const wsDone = ws.closeAll();
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
      log(`shutdown: in-flight work still running after ${shutdownTimeoutMs} ms; closing connections`, 'error');
      ws.terminateAll();
    }
    server.closeAllConnections();
    await Promise.race([serverClosed, deadline]);
    clearTimeout(timer);
    await new Promise<void>((resolve) => ws.wss.close(() => resolve()));
    // Steps of every session that were already started finish before the store closes.
    await sessions.settled();
    await panel?.close();
    if (closeSystem && !sys.closed) {
      await sys.flush();
      await sys.close();
      log('store flushed and closed', 'info');
    }
  }

  return {
    server,
    wss: ws.wss,
    get closing() {
      return closing;
    },
    get requiresToken() {
      return guard.requiresToken;
    },
    close(): Promise<void> {
      if (!closePromise) closePromise = shutdown();
      return closePromise;
    },
  };
}

/**
 * Starts listening; resolves with the bound address. A non-loopback `host` needs a service
 * created with a `token` (`ERR_INVALID_CONFIG` otherwise): the console can reload policies.
 */
export function listen(service: LeanAgenticService, port: number, host: string): Promise<AddressInfo> {
  if (!isLoopback(host) && !service.requiresToken) {
    return Promise.reject(
      new LeanAgenticError(
        'ERR_INVALID_CONFIG',
        `listening on ${host} (not loopback) needs a token: createServer(sys, { token }) / serve --token (or LEAN_AGENTIC_TOKEN)`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    service.server.once('error', onError);
    service.server.listen(port, host, () => {
      service.server.off('error', onError);
      resolve(service.server.address() as AddressInfo);
    });
  });
}

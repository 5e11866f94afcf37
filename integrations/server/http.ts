/**
 * HTTP plumbing of the service: the status of every error code, error bodies, JSON responses,
 * bounded request bodies (413 past the limit), and a request body read with backpressure.
 */

import http from 'node:http';
import { LeanAgenticError, toError } from '../errors';
import type { ErrorCode } from '../errors';

/** Codes only the server raises. */
type ServerCode = 'ERR_METHOD_NOT_ALLOWED' | 'ERR_PAYLOAD_TOO_LARGE' | 'ERR_SHUTTING_DOWN' | 'ERR_UNAUTHORIZED' | 'ERR_FORBIDDEN' | 'ERR_BUSY';

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
  ERR_UNAUTHORIZED: 401,
  ERR_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_CLOSED: 409,
  ERR_BUSY: 409,
  ERR_STORE_IN_USE: 409,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_CHUNK_TOO_LARGE: 413,
  ERR_SHUTTING_DOWN: 503,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_TIMEOUT: 503,
  ERR_HANDLER_FAILED: 500,
  ERR_HANDLER_TIMEOUT: 500,
  ERR_STORE_CORRUPT: 500,
  ERR_STORE: 500,
  ERR_STREAM_NETWORK: 500,
  ERR_STREAM_HTTP: 500,
  ERR_UNSUPPORTED: 501,
  ERR_INTERNAL: 500,
};

/** HTTP status for an error code (500 for a code this server does not know). */
export function statusForCode(code: string): number {
  return Object.prototype.hasOwnProperty.call(STATUS, code) ? STATUS[code as keyof typeof STATUS] : 500;
}

export interface ErrorBody {
  code: string;
  message: string;
  line?: number;
}

export function errorBody(e: unknown): ErrorBody {
  const err = e instanceof LeanAgenticError ? e : toError(e);
  const body: ErrorBody = { code: err.code, message: err.message };
  const line = (err as { line?: unknown }).line;
  if (typeof line === 'number') body.line = line;
  return body;
}

export class HttpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function codeOf(e: unknown): ErrorBody {
  if (e instanceof HttpError) return { code: e.code, message: e.message };
  return errorBody(e);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Sends `body` as JSON with `status` (nothing when the response is already under way). */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, closing: boolean): void {
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

/** Sends `e` as `{"error": {...}}` with the status of its code. */
export function sendError(res: http.ServerResponse, e: unknown, closing: boolean): void {
  const body = codeOf(e);
  sendJson(res, statusForCode(body.code), { error: body }, closing);
}

/** Reads a bounded body; an oversize one is drained (up to a limit) and rejected with 413. */
export function readBody(req: http.IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
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

/** The request body as JSON (`ERR_INVALID_JSON` when it is not). */
export async function readJson(req: http.IncomingMessage, maxBodyBytes: number): Promise<unknown> {
  const raw = (await readBody(req, maxBodyBytes)).toString('utf8');
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new HttpError('ERR_INVALID_JSON', `the request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** Resolves when `res` drains (or closes). */
export function waitDrain(res: http.ServerResponse): Promise<void> {
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

/**
 * The body of `req` as an async iterable of chunks, pulled with pause/resume (so TCP flow control
 * slows the client down). When `signal` aborts, the iteration ends and the rest of the body is
 * read and discarded, leaving the request able to receive a response.
 */
export function requestChunks(req: http.IncomingMessage, signal: AbortSignal): AsyncIterable<Buffer> {
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


/**
 * The service's log: where its lines go (`createServer({ log })`) and the request lines.
 *
 * Request lines are greppable, space-separated and free of user text beyond the path:
 * `POST /process 200 1.4ms` when a response ends (method, path without the query string — it
 * carries session ids —, status or `aborted` when the client left before a response began,
 * duration), and for long-lived connections `GET /events open` / `GET /ws open` when they open,
 * then `GET /events 200 5012.3ms` / `GET /ws 101 5012.3ms` when they close. No timestamp: the
 * collector of stderr (journald, Docker, a function of yours) adds one.
 */

import { performance } from 'node:perf_hooks';
import { LeanAgenticError } from '../errors';

/**
 * What a log line is: `request` (one per request, and SSE / WebSocket open and close), `info`
 * (shutdown progress), `error` (a failure the service survived).
 */
export type LogKind = 'request' | 'info' | 'error';

/** A function receiving each log line (no newline) and its kind. */
export type LogFunction = (line: string, kind: LogKind) => void;

/** Where log lines go: `true` for stderr, a function, or a stream (each line and "\n" is written). */
export type LogTarget = boolean | LogFunction | { write(chunk: string): unknown };

/**
 * The log function of `target` (a no-op for none); a coded error for anything else. A log that
 * throws, or a stream that was destroyed or ended, loses the line but never the service.
 */
export function logFunction(target: unknown): LogFunction {
  if (target === undefined || target === false) return () => {};
  if (target === true) return guarded((line) => void process.stderr.write(`${line}\n`));
  if (typeof target === 'function') return guarded(target as LogFunction);
  if (target !== null && typeof target === 'object' && typeof (target as { write?: unknown }).write === 'function') {
    const stream = target as { write(chunk: string): unknown; destroyed?: boolean; writableEnded?: boolean };
    return guarded((line) => {
      if (stream.destroyed !== true && stream.writableEnded !== true) stream.write(`${line}\n`);
    });
  }
  throw new LeanAgenticError(
    'ERR_INVALID_INPUT',
    'log must be true (stderr), a function (line, kind) => void or a writable stream (an object with write(text))',
  );
}

function guarded(fn: LogFunction): LogFunction {
  return (line, kind) => {
    try {
      fn(line, kind);
    } catch {
      // The line is lost; the request it describes is not.
    }
  };
}

/** A stopwatch for a request: its duration as `1.4ms`. */
export function stopwatch(): () => string {
  const t0 = performance.now();
  return () => `${(performance.now() - t0).toFixed(1)}ms`;
}

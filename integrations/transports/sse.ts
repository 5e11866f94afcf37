/**
 * Server-Sent Events as a stream source: `data` of each event, reconnecting with
 * `Last-Event-ID` and the server's `retry:` after a dropped connection.
 */

import { createParser } from 'eventsource-parser';
import { integerOption } from '../json_input';
import { LeanAgenticError } from '../errors';
import { PullSource, discard, readBody, sleep, transportError, describe, type FetchLike, type Producer, type SSESource, type SourceStats } from './source';

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

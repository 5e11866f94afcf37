/**
 * Lines of a byte stream (a chunked HTTP response, a request, stdin, a file) as text or NDJSON.
 */

import { integerOption } from '../json_input';
import { LeanAgenticError } from '../errors';
import { PullSource, discard, readBody, transportError, describe, type FetchLike, type Producer, type SourceStats, type StreamSource } from './source';

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

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

export { transportError } from './source';
export type { TransportErrorCode, TransportError, SourceStats, StreamSource, SSESource } from './source';
export { fromWebSocket } from './websocket';
export type { WebSocketLike } from './websocket';
export type { WebSocketSourceOptions } from './websocket';
export { fromSSE } from './sse';
export type { SSESourceOptions } from './sse';
export { fromByteStream, fromHttpStream } from './lines';
export type { LineStreamOptions, HttpStreamOptions } from './lines';

// Streaming transports: WebSocket, SSE and chunked HTTP sources feeding sys.processStream, against
// local servers on 127.0.0.1 (port 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import { lib, openMemory, rejectsWithCode } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { WebSocketServer } = require('ws');
const { fromWebSocket, fromSSE, fromHttpStream, fromByteStream } = lib;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An in-memory system with one built-in action (no handler: steps never leave native code). */
async function openSystem() {
  const sys = await openMemory();
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['msg', 'note', 'line'] });
  return sys;
}

async function collect(iterable) {
  const out = [];
  for await (const v of iterable) out.push(v);
  return out;
}

/** Starts an http server on 127.0.0.1:0; returns it with its base URL and a closer. */
async function httpServer(handler) {
  const sockets = new Set();
  const server = http.createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    server,
    port,
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function wsServer(onConnection) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', onConnection);
  return {
    wss,
    url: `ws://127.0.0.1:${wss.address().port}`,
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

/** A port with nothing listening on it. */
async function closedPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// ---------------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------------

test('fromWebSocket: every message, in order, through processStream; ends on a normal close', async () => {
  const N = 500;
  const srv = await wsServer((ws) => {
    for (let i = 0; i < N; i++) ws.send(`msg ${i}`);
    ws.close(1000, 'done');
  });
  const sys = await openSystem();
  const ctx = sys.createContext('ws-1');
  const source = fromWebSocket(srv.url);
  const results = await collect(sys.processStream(source, ctx, { batchSize: 32, highWaterMark: 64 }));
  assert.equal(results.length, N);
  results.forEach((r, i) => {
    assert.equal(r.action.parameters.text, `msg ${i}`);
    assert.equal(r.sessionId, 'ws-1');
  });
  assert.equal(source.stats.received, N);
  assert.equal(source.bufferedCount, 0);
  await sys.close();
  await srv.close();
});

test('fromWebSocket backpressure: 20,000 fast messages, slow consumer, bounded buffer, all in order', async (t) => {
  const N = 20_000;
  const HWM = 200;
  const pad = 'x'.repeat(1000); // 20 MB in all: more than the kernel's socket buffers hold
  let producerHeldBack = 0;
  const srv = await wsServer((ws) => {
    let i = 0;
    // Send as fast as the socket takes it; note when the kernel buffers are full (the client paused).
    const pump = () => {
      while (i < N) {
        ws.send(`${i} ${pad}`);
        i++;
        if (ws.bufferedAmount > 256 * 1024) {
          producerHeldBack++;
          setTimeout(pump, 1);
          return;
        }
      }
      ws.close(1000);
    };
    pump();
  });
  const source = fromWebSocket(srv.url, { highWaterMark: HWM });
  let next = 0;
  let maxSeen = 0;
  for await (const m of source) {
    assert.equal(m, `${next} ${pad}`, 'in order, none lost');
    next++;
    maxSeen = Math.max(maxSeen, source.bufferedCount);
    if (next % 1000 === 0) await sleep(20); // a slow consumer
    else await new Promise((r) => setImmediate(r));
  }
  assert.equal(next, N);
  const stats = source.stats;
  t.diagnostic(`buffer peak ${stats.maxBuffered} (highWaterMark ${HWM}), ${stats.pauses} pauses, producer held back ${producerHeldBack} times`);
  assert.ok(stats.pauses > 0, 'the socket was paused');
  // A pause stops reading the socket; frames already read (one socket read, ≤ 64 KiB, plus the
  // receiver's 16 KiB buffer) are still delivered: ≈ 80 KiB / ~1 KiB frames ≈ 80 messages.
  const slack = Math.ceil((80 * 1024) / (pad.length + 4));
  assert.ok(stats.maxBuffered <= HWM + slack, `buffer peaked at ${stats.maxBuffered} > ${HWM} + ${slack}`);
  assert.ok(maxSeen <= stats.maxBuffered);
  assert.ok(stats.maxBuffered < N / 10, 'far from buffering the whole stream');
  assert.ok(producerHeldBack > 0, 'backpressure reached the producer');
  await srv.close();
});

test('fromWebSocket: return() closes the socket with 1000', async () => {
  let serverClose;
  const closed = new Promise((r) => (serverClose = r));
  const srv = await wsServer((ws) => {
    for (let i = 0; i < 100; i++) ws.send(`m${i}`);
    ws.on('close', (code) => serverClose(code));
  });
  const source = fromWebSocket(srv.url);
  const got = [];
  for await (const m of source) {
    got.push(m);
    if (got.length === 10) break;
  }
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `m${i}`));
  assert.equal(await closed, 1000);
  assert.deepEqual(await source.next(), { done: true, value: undefined });
  await srv.close();
});

test('fromWebSocket: an abnormal close rejects with ERR_STREAM_NETWORK after the messages received', async () => {
  const srv = await wsServer((ws, req) => {
    for (let i = 0; i < 5; i++) ws.send(`m${i}`);
    if (req.url === '/terminate') setTimeout(() => ws.terminate(), 20);
    else ws.close(1011, 'internal error');
  });
  for (const path of ['/terminate', '/error']) {
    const source = fromWebSocket(srv.url + path);
    const got = [];
    await rejectsWithCode(async () => {
      for await (const m of source) got.push(m);
    }, 'ERR_STREAM_NETWORK');
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4'], path);
  }
  await srv.close();
});

test('fromWebSocket: connection refused → ERR_STREAM_NETWORK; HTTP answer → ERR_STREAM_HTTP', async () => {
  const port = await closedPort();
  await rejectsWithCode(() => collect(fromWebSocket(`ws://127.0.0.1:${port}`)), 'ERR_STREAM_NETWORK');
  const h = await httpServer((req, res) => {
    res.writeHead(403);
    res.end('no');
  });
  const err = await collect(fromWebSocket(`ws://127.0.0.1:${h.port}`)).catch((e) => e);
  assert.equal(err.code, 'ERR_STREAM_HTTP');
  assert.equal(err.status, 403);
  await h.close();
  await rejectsWithCode(() => fromWebSocket('ws://127.0.0.1:1', { highWaterMark: 0 }), 'ERR_INVALID_INPUT');
});

// ---------------------------------------------------------------------------------------------
// Server-Sent Events
// ---------------------------------------------------------------------------------------------

/** An SSE endpoint serving events 1..total with ids, resuming after Last-Event-ID. */
function sseHandler({ total, dropEvery = 0, log = [] }) {
  return (req, res) => {
    const last = Number(req.headers['last-event-id'] ?? 0);
    log.push(req.headers['last-event-id'] ?? null);
    if (last >= total) {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write('retry: 5\n\n: a comment\n\n');
    let sent = 0;
    for (let id = last + 1; id <= total; id++) {
      if (dropEvery > 0 && sent === dropEvery) {
        // Drop mid-event: a partial event must be neither yielded nor counted.
        res.write(`id: ${id}\ndata: partial`);
        setTimeout(() => res.socket.destroy(), 5);
        return;
      }
      if (id % 10 === 0) res.write(`id: ${id}\nevent: tick\ndata: line ${id}\n\n`);
      else res.write(`id: ${id}\ndata: line ${id}\n\n`);
      sent++;
    }
    res.end();
  };
}

test('fromSSE: every event, in order, through processStream (named events too; 204 ends)', async () => {
  const log = [];
  const h = await httpServer(sseHandler({ total: 120, log }));
  const sys = await openSystem();
  const source = fromSSE(`${h.base}/events`);
  const results = await collect(sys.processStream(source, sys.createContext('sse'), { batchSize: 16 }));
  assert.deepEqual(
    results.map((r) => r.action.parameters.text),
    Array.from({ length: 120 }, (_, i) => `line ${i + 1}`),
  );
  assert.equal(source.lastEventId, '120');
  assert.deepEqual(log, [null, '120'], 'reconnected once with Last-Event-ID, then 204');
  // A filter on event names.
  const ticks = await collect(fromSSE(`${h.base}/events`, { events: ['tick'] }));
  assert.deepEqual(ticks, Array.from({ length: 12 }, (_, i) => `line ${(i + 1) * 10}`));
  const plain = await collect(fromSSE(`${h.base}/events`, { events: ['message'], endOnClose: true }));
  assert.equal(plain.length, 108);
  await sys.close();
  await h.close();
});

test('fromSSE: reconnects after dropped connections with Last-Event-ID, no loss, no duplicates', async () => {
  const log = [];
  const h = await httpServer(sseHandler({ total: 50, dropEvery: 7, log }));
  const source = fromSSE(`${h.base}/events`, { maxRetries: 2, retryMs: 5 });
  const got = await collect(source);
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `line ${i + 1}`));
  assert.deepEqual(log, [null, '7', '14', '21', '28', '35', '42', '49', '50']);
  assert.equal(source.stats.reconnects, 8);
  await h.close();
});

test('fromSSE: gives up after maxRetries consecutive failures with ERR_STREAM_NETWORK', async () => {
  let attempts = 0;
  const h = await httpServer((req, res) => {
    attempts++;
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.flushHeaders();
    setTimeout(() => res.socket.destroy(), 5);
  });
  await rejectsWithCode(() => collect(fromSSE(h.base, { maxRetries: 3, retryMs: 1 })), 'ERR_STREAM_NETWORK');
  assert.equal(attempts, 4, 'the first attempt and 3 retries');
  await h.close();
  const port = await closedPort();
  await rejectsWithCode(() => collect(fromSSE(`http://127.0.0.1:${port}/`, { maxRetries: 1, retryMs: 1 })), 'ERR_STREAM_NETWORK');
});

test('fromSSE: non-2xx or a wrong content type → ERR_STREAM_HTTP with the status', async () => {
  const h = await httpServer((req, res) => {
    if (req.url === '/down') {
      res.writeHead(503, { 'Content-Type': 'text/plain' });
      res.end('busy');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    }
  });
  let err = await collect(fromSSE(`${h.base}/down`)).catch((e) => e);
  assert.equal(err.code, 'ERR_STREAM_HTTP');
  assert.equal(err.status, 503);
  err = await collect(fromSSE(`${h.base}/json`)).catch((e) => e);
  assert.equal(err.code, 'ERR_STREAM_HTTP');
  assert.equal(err.status, 200);
  assert.match(err.message, /text\/event-stream/);
  await h.close();
});

test('fromSSE: return() aborts the request; lastEventId option resumes', async () => {
  let requestClosed;
  const closed = new Promise((r) => (requestClosed = r));
  let seenLast = null;
  const h = await httpServer((req, res) => {
    seenLast = req.headers['last-event-id'] ?? null;
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('id: 8\ndata: first\n\n');
    res.on('close', () => requestClosed());
    // ...and keeps the stream open.
  });
  const source = fromSSE(h.base, { lastEventId: '7' });
  const first = await source.next();
  assert.deepEqual(first, { done: false, value: 'first' });
  const pending = source.next(); // waits for an event that never comes
  await source.return();
  assert.deepEqual(await pending, { done: true, value: undefined });
  await closed;
  assert.equal(seenLast, '7');
  await h.close();
});

// ---------------------------------------------------------------------------------------------
// Chunked HTTP (NDJSON / lines)
// ---------------------------------------------------------------------------------------------

/** Serves `body` as chunks cut at the given byte offsets (splitting UTF-8 sequences). */
function chunkedHandler(body, { every = 7, status = 200 } = {}) {
  return async (req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/x-ndjson' });
    const bytes = Buffer.from(body, 'utf8');
    for (let i = 0; i < bytes.length; i += every) {
      res.write(bytes.subarray(i, i + every));
      if ((i / every) % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    res.end();
  };
}

test('fromHttpStream ndjson: strings and objects, UTF-8 split across chunks, CRLF, last line without newline', async () => {
  const texts = Array.from({ length: 300 }, (_, i) => `line ${i} héllo wörld 🚀 日本語 ${i}`);
  // Strings and objects, LF and CRLF endings, a blank first line, no newline after the last line.
  const lines = texts.map((t, i) => (i % 2 === 0 ? JSON.stringify(t) : JSON.stringify({ text: t, n: i })));
  const ndjson = lines.map((l, i) => l + (i === lines.length - 1 ? '' : i % 3 === 0 ? '\r\n' : '\n')).join('');
  const h = await httpServer(chunkedHandler('\n' + ndjson, { every: 5 }));
  const sys = await openSystem();
  const results = await collect(sys.processStream(fromHttpStream(h.base, { format: 'ndjson' }), sys.createContext('h'), { batchSize: 50 }));
  assert.deepEqual(
    results.map((r) => r.action.parameters.text),
    texts,
  );
  await sys.close();
  await h.close();
});

test('fromHttpStream: field option, lines format, keepEmpty', async () => {
  const h = await httpServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    if (req.url === '/ndjson') res.end('{"msg":"a"}\n{"msg":"b"}\n');
    else res.end('first\n\nsecond\r\nthird');
  });
  assert.deepEqual(await collect(fromHttpStream(`${h.base}/ndjson`, { format: 'ndjson', field: 'msg' })), ['a', 'b']);
  assert.deepEqual(await collect(fromHttpStream(`${h.base}/text`, { format: 'lines' })), ['first', 'second', 'third']);
  assert.deepEqual(await collect(fromHttpStream(`${h.base}/text`, { format: 'lines', keepEmpty: true })), [
    'first',
    '',
    'second',
    'third',
  ]);
  await h.close();
});

test('fromHttpStream: a malformed line → ERR_STREAM_PARSE with its line number; HTTP and network errors', async () => {
  const h = await httpServer((req, res) => {
    if (req.url === '/bad') {
      res.writeHead(200);
      res.end('"one"\n{"text":"two"}\n{"text": oops}\n"four"\n');
    } else if (req.url === '/shape') {
      res.writeHead(200);
      res.end('"one"\n[1,2]\n');
    } else {
      res.writeHead(500);
      res.end('boom');
    }
  });
  const got = [];
  const err = await (async () => {
    for await (const v of fromHttpStream(`${h.base}/bad`)) got.push(v);
  })().catch((e) => e);
  assert.deepEqual(got, ['one', 'two']);
  assert.equal(err.code, 'ERR_STREAM_PARSE');
  assert.equal(err.line, 3);
  assert.match(err.message, /line 3/);
  const shape = await collect(fromHttpStream(`${h.base}/shape`)).catch((e) => e);
  assert.equal(shape.code, 'ERR_STREAM_PARSE');
  assert.equal(shape.line, 2);
  const http500 = await collect(fromHttpStream(`${h.base}/fail`)).catch((e) => e);
  assert.equal(http500.code, 'ERR_STREAM_HTTP');
  assert.equal(http500.status, 500);
  await h.close();
  const port = await closedPort();
  await rejectsWithCode(() => collect(fromHttpStream(`http://127.0.0.1:${port}/`)), 'ERR_STREAM_NETWORK');
});

test('fromHttpStream: a dropped body → ERR_STREAM_NETWORK; return() aborts the request', async () => {
  let closedResolve;
  const closed = new Promise((r) => (closedResolve = r));
  const h = await httpServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.write('"a"\n"b"\n');
    if (req.url === '/drop') setTimeout(() => res.socket.destroy(), 10);
    else res.on('close', () => closedResolve());
  });
  const got = [];
  await rejectsWithCode(async () => {
    for await (const v of fromHttpStream(`${h.base}/drop`)) got.push(v);
  }, 'ERR_STREAM_NETWORK');
  assert.deepEqual(got, ['a', 'b']);
  const source = fromHttpStream(`${h.base}/open`);
  for await (const v of source) if (v === 'b') break;
  await closed;
  await h.close();
});

test('fromByteStream: lines of any byte iterable, multi-byte characters split', async () => {
  const bytes = Buffer.from('"é1"\n"🚀2"\n{"text":"日本3"}', 'utf8');
  async function* pieces() {
    for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
  }
  assert.deepEqual(await collect(fromByteStream(pieces())), ['é1', '🚀2', '日本3']);
  const long = fromByteStream(
    (async function* () {
      yield 'short\n';
      yield 'x'.repeat(100);
    })(),
    { format: 'lines', maxLineLength: 50 },
  );
  const err = await collect(long).catch((e) => e);
  assert.equal(err.code, 'ERR_STREAM_PARSE');
  assert.equal(err.line, 2);
});

test('fromSSE: an oversize event → ERR_STREAM_PARSE (bounded memory)', async () => {
  const h = await httpServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('data: ok\n\n');
    res.end('data: ' + 'x'.repeat(5000));
  });
  const got = [];
  const err = await (async () => {
    for await (const v of fromSSE(h.base, { maxEventSize: 1000, maxRetries: 0 })) got.push(v);
  })().catch((e) => e);
  assert.deepEqual(got, ['ok']);
  assert.equal(err.code, 'ERR_STREAM_PARSE');
  await h.close();
});

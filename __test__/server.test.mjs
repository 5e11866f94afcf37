// The HTTP / SSE / WebSocket service (`lean-agentic serve`), in-process on 127.0.0.1:0, plus the
// `serve` command end to end (SIGTERM shuts it down gracefully).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { lib, LeanAgenticSystem, openMemory } from './helpers.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const { createServer, fromSSE, fromWebSocket } = lib;
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function registerActions(sys, { slowMs = 0 } = {}) {
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note', 'line', 'msg'] });
  sys.registerAction({
    name: 'lookup',
    description: 'Look something up',
    keywords: ['lookup', 'weather'],
    handler: async (action) => {
      if (slowMs) await sleep(slowMs);
      return { success: true, result: { looked: action.parameters.text } };
    },
  });
}

/** A service on 127.0.0.1:0 around `sys` (an in-memory one by default). */
async function start(t, { sys, options = {}, slowMs } = {}) {
  sys = sys ?? (await openMemory());
  if (sys.actions().length === 0) registerActions(sys, { slowMs });
  const service = createServer(sys, { heartbeatMs: 0, ...options });
  t.after(() => service.close()); // idempotent: also when an assertion failed midway
  await new Promise((r) => service.server.listen(0, '127.0.0.1', r));
  const { port } = service.server.address();
  return { sys, service, port, base: `http://127.0.0.1:${port}` };
}

/** A request with a string/Buffer body; resolves with status, headers and the parsed JSON body. */
function request(base, method, pathname, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${pathname}`, { method, headers, agent: false }, (res) => {
      const parts = [];
      res.on('data', (b) => parts.push(b));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const post = (base, pathname, value) => request(base, 'POST', pathname, JSON.stringify(value), { 'Content-Type': 'application/json' });

test('POST /process runs one step; sessions are created on first use', async (t) => {
  const { sys, service, base } = await start(t);
  const r = await post(base, '/process', { text: 'What is the weather in Tokyo?', sessionId: 'alice' });
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /application\/json/);
  assert.equal(r.json.sessionId, 'alice');
  assert.equal(r.json.action.actionType, 'lookup');
  assert.deepEqual(r.json.observation.result, { looked: 'What is the weather in Tokyo?' });
  const again = await post(base, '/process', { text: 'note this', sessionId: 'alice' });
  assert.equal(again.status, 200);
  assert.equal(sys.history('alice').length, 2, 'same session, history kept');
  const dflt = await post(base, '/process', { text: 'note that' });
  assert.equal(dflt.json.sessionId, 'default');
  // A session ended by the application is created again on its next use.
  sys.endSession('alice');
  const revived = await post(base, '/process', { text: 'note again', sessionId: 'alice' });
  assert.equal(revived.status, 200);
  assert.equal(revived.json.sessionId, 'alice');
  await service.close();
  assert.equal(sys.closed, true, 'close() closes the system it serves');
});

test('errors: 400 bad JSON, 400 bad input, 413 oversize, 404, 405, engine codes', async (t) => {
  const { service, base } = await start(t, { options: { maxBodyBytes: 1024 } });
  let r = await request(base, 'POST', '/process', '{"text": "unterminated');
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'ERR_INVALID_JSON');
  assert.ok(r.json.error.message.length > 10);
  r = await post(base, '/process', { txt: 'no text' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'ERR_INVALID_INPUT');
  r = await post(base, '/process', { text: '' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'ERR_EMPTY_CHUNK');
  r = await post(base, '/process', { text: 'x'.repeat(5000) });
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, 'ERR_PAYLOAD_TOO_LARGE');
  // Without Content-Length (chunked), the limit holds too.
  r = await new Promise((resolve, reject) => {
    const req = http.request(`${base}/process`, { method: 'POST', agent: false }, (res) => {
      const parts = [];
      res.on('data', (b) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(parts).toString()) }));
    });
    req.on('error', reject);
    for (let i = 0; i < 10; i++) req.write('x'.repeat(300));
    req.end();
  });
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, 'ERR_PAYLOAD_TOO_LARGE');
  r = await request(base, 'GET', '/nowhere');
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'ERR_NOT_FOUND');
  r = await request(base, 'GET', '/process');
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'POST');
  // The service still works after all that.
  r = await post(base, '/process', { text: 'note ok' });
  assert.equal(r.status, 200);
  await service.close();
  r = await post(base, '/process', { text: 'note late' }).catch((e) => e);
  assert.ok(r instanceof Error, 'no longer listening');
});

/** POSTs NDJSON lines to /stream while reading the NDJSON answer (both directions stream). */
function postStream(base, lines, { sessionId = 'stream', pieceLines = 37, readDelayMs = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}/stream?sessionId=${encodeURIComponent(sessionId)}`,
      { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, agent: false },
      (res) => {
        const out = [];
        let carry = '';
        res.setEncoding('utf8');
        res.on('data', async (s) => {
          carry += s;
          const parts = carry.split('\n');
          carry = parts.pop();
          for (const p of parts) if (p) out.push(JSON.parse(p));
          if (readDelayMs) {
            res.pause();
            await sleep(readDelayMs);
            res.resume();
          }
        });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, lines: out }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    let i = 0;
    const writeMore = () => {
      while (i < lines.length) {
        const piece = lines.slice(i, i + pieceLines).join('\n') + (i + pieceLines >= lines.length ? '' : '\n');
        i += pieceLines;
        if (!req.write(piece)) return req.once('drain', writeMore);
      }
      req.end();
    };
    writeMore();
  });
}

test('POST /stream: 1,000 NDJSON lines in, 1,000 results out, in order', async (t) => {
  const { sys, service, base } = await start(t);
  const texts = Array.from({ length: 1000 }, (_, i) => (i % 100 === 7 ? `lookup item ${i}` : `note line ${i} — é 🚀`));
  const lines = texts.map((t, i) => (i % 2 === 0 ? JSON.stringify({ text: t }) : JSON.stringify(t)));
  const r = await postStream(base, lines, { readDelayMs: 1 });
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /application\/x-ndjson/);
  assert.equal(r.lines.length, 1000);
  r.lines.forEach((res, i) => {
    assert.equal(res.action.parameters.text, texts[i]);
    assert.equal(res.sessionId, 'stream');
  });
  assert.equal(r.lines.filter((x) => x.action.actionType === 'lookup').length, 10);
  assert.equal((await sys.stats()).totalActions, 1000);
  await service.close();
});

test('POST /stream: a client that stops reading stops the server reading its body', { timeout: 60_000 }, async (t) => {
  const { sys, base } = await start(t, { options: { stream: { batchSize: 64, highWaterMark: 256 } } });
  const N = 10_000;
  const pad = 'note '.repeat(400); // ~2 KB per line, ~3 KB per result: 20 MB in, 30 MB out
  let resStream = null;
  let written = 0;
  let outstanding = null;
  const done = new Promise((resolve, reject) => {
    const req = http.request(`${base}/stream?sessionId=bp`, { method: 'POST', agent: false }, (res) => {
      res.pause(); // a client that does not read (yet)
      resStream = res;
      const out = [];
      let carry = '';
      res.setEncoding('utf8');
      res.on('data', (s) => {
        carry += s;
        const parts = carry.split('\n');
        carry = parts.pop();
        for (const p of parts) if (p) out.push(JSON.parse(p).action.parameters.text);
      });
      res.on('end', () => resolve(out));
    });
    req.on('error', reject);
    const writeMore = () => {
      while (written < N) {
        const ok = req.write(JSON.stringify(`${written} ${pad}`) + '\n');
        written++;
        if (!ok) {
          outstanding = Date.now();
          return req.once('drain', () => {
            outstanding = null;
            writeMore();
          });
        }
      }
      req.end();
    };
    writeMore();
  });
  // Wait until the client's writes have been blocked for a while.
  for (let i = 0; i < 400 && !(outstanding !== null && Date.now() - outstanding > 500 && resStream); i++) await sleep(25);
  assert.ok(resStream, 'the response started');
  assert.ok(outstanding !== null, 'the client could not write everything: the server stopped reading');
  const processed = (await sys.stats()).totalActions;
  t.diagnostic(`while the client did not read: ${written} lines written, ${processed} processed of ${N}`);
  assert.ok(processed < N / 2, `processing was held back (${processed} of ${N})`);
  resStream.resume();
  const texts = await done;
  assert.equal(texts.length, N);
  texts.forEach((x, i) => assert.equal(x, `${i} ${pad}`));
});

test('POST /stream: a bad line ends the stream with an error line (results before it are kept)', async (t) => {
  const { service, base } = await start(t);
  let r = await postStream(base, ['"note one"', '{"text":"note two"}', '{oops', '"note four"']);
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.lines.slice(0, 2).map((x) => x.action.parameters.text),
    ['note one', 'note two'],
  );
  assert.deepEqual(r.lines.at(-1).error.code, 'ERR_INVALID_JSON');
  assert.equal(r.lines.at(-1).error.line, 3);
  // Failing before any result: a plain 400.
  r = await request(base, 'POST', '/stream', '[1,2]\n');
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'ERR_INVALID_INPUT');
  r = await request(base, 'POST', '/stream', '""\n');
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'ERR_EMPTY_CHUNK');
  await service.close();
});

test('GET /events: results of a session as SSE; Last-Event-ID replays from the ring buffer', async (t) => {
  const { service, base } = await start(t, { options: { eventBufferSize: 100 } });
  for (let i = 1; i <= 5; i++) assert.equal((await post(base, '/process', { text: `note ${i}`, sessionId: 's1' })).status, 200);
  await post(base, '/process', { text: 'note other', sessionId: 's2' });
  // Resume after the second event of the server: replays 3..5 of s1 (event 6 is s2's), then live.
  const source = fromSSE(`${base}/events?sessionId=s1`, { lastEventId: '2', maxRetries: 0 });
  t.after(() => source.close());
  const got = [];
  for (let i = 0; i < 3; i++) got.push(JSON.parse((await source.next()).value));
  assert.deepEqual(
    got.map((r) => r.action.parameters.text),
    ['note 3', 'note 4', 'note 5'],
  );
  assert.equal(source.lastEventId, '5');
  // Live: /process, /stream and /ws results of s1 all arrive, in order, with increasing ids.
  await post(base, '/process', { text: 'note live', sessionId: 's2' });
  await post(base, '/process', { text: 'note live 1', sessionId: 's1' });
  await postStream(base, ['"note live 2"', '"note live 3"'], { sessionId: 's1' });
  const live = [];
  for (let i = 0; i < 3; i++) live.push(JSON.parse((await source.next()).value));
  assert.deepEqual(
    live.map((r) => [r.sessionId, r.action.parameters.text]),
    [
      ['s1', 'note live 1'],
      ['s1', 'note live 2'],
      ['s1', 'note live 3'],
    ],
  );
  assert.equal(source.lastEventId, '10');
  await source.close();
  // Header form, all sessions: everything after event 7.
  const all = fromSSE(`${base}/events`, { lastEventId: '7', maxRetries: 0 });
  t.after(() => all.close());
  const ids = [];
  for (let i = 0; i < 3; i++) {
    await all.next();
    ids.push(all.lastEventId);
  }
  assert.deepEqual(ids, ['8', '9', '10']);
  await all.close();
  await service.close();
});

test('/ws: each message processed, results in order, errors as {"error": ...}', async (t) => {
  const { service, base, port } = await start(t);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?sessionId=w1`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const replies = fromWebSocket(ws);
  t.after(() => replies.close());
  const N = 200;
  for (let i = 0; i < N; i++) ws.send(i === 50 ? '' : i === 60 ? JSON.stringify({ text: 'note json', sessionId: 'w2' }) : `msg ${i}`);
  for (let i = 0; i < N; i++) {
    const { value } = await replies.next();
    const r = JSON.parse(value);
    if (i === 50) {
      assert.equal(r.error.code, 'ERR_EMPTY_CHUNK');
      assert.ok(r.error.message.length > 10);
    } else if (i === 60) {
      assert.equal(r.sessionId, 'w2');
      assert.equal(r.action.parameters.text, 'note json');
    } else {
      assert.equal(r.sessionId, 'w1');
      assert.equal(r.action.parameters.text, `msg ${i}`);
    }
  }
  await replies.close();
  // Only /ws upgrades.
  const bad = new WebSocket(`ws://127.0.0.1:${port}/other`);
  const err = await new Promise((r) => bad.once('error', r));
  assert.match(err.message, /404/);
  const stats = await request(base, 'GET', '/stats');
  assert.equal(stats.status, 200);
  assert.equal(stats.json.totalActions, N - 1);
  assert.equal(stats.json.sessions, 2);
  await service.close();
});

test('close(): finishes in-flight requests, then flushes and closes the store (journal survives)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-serve-'));
  const file = path.join(dir, 'store.db');
  try {
    const sys = await LeanAgenticSystem.open({ path: file, seed: 3 });
    registerActions(sys, { slowMs: 300 });
    const { service, base, port } = await start(t, { sys });
    for (let i = 0; i < 20; i++) assert.equal((await post(base, '/process', { text: `note ${i}` })).status, 200);
    const streamed = await postStream(base, Array.from({ length: 30 }, (_, i) => JSON.stringify(`note s${i}`)));
    assert.equal(streamed.lines.length, 30);
    // An event stream and a WebSocket are open; a slow request is in flight.
    const events = fromSSE(`${base}/events`, { maxRetries: 0, endOnClose: true });
    const eventsDone = (async () => {
      for await (const _ of events);
    })();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise((r) => ws.once('open', r));
    const wsClosed = new Promise((r) => ws.once('close', (code) => r(code)));
    const slow = post(base, '/process', { text: 'lookup the weather' });
    await sleep(50);
    const closing = service.close();
    const late = await post(base, '/process', { text: 'note too late' }).catch((e) => e);
    assert.ok(late instanceof Error || late.status === 503, 'new requests are refused');
    const r = await slow;
    assert.equal(r.status, 200, 'the in-flight request finished');
    assert.equal(r.json.action.actionType, 'lookup');
    await closing;
    assert.equal(sys.closed, true);
    assert.equal(await wsClosed, 1001);
    await eventsDone;
    const reopened = await LeanAgenticSystem.open({ path: file });
    assert.equal(reopened.journalCount(), 51);
    await reopened.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('lean-agentic serve: listens, serves, and exits 0 on SIGTERM after flushing the store', { timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-cli-'));
  const file = path.join(dir, 'store.db');
  try {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'lean-agentic.js'), 'serve', '--port', '0', '--path', file, '--seed', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.exitCode === null && child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const port = await new Promise((resolve, reject) => {
      child.stdout.on('data', (b) => {
        stdout += b;
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
      exited.then(() => reject(new Error(`serve exited early: ${stderr}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const texts = ['Hello there!', 'What is the capital of France?', 'note buy milk', 'show my notes', 'zzz'];
    for (const text of texts) {
      const r = await post(base, '/process', { text, sessionId: 'cli' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.observation.success !== undefined, true);
    }
    const first = await post(base, '/process', { text: 'Hello again', sessionId: 'cli2' });
    assert.equal(first.json.action.actionType, 'greet');
    const health = await request(base, 'GET', '/health');
    assert.deepEqual(health.json, { ok: true, closing: false });
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /store flushed and closed/);
    const reopened = await LeanAgenticSystem.open({ path: file });
    assert.equal(reopened.journalCount(), texts.length + 1);
    await reopened.close();
    // Usage errors are reported with a code.
    const bad = spawn(process.execPath, [path.join(ROOT, 'bin', 'lean-agentic.js'), 'serve', '--port', 'abc'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let badErr = '';
    bad.stderr.on('data', (b) => (badErr += b));
    const badExit = await new Promise((r) => bad.once('exit', (c) => r(c)));
    assert.notEqual(badExit, 0);
    assert.match(badErr, /ERR_INVALID_INPUT: --port takes an integer/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

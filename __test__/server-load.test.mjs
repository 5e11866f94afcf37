// The service under load: a huge request does not freeze `lean-agentic serve` (its health check
// keeps answering), huge responses are bounded, and a request that runs past the time limit is
// answered with ERR_TIMEOUT (503) while its step still completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { lib, openMemory } from './helpers.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const { createServer } = lib;
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A request with a string body; resolves with status, parsed JSON body, size and time taken, or
 * rejects after `timeoutMs`. `onSent` runs once the whole body is written.
 */
function request(base, method, pathname, body, { timeoutMs = 120_000, onSent } = {}) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${pathname}`, { method, agent: false, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
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
        resolve({ status: res.statusCode, json, bytes: Buffer.byteLength(text), ms: performance.now() - t0 });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${pathname}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body, onSent);
  });
}

/** `lean-agentic serve` in a child process (so a blocked server cannot block the test itself). */
async function serve(t, extraArgs = []) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'lean-agentic.js'), 'serve', '--port', '0', '--path', ':memory:', '--seed', '1', ...extraArgs], {
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
  return { base: `http://127.0.0.1:${port}`, child, exited, stderr: () => stderr };
}

test('a 1 MB request does not freeze lean-agentic serve: /health answers while it runs', { timeout: 180_000 }, async (t) => {
  const { base, child, exited } = await serve(t);
  // The reviewer's body: 1 MB of "12 " took 112 s on the JS thread and the health check timed out.
  const body = JSON.stringify({ text: '12 '.repeat(340_000), sessionId: 'big' });
  let sent;
  const bodySent = new Promise((r) => (sent = r));
  const big = request(base, 'POST', '/process', body, { onSent: () => sent() });
  await bodySent;
  await sleep(200);
  // 2 s is generous: an idle server answers in about a millisecond.
  const health = await request(base, 'GET', '/health', undefined, { timeoutMs: 2_000 });
  assert.equal(health.status, 200);
  assert.deepEqual(health.json, { ok: true, closing: false });
  const r = await big;
  if (r.status === 503) {
    assert.equal(r.json.error.code, 'ERR_TIMEOUT', JSON.stringify(r.json));
  } else {
    assert.equal(r.status, 200, JSON.stringify(r.json).slice(0, 500));
    assert.equal(r.json.entities.length, 1000);
    assert.equal(r.json.entitiesTruncated, true);
  }
  const stats = await request(base, 'GET', '/stats');
  assert.equal(stats.status, 200);
  child.kill('SIGTERM');
  assert.equal((await exited).code, 0);
});

test('a request of 170,000 entities is answered in a bounded response (it was 20 MB)', { timeout: 180_000 }, async (t) => {
  const { base, child, exited } = await serve(t);
  const r = await request(base, 'POST', '/process', JSON.stringify({ text: 'Tokyo '.repeat(170_000) }));
  assert.equal(r.status, 200);
  assert.equal(r.json.entities.length, 1000);
  assert.equal(r.json.entitiesTruncated, true);
  // The chunk itself (1 MB) comes back in the parameters and the handler's reply may echo it;
  // the entities are capped, so the whole answer stays a few MB.
  assert.ok(r.bytes < 4 * 1024 * 1024, `response is ${r.bytes} bytes`);
  child.kill('SIGTERM');
  assert.equal((await exited).code, 0);
});

test('a request past requestTimeoutMs is answered with ERR_TIMEOUT (503); its step still completes', async (t) => {
  const sys = await openMemory();
  sys.registerAction({
    name: 'slow',
    description: 'A slow lookup',
    keywords: ['slow'],
    handler: async () => {
      await sleep(600);
      return { success: true, result: 'late' };
    },
  });
  const service = createServer(sys, { heartbeatMs: 0, requestTimeoutMs: 100 });
  t.after(() => service.close());
  await new Promise((r) => service.server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${service.server.address().port}`;
  const r = await request(base, 'POST', '/process', JSON.stringify({ text: 'slow please', sessionId: 'a' }));
  assert.equal(r.status, 503);
  assert.equal(r.json.error.code, 'ERR_TIMEOUT');
  assert.match(r.json.error.message, /100 ms/);
  // The step was not abandoned: it finishes and is in the session's history.
  await sleep(800);
  assert.equal(sys.history('a').length, 1);
  // A WebSocket message past the limit gets the same coded error.
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?sessionId=b`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const reply = new Promise((resolve) => ws.once('message', (m) => resolve(JSON.parse(m.toString()))));
  ws.send('slow again');
  assert.equal((await reply).error.code, 'ERR_TIMEOUT');
  ws.close();
  // Fast requests are unaffected.
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  const ok = await request(base, 'POST', '/process', JSON.stringify({ text: 'note this', sessionId: 'c' }));
  assert.equal(ok.status, 200);
});

test('requestTimeoutMs and --request-timeout are checked', async (t) => {
  const sys = await openMemory();
  t.after(() => sys.close());
  for (const bad of [0, -1, 1.5, 'x']) {
    assert.throws(() => createServer(sys, { requestTimeoutMs: bad }), (e) => e.code === 'ERR_INVALID_INPUT');
  }
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'lean-agentic.js'), 'serve', '--request-timeout', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  const code = await new Promise((r) => child.once('exit', r));
  assert.notEqual(code, 0);
  assert.match(stderr, /--request-timeout/);
});

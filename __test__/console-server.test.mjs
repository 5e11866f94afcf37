// The console's server side without a browser: who may talk to the service (token, Host,
// Origin — on HTTP and WebSocket), the security headers, the console API (policy validation with
// line/column, atomic reload, hit counts, ranking, bank, knowledge, benchmarks), the event stream
// over NDJSON and WebSocket subscriptions, the queue depth, and the CLI's refusal to serve a
// non-loopback address without a token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { lib, openMemory, rejectsWithCode } from './helpers.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const { defaultActions, CONSOLE_POLICIES, parseServeArgs } = require('../dist/cli_serve.js');
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'a-long-enough-test-token-0123456789';

async function start(t, options = {}) {
  const sys = await openMemory({ seed: 3 });
  for (const a of defaultActions(sys)) sys.registerAction(a);
  sys.loadPolicies(CONSOLE_POLICIES);
  const service = lib.createServer(sys, { heartbeatMs: 0, console: { policyText: CONSOLE_POLICIES }, ...options });
  t.after(() => service.close());
  await new Promise((r) => service.server.listen(0, '127.0.0.1', r));
  const port = service.server.address().port;
  return { sys, service, port, base: `http://127.0.0.1:${port}` };
}

/** A raw request (headers exactly as given, Host included). */
function request(port, { method = 'GET', path: p = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, setHost: !('Host' in headers) }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data, json: () => JSON.parse(data) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

const postJson = (port, p, body, headers = {}) => request(port, { method: 'POST', path: p, body, headers: { 'Content-Type': 'application/json', ...headers } });

/** Opens a WebSocket that keeps every message from the start (a replay can arrive with the upgrade). */
function wsOpen(url, options) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.inbox = [];
    ws.wake = null;
    ws.on('message', (m) => {
      ws.inbox.push(JSON.parse(m.toString()));
      ws.wake?.();
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

/** The next `n` messages of a socket opened by {@link wsOpen}. */
async function messages(ws, n) {
  while (ws.inbox.length < n) await new Promise((r) => (ws.wake = r));
  return ws.inbox.splice(0, n);
}

test('with a token, every HTTP request and WebSocket needs it; ?token= sets an HttpOnly cookie and leaves the address bar', async (t) => {
  const { port, base } = await start(t, { token: TOKEN });
  for (const p of ['/health', '/stats', '/', '/console/app.js', '/console/api/status', '/events']) {
    const r = await request(port, { path: p });
    assert.equal(r.status, 401, `${p} without a token`);
    assert.equal(r.json().error.code, 'ERR_UNAUTHORIZED');
  }
  assert.equal((await postJson(port, '/process', { text: 'hello' })).status, 401);
  const wrong = await request(port, { path: '/health', headers: { Authorization: 'Bearer not-the-token-at-all-xx' } });
  assert.equal(wrong.status, 401);
  assert.match(wrong.json().error.message, /wrong/);
  assert.equal((await request(port, { path: '/health', headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200);
  const link = await request(port, { path: `/?token=${TOKEN}` });
  assert.equal(link.status, 303);
  assert.equal(link.headers.location, '/');
  const cookie = link.headers['set-cookie'][0];
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.ok(cookie.startsWith(`lean_agentic_${port}=`), `the cookie is named after the port: ${cookie}`);
  assert.ok(!cookie.includes(TOKEN), 'the cookie carries a session secret, not the token');
  assert.equal((await request(port, { path: '/health', headers: { Cookie: `lean_agentic_${port}=${TOKEN}` } })).status, 401, 'the token is not a cookie value');
  assert.equal((await request(port, { path: '/health', headers: { Cookie: `lean_agentic_1=${cookie.split(';')[0].split('=')[1]}` } })).status, 401, "another port's cookie name does not count");
  // A request carrying the token passes whatever its Host (a reverse proxy on this machine).
  assert.equal((await request(port, { path: '/health', headers: { Host: 'agents.example.com', Authorization: `Bearer ${TOKEN}` } })).status, 200);
  const withCookie = { Cookie: cookie.split(';')[0] };
  assert.equal((await request(port, { path: '/', headers: withCookie })).status, 200);
  assert.equal((await request(port, { path: '/console/api/status', headers: withCookie })).status, 200);
  // WebSocket: refused without, accepted with the header or the cookie.
  await assert.rejects(wsOpen(`${base.replace('http', 'ws')}/ws`), (e) => e.status === 401);
  const ws = await wsOpen(`${base.replace('http', 'ws')}/ws`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  ws.send('hello there');
  const [reply] = await messages(ws, 1);
  assert.equal(reply.action.actionType, 'greet');
  ws.close();
  (await wsOpen(`${base.replace('http', 'ws')}/ws`, { headers: withCookie })).close();
});

test('a short token is refused, and listening beyond loopback needs one', async (t) => {
  const sys = await openMemory();
  t.after(() => sys.close());
  assert.throws(() => lib.createServer(sys, { token: 'short' }), (e) => e.code === 'ERR_INVALID_INPUT');
  const { listen } = require('../dist/server/index.js');
  const open = lib.createServer(sys, { closeSystem: false });
  await rejectsWithCode(() => listen(open, 0, '0.0.0.0'), 'ERR_INVALID_CONFIG');
  await open.close();
  const guarded = lib.createServer(sys, { closeSystem: false, token: TOKEN });
  const addr = await listen(guarded, 0, '0.0.0.0');
  assert.ok(addr.port > 0);
  await guarded.close();
});

test('without a token, a request that arrives on a non-loopback interface is refused, however the server was started', async (t) => {
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!external) {
    t.skip('this machine has no non-loopback IPv4 interface to test with');
    return;
  }
  const sys = await openMemory();
  const service = lib.createServer(sys, { heartbeatMs: 0 });
  t.after(() => service.close());
  // server.listen directly, bypassing listen()'s check: the guard still fails closed.
  await new Promise((r) => service.server.listen(0, '0.0.0.0', r));
  const port = service.server.address().port;
  const r = await new Promise((resolve, reject) => {
    http.get({ host: external.address, port, path: '/console/api/status' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
    }).on('error', reject);
  });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'ERR_FORBIDDEN');
  assert.match(r.body.error.message, /no token/);
  assert.equal((await request(port, { path: '/health' })).status, 200, 'loopback still answers');
});

test('an /events reader dropped for lag during its replay ends once and is never written to again', async (t) => {
  const { port } = await start(t, { maxEventLagBytes: 1024, eventBufferSize: 50 });
  const big = 'note ' + 'x'.repeat(400_000);
  for (let i = 0; i < 6; i++) assert.equal((await postJson(port, '/process', { text: big })).status, 200);
  // A reader that does not read: the replay overflows its buffer at once.
  const stalled = await new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/events?lastEventId=0' }, (res) => {
      res.pause();
      resolve({ req, res });
    });
    req.on('error', reject);
  });
  // More steps are published: none may be written to the dropped reader (nor crash the server).
  for (let i = 0; i < 3; i++) assert.equal((await postJson(port, '/process', { text: 'hello' })).status, 200);
  assert.equal((await request(port, { path: '/health' })).status, 200);
  let body = '';
  stalled.res.setEncoding('utf8');
  stalled.res.on('data', (c) => (body += c));
  stalled.res.resume();
  await new Promise((r) => stalled.res.on('end', r));
  assert.match(body, /too far behind/);
  assert.equal((body.match(/too far behind/g) ?? []).length, 1, 'ended once');
  assert.doesNotMatch(body, /"hello"/, 'nothing published after the drop reached it');
});

test('DNS rebinding and cross-site requests are refused (Host and Origin checks), same-origin ones pass', async (t) => {
  const { port, base } = await start(t);
  const rebound = await request(port, { path: '/console/api/status', headers: { Host: `evil.example:${port}` } });
  assert.equal(rebound.status, 403);
  assert.equal(rebound.json().error.code, 'ERR_FORBIDDEN');
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `app.localhost:${port}`]) {
    assert.equal((await request(port, { path: '/health', headers: { Host: host } })).status, 200, host);
  }
  const csrf = await postJson(port, '/console/api/policies/load', { text: '' }, { Origin: 'http://evil.example' });
  assert.equal(csrf.status, 403);
  assert.equal((await postJson(port, '/process', { text: 'hi' }, { Origin: 'null' })).status, 403);
  assert.equal((await postJson(port, '/process', { text: 'hi' }, { Origin: base })).status, 200);
  await assert.rejects(wsOpen(`${base.replace('http', 'ws')}/ws`, { headers: { Origin: 'http://evil.example' } }), (e) => e.status === 403);
  (await wsOpen(`${base.replace('http', 'ws')}/ws`, { headers: { Origin: base } })).close();
  // A console POST must be JSON (a cross-site form cannot send it).
  const form = await request(port, { method: 'POST', path: '/console/api/policies/load', headers: { 'Content-Type': 'text/plain' }, body: '{"text":""}' });
  assert.equal(form.status, 400);
});

test('the page is served with a strict Content-Security-Policy and no inline script', async (t) => {
  const { port } = await start(t);
  const page = await request(port, { path: '/' });
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'], /text\/html/);
  const csp = page.headers['content-security-policy'];
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.doesNotMatch(page.body, /<script>(?!<\/script>)|onclick=|onerror=|javascript:/i, 'no inline script or handler in the page');
  assert.equal((await request(port, { path: '/console/app.js' })).headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await request(port, { path: '/console/../package.json' })).status, 404);
  assert.equal((await request(port, { path: '/console/nope.js' })).status, 404);
  const api = await request(port, { path: '/console/api/status' });
  assert.ok(api.headers['content-security-policy']);
});

test('policies: validation gives the line and column, a bad reload keeps the set in force, a good one swaps it, hits count', async (t) => {
  const { sys, port } = await start(t);
  const typo = await postJson(port, '/console/api/policies/validate', { text: '@id("a")\npermit(principal, action, resource)\nwhen { context.x == };' });
  const check = typo.json();
  assert.equal(check.ok, false);
  assert.equal(check.error.code, 'ERR_POLICY_PARSE');
  assert.equal(check.error.line, 3);
  assert.equal(typeof check.error.column, 'number');
  const good = (await postJson(port, '/console/api/policies/validate', { text: '@id("a") permit(principal, action, resource);' })).json();
  assert.equal(good.ok, true);
  assert.deepEqual(good.info.policyIds, ['a']);
  assert.ok(sys.policyInfo().policyIds.includes('no-secrets-in-notes'), 'validation does not load');
  const before = sys.policyInfo().policySetHash;
  const bad = (await postJson(port, '/console/api/policies/load', { text: 'forbid(principal, action resource);' })).json();
  assert.equal(bad.ok, false);
  assert.equal(sys.policyInfo().policySetHash, before, 'a text that does not load changes nothing');
  // Steps: one denied by the forbid, one allowed.
  await postJson(port, '/process', { text: 'note: my password is swordfish' });
  await postJson(port, '/process', { text: 'hello!' });
  const p = (await request(port, { path: '/console/api/policies' })).json();
  assert.equal(p.text, CONSOLE_POLICIES);
  assert.equal(p.hits['no-secrets-in-notes'].deny, 1);
  assert.ok(p.hits['everyday-actions'].allow >= 1);
  const loaded = (await postJson(port, '/console/api/policies/load', { text: '@id("greet-only") permit(principal, action == Action::"greet", resource);' })).json();
  assert.equal(loaded.ok, true);
  assert.deepEqual(sys.policyInfo().policyIds, ['greet-only']);
  assert.equal((await request(port, { path: '/console/api/policies' })).json().source, 'console');
  // What-if with its certificate.
  const v = (await postJson(port, '/console/api/verify', { action: { name: 'take_note', params: { text: 'x' } }, context: { agentId: 'w' } })).json();
  assert.equal(v.decision, 'deny');
  assert.deepEqual(v.determiningPolicies, [], 'a default deny');
  assert.ok(v.certificate.policySetHash);
});

test('events: the ring replays over NDJSON and a WebSocket subscription (SSE: server.test.mjs), then new steps follow; replies are tagged', async (t) => {
  const { port, base } = await start(t);
  for (const text of ['hello', 'what is the weather in Tokyo?']) await postJson(port, '/process', { text, sessionId: 'a' });
  // NDJSON: the two retained events, then a live one.
  const lines = [];
  const got = new Promise((resolve) => {
    http.get(`${base}/events?format=ndjson&lastEventId=0`, (res) => {
      assert.match(res.headers['content-type'], /x-ndjson/);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line) lines.push(JSON.parse(line));
          if (lines.length === 3) {
            res.destroy();
            resolve();
          }
        }
        if (lines.length === 2) void postJson(port, '/process', { text: 'thanks', sessionId: 'b' });
      });
    });
  });
  await got;
  assert.deepEqual(lines.map((l) => [l.id, l.sessionId]), [[1, 'a'], [2, 'a'], [3, 'b']]);
  assert.equal(lines[2].result.action.actionType, 'greet');
  // WebSocket subscription: replay after 1, then its own message as an event and a reply.
  const ws = await wsOpen(`${base.replace('http', 'ws')}/ws?events=1&lastEventId=1`);
  const first = await messages(ws, 2);
  assert.deepEqual(first.map((m) => m.id), [2, 3]);
  const next = messages(ws, 2);
  ws.send(JSON.stringify({ text: 'hello again', sessionId: 'c' }));
  const [ev, reply] = (await next).sort((x) => (x.reply ? 1 : -1));
  assert.equal(ev.id, 4);
  assert.equal(ev.sessionId, 'c');
  assert.equal(reply.reply.actionId, ev.result.actionId);
  ws.close();
  // A session filter on the subscription.
  const only = await wsOpen(`${base.replace('http', 'ws')}/ws?events=1&sessionId=b&lastEventId=0`);
  const [b] = await messages(only, 1);
  assert.equal(b.sessionId, 'b');
  only.close();
});

test('status shows the queue depth while steps wait', async (t) => {
  const sys = await openMemory();
  let release;
  const gate = new Promise((r) => (release = r));
  sys.registerAction({ name: 'slow', description: 'slow', keywords: ['slow'], handler: async () => (await gate, { success: true }) });
  const service = lib.createServer(sys, { heartbeatMs: 0 });
  t.after(() => service.close());
  await new Promise((r) => service.server.listen(0, '127.0.0.1', r));
  const port = service.server.address().port;
  const inflight = [1, 2, 3].map((i) => postJson(port, '/process', { text: `slow ${i}`, sessionId: 'q' }));
  let depth;
  for (let i = 0; i < 50; i++) {
    depth = (await request(port, { path: '/console/api/status' })).json().queue;
    if (depth.total === 3) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(depth, { total: 3, sessions: { q: 3 } });
  release();
  await Promise.all(inflight);
  assert.deepEqual((await request(port, { path: '/console/api/status' })).json().queue, { total: 0, sessions: {} });
});

test('learning, ranking, bank, knowledge and benchmarks endpoints answer from the engine', async (t) => {
  const { sys, port } = await start(t);
  for (const text of ['Remember that Ada Lovelace works at Acme Corp in London', 'What do we know about Ada Lovelace?', 'note my password is 123']) {
    await postJson(port, '/process', { text, sessionId: 's' });
  }
  const l = (await request(port, { path: '/console/api/learning' })).json();
  assert.equal(l.points.length, 3);
  assert.deepEqual(l.points.map((p) => p.n), [1, 2, 3]);
  assert.equal(l.points[2].decision, 'deny');
  assert.equal((await request(port, { path: '/console/api/learning?after=2' })).json().points.length, 1);
  const journal = sys.journalCount();
  const rank = (await postJson(port, '/console/api/rank', { text: 'please note the secret plan', sessionId: 's' })).json();
  assert.ok(rank.candidates.some((c) => c.action === 'take_note' && c.decision === 'deny'));
  assert.equal(sys.journalCount(), journal, 'ranking runs no step');
  const bank = (await request(port, { path: '/console/api/bank?q=Ada%20Lovelace&k=3' })).json();
  assert.equal(bank.counts.memories, 1, 'the note went to the bank');
  assert.equal(bank.results[0].memory.domain, 'notes');
  assert.ok(bank.results[0].components.similarity > 0);
  assert.equal(bank.recent.length, 1);
  const kg = (await request(port, { path: '/console/api/knowledge?entity=person:ada_lovelace&depth=2' })).json();
  assert.equal(kg.center.id, 'person:ada_lovelace');
  assert.ok(kg.related.some((r) => r.id === 'organization:acme_corp'));
  const [first, second] = await Promise.all([
    postJson(port, '/console/api/bench', { kind: 'verify-hit', iterations: 2000 }),
    new Promise((r) => setTimeout(r, 5)).then(() => postJson(port, '/console/api/bench', { kind: 'verify-hit', iterations: 10 })),
  ]);
  assert.equal(first.status, 200);
  assert.equal(second.status, 409, 'one benchmark at a time');
  assert.equal(second.json().error.code, 'ERR_BUSY');
  await rejectsWithCode(async () => {
    const r = await postJson(port, '/console/api/bench', { kind: 'rm -rf', iterations: 10 });
    throw Object.assign(new Error(r.json().error.message), { code: r.json().error.code });
  }, 'ERR_INVALID_INPUT');
  const stepsBefore = (await sys.stats()).totalActions;
  const b = (await postJson(port, '/console/api/bench', { kind: 'step', iterations: 50 })).json();
  assert.equal(b.iterations, 50);
  assert.ok(b.p50 > 0 && b.p50 <= b.p95 && b.p95 <= b.p99);
  assert.equal(b.histogram.reduce((n, bin) => n + bin[2], 0), 50);
  assert.equal(typeof b.load.before, 'number');
  assert.equal(b.policies, 'loaded');
  assert.equal((await sys.stats()).totalActions, stepsBefore, 'benchmarks run on a scratch system, not the live one');
  assert.equal((await request(port, { path: '/console/api/nothing' })).status, 404);
  assert.equal((await request(port, { path: '/console/api/bench' })).status, 405);
});

test('the console can be turned off', async (t) => {
  const { port } = await start(t, { console: false });
  assert.equal((await request(port, { path: '/' })).status, 404);
  assert.equal((await request(port, { path: '/console/api/status' })).status, 404);
});

test('serve refuses a non-loopback address without a token (exit 2), reads LEAN_AGENTIC_TOKEN, and console defaults to memory', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'lean-agentic.js'), 'serve', '--host', '0.0.0.0'], { encoding: 'utf8', env: { ...process.env, LEAN_AGENTIC_TOKEN: '' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not loopback.*--token/);
  assert.throws(() => parseServeArgs(['--host', '0.0.0.0', '--token', 'short'], 'serve', {}), /at least 16/);
  assert.equal(parseServeArgs(['--host', '0.0.0.0'], 'serve', { LEAN_AGENTIC_TOKEN: TOKEN }).token, TOKEN);
  assert.equal(parseServeArgs([], 'serve', {}).token, undefined);
  const c = parseServeArgs([], 'console', {});
  assert.equal(c.path, ':memory:');
  assert.equal(c.examplePolicies, true);
  assert.equal(parseServeArgs(['--policies', 'p.cedar'], 'console', {}).examplePolicies, false);
  assert.equal(parseServeArgs(['--no-console'], 'serve', {}).console, false);
});

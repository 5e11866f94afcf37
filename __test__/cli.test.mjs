// The `lean-agentic` command line: help and version, per-command help that does nothing else,
// usage errors (exit 2, one line saying what to fix, no store, no server), and the request log
// of `serve --log` / `createServer({ log })` and the silence of `serve --quiet`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { lib, openMemory } from './helpers.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const { createServer } = lib;
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'lean-agentic.js');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs the CLI to completion in a fresh temp dir (its cwd); a command that serves is killed after 15 s. */
function run(args, { cwd } = {}) {
  const dir = cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'la-cli-'));
  try {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 15_000 });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, files: fs.readdirSync(dir) };
  } finally {
    if (!cwd) fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('--help, -h, help and no command print the usage and exit 0', () => {
  for (const args of [['--help'], ['-h'], ['help'], []]) {
    const r = run(args);
    assert.equal(r.code, 0, `${args}: ${r.stderr}`);
    assert.match(r.stdout, /^usage: lean-agentic <command>/, String(args));
    assert.match(r.stdout, /\bdemo\b/);
    assert.match(r.stdout, /\bserve\b/);
    assert.match(r.stdout, /--version/);
    assert.equal(r.stderr, '');
  }
});

test('--version and -v print the version of package.json', () => {
  for (const args of [['--version'], ['-v']]) {
    const r = run(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${VERSION}\n`);
    assert.equal(r.stderr, '');
  }
});

test('demo --help and serve --help print that command\'s usage and do nothing else', () => {
  const cases = [
    [['demo', '--help'], /^usage: lean-agentic demo/],
    [['demo', '-h'], /^usage: lean-agentic demo/],
    [['help', 'demo'], /^usage: lean-agentic demo/],
    [['demo', '--path', 'here.db', '--help'], /^usage: lean-agentic demo/],
    [['serve', '--help'], /^usage: lean-agentic serve/],
    [['serve', '-h'], /^usage: lean-agentic serve/],
    [['help', 'serve'], /^usage: lean-agentic serve/],
    [['serve', '--port', '0', '--path', 'here.db', '--help'], /^usage: lean-agentic serve/],
  ];
  for (const [args, usage] of cases) {
    const r = run(args);
    // A server that started would not exit: spawnSync would kill it after 15 s.
    assert.equal(r.signal, null, `${args} did not exit by itself`);
    assert.equal(r.code, 0, `${args}: ${r.stderr}`);
    assert.match(r.stdout, usage, String(args));
    assert.equal(r.stderr, '', String(args));
    // No store: neither the default ./.lean-agentic/ nor the --path file.
    assert.deepEqual(r.files, [], `${args} wrote ${r.files}`);
  }
});

test('usage errors: exit 2, one line saying what to fix plus a usage hint on stderr, nothing written', () => {
  const cases = [
    [['frobnicate'], /^lean-agentic: ERR_INVALID_INPUT: unknown command "frobnicate"/, 'lean-agentic <command>'],
    [['help', 'frobnicate'], /^lean-agentic: ERR_INVALID_INPUT: unknown command "frobnicate"/, 'lean-agentic <command>'],
    [['--frob'], /^lean-agentic: ERR_INVALID_INPUT: unknown option --frob/, 'lean-agentic <command>'],
    [['--version', 'extra'], /^lean-agentic: ERR_INVALID_INPUT: unexpected argument "extra"/, 'lean-agentic <command>'],
    [['demo', '--frob'], /^lean-agentic demo: ERR_INVALID_INPUT: unknown option --frob/, 'lean-agentic demo'],
    [['demo', 'extra'], /^lean-agentic demo: ERR_INVALID_INPUT: unexpected argument "extra"/, 'lean-agentic demo'],
    [['demo', '--path'], /^lean-agentic demo: ERR_INVALID_INPUT: --path needs a value/, 'lean-agentic demo'],
    [['demo', '--path', ''], /^lean-agentic demo: ERR_INVALID_INPUT: --path needs a value/, 'lean-agentic demo'],
    [['demo', '--help=yes'], /^lean-agentic demo: ERR_INVALID_INPUT: --help takes no value/, 'lean-agentic demo'],
    [['serve', '--frob'], /^lean-agentic serve: ERR_INVALID_INPUT: unknown option --frob/, 'lean-agentic serve'],
    [['serve', '--path'], /^lean-agentic serve: ERR_INVALID_INPUT: --path needs a value/, 'lean-agentic serve'],
    [['serve', '--path', '--port', '0'], /^lean-agentic serve: ERR_INVALID_INPUT: --path needs a value/, 'lean-agentic serve'],
    [['serve', '--host', ''], /^lean-agentic serve: ERR_INVALID_INPUT: --host needs a value/, 'lean-agentic serve'],
    [['serve', '--port', 'abc'], /^lean-agentic serve: ERR_INVALID_INPUT: --port takes an integer in \[0, 65535\], got "abc"/, 'lean-agentic serve'],
    [['serve', '--port', '70000'], /^lean-agentic serve: ERR_INVALID_INPUT: --port takes an integer in \[0, 65535\], got "70000"/, 'lean-agentic serve'],
    [['serve', '--port=-1'], /^lean-agentic serve: ERR_INVALID_INPUT: --port takes an integer in \[0, 65535\], got "-1"/, 'lean-agentic serve'],
    [['serve', '--request-timeout', '-1'], /^lean-agentic serve: ERR_INVALID_INPUT: --request-timeout takes an integer in \[1, \d+\], got "-1"/, 'lean-agentic serve'],
    [['serve', '--request-timeout', '0'], /^lean-agentic serve: ERR_INVALID_INPUT: --request-timeout takes an integer/, 'lean-agentic serve'],
    [['serve', '--max-body', '1.5'], /^lean-agentic serve: ERR_INVALID_INPUT: --max-body takes an integer/, 'lean-agentic serve'],
    [['serve', '--log', '--quiet'], /^lean-agentic serve: ERR_INVALID_INPUT: --log and --quiet cannot be used together/, 'lean-agentic serve'],
    [['serve', '--no-default-actions'], /^lean-agentic serve: ERR_INVALID_INPUT: --no-default-actions needs --actions FILE/, 'lean-agentic serve'],
  ];
  for (const [args, message, usage] of cases) {
    const r = run(args);
    assert.equal(r.signal, null, `${args} did not exit by itself`);
    assert.equal(r.code, 2, `${args}: exit ${r.code}, stderr ${r.stderr}`);
    assert.equal(r.stdout, '', String(args));
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0], message, String(args));
    // The hint: the command's usage line(s) and where to read more; not the whole help text.
    assert.ok(r.stderr.includes(`usage: ${usage}`), `${args}: no usage hint in ${r.stderr}`);
    assert.ok(r.stderr.includes('--help'), `${args}: no --help pointer in ${r.stderr}`);
    assert.ok(lines.length <= 6, `${args}: ${lines.length} lines of stderr`);
    assert.deepEqual(r.files, [], `${args} wrote ${r.files}`);
  }
});

// ---- serve: request log and quiet --------------------------------------------------------------

function request(base, method, pathname, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${pathname}`, { method, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Opens `/events` (SSE), waits for its first bytes, then hangs up. */
function touchEvents(base) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/events?sessionId=s`, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve(res.statusCode);
      });
    });
    req.on('error', (e) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
  });
}

/** Opens `/ws`, sends one message, waits for the reply, closes. */
async function touchWs(base) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?sessionId=w`);
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  const reply = new Promise((r) => ws.once('message', (m) => r(String(m))));
  ws.send('hello there');
  await reply;
  const closed = new Promise((r) => ws.once('close', r));
  ws.close(1000);
  await closed;
}

/** `lean-agentic serve ...args` in a child; resolves once it answers /health on `port` (or the port it prints). */
async function serve(t, args, { port } = {}) {
  const child = spawn(process.execPath, [BIN, 'serve', '--path', ':memory:', '--seed', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (b) => (out.stdout += b));
  child.stderr.on('data', (b) => (out.stderr += b));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let early = false;
  void exited.then(() => (early = true));
  for (let i = 0; ; i++) {
    if (early) throw new Error(`serve exited early: ${out.stderr}`);
    if (i > 200) throw new Error(`serve did not come up: ${out.stdout} ${out.stderr}`);
    if (port === undefined) {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out.stdout);
      if (m) port = Number(m[1]);
    }
    if (port !== undefined) {
      const up = await request(`http://127.0.0.1:${port}`, 'GET', '/health').then(
        (r) => r.status === 200,
        () => false,
      );
      if (up) break;
    }
    await sleep(50);
  }
  return { base: `http://127.0.0.1:${port}`, child, exited, out };
}

/** A port nobody listens on right now. */
async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function stop(s) {
  s.child.kill('SIGTERM');
  const { code, signal } = await s.exited;
  assert.equal(signal, null, s.out.stderr);
  assert.equal(code, 0, s.out.stderr);
}

test('serve --log writes one greppable line per request, and per SSE / WebSocket open and close', { timeout: 30_000 }, async (t) => {
  const s = await serve(t, ['--port', '0', '--log']);
  assert.equal((await request(s.base, 'POST', '/process', { text: 'Hello there!', sessionId: 'a' })).status, 200);
  assert.equal((await request(s.base, 'POST', '/process', { text: 42 })).status, 400);
  assert.equal((await request(s.base, 'GET', '/nope')).status, 404);
  assert.equal((await request(s.base, 'DELETE', '/process')).status, 405);
  assert.equal(await touchEvents(s.base), 200);
  await touchWs(s.base);
  await sleep(200); // the server sees the hang-ups
  await stop(s);
  const lines = s.out.stderr.split('\n');
  const has = (re) => assert.ok(lines.some((l) => re.test(l)), `no line like ${re} in:\n${s.out.stderr}`);
  const MS = String.raw`\d+\.\dms`;
  has(new RegExp(String.raw`^lean-agentic serve: POST /process 200 ${MS}$`));
  has(new RegExp(String.raw`^lean-agentic serve: POST /process 400 ${MS}$`));
  has(new RegExp(String.raw`^lean-agentic serve: GET /nope 404 ${MS}$`));
  has(new RegExp(String.raw`^lean-agentic serve: DELETE /process 405 ${MS}$`));
  // The health checks of the start-up loop are requests too.
  has(new RegExp(String.raw`^lean-agentic serve: GET /health 200 ${MS}$`));
  has(/^lean-agentic serve: GET \/events open$/);
  has(new RegExp(String.raw`^lean-agentic serve: GET /events 200 ${MS}$`));
  has(/^lean-agentic serve: GET \/ws open$/);
  has(new RegExp(String.raw`^lean-agentic serve: GET /ws 101 ${MS}$`));
  // Exactly one line per /process request.
  assert.equal(lines.filter((l) => / POST \/process /.test(l)).length, 2, s.out.stderr);
  // The query string (session ids) is not logged.
  assert.doesNotMatch(s.out.stderr, /sessionId=/);
  // The banner still goes to stdout.
  assert.match(s.out.stdout, /^lean-agentic serve: listening on /);
});

test('serve without --log logs no requests; serve --quiet prints nothing at all', { timeout: 30_000 }, async (t) => {
  const plain = await serve(t, ['--port', '0']);
  assert.equal((await request(plain.base, 'POST', '/process', { text: 'Hello there!' })).status, 200);
  await stop(plain);
  assert.doesNotMatch(plain.out.stderr, /\/process|\/health/);
  assert.match(plain.out.stderr, /store flushed and closed/);

  const port = await freePort();
  const quiet = await serve(t, ['--port', String(port), '--quiet'], { port });
  assert.equal((await request(quiet.base, 'POST', '/process', { text: 'Hello there!' })).status, 200);
  assert.equal((await request(quiet.base, 'GET', '/nope')).status, 404);
  await stop(quiet);
  assert.equal(quiet.out.stdout, '');
  assert.equal(quiet.out.stderr, '');
});

test('serve --quiet still reports errors on stderr', () => {
  // An actions module that cannot be loaded: a runtime error (exit 1), not a usage error.
  const r = run(['serve', '--quiet', '--port', '0', '--path', ':memory:', '--actions', 'missing.js']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /--actions missing\.js: cannot load/);
});

// ---- createServer({ log }) ---------------------------------------------------------------------

async function withService(t, log) {
  const sys = await openMemory();
  sys.registerAction({ name: 'respond', description: 'Acknowledge a message' });
  const service = createServer(sys, { heartbeatMs: 0, log });
  t.after(() => service.close());
  await new Promise((r) => service.server.listen(0, '127.0.0.1', r));
  return { service, base: `http://127.0.0.1:${service.server.address().port}` };
}

test('createServer({ log }) takes a function, a stream or true, and rejects anything else', async (t) => {
  const seen = [];
  const fn = await withService(t, (line, kind) => seen.push([line, kind]));
  await request(fn.base, 'POST', '/process', { text: 'hello' });
  await request(fn.base, 'GET', '/missing');
  // A client that leaves halfway through its body: no response began.
  const half = http.request(`${fn.base}/process`, { method: 'POST', headers: { 'Content-Length': '100' } });
  half.on('error', () => {});
  half.write('{"text": ');
  await sleep(100);
  half.destroy();
  // A WebSocket upgrade on a path that is not /ws is refused.
  const refused = new WebSocket(`${fn.base.replace('http', 'ws')}/nope`);
  await new Promise((r) => refused.once('error', r));
  await sleep(100);
  await fn.service.close();
  const requestLines = seen.filter(([, kind]) => kind === 'request').map(([line]) => line);
  assert.match(requestLines[0], /^POST \/process 200 \d+\.\dms$/);
  assert.match(requestLines[1], /^GET \/missing 404 \d+\.\dms$/);
  assert.ok(requestLines.some((l) => /^POST \/process aborted \d+\.\dms$/.test(l)), requestLines.join('\n'));
  assert.ok(requestLines.some((l) => /^GET \/nope 404 \d+\.\dms$/.test(l)), requestLines.join('\n'));
  assert.ok(seen.some(([line, kind]) => kind === 'info' && /store flushed and closed/.test(line)), JSON.stringify(seen));

  const stream = new PassThrough();
  let text = '';
  stream.on('data', (b) => (text += b));
  const st = await withService(t, stream);
  await request(st.base, 'GET', '/health');
  await st.service.close();
  assert.match(text, /^GET \/health 200 \d+\.\dms\n/);

  const written = [];
  const original = process.stderr.write;
  process.stderr.write = function (chunk, ...rest) {
    if (/^GET \/stats /.test(String(chunk))) {
      written.push(String(chunk));
      return true;
    }
    return original.call(this, chunk, ...rest);
  };
  try {
    const on = await withService(t, true);
    await request(on.base, 'GET', '/stats');
    await on.service.close();
  } finally {
    process.stderr.write = original;
  }
  assert.equal(written.length, 1);
  assert.match(written[0], /^GET \/stats 200 \d+\.\dms\n$/);

  // A log that throws, or a stream that was destroyed, does not take the service down.
  const throwing = await withService(t, () => {
    throw new Error('the log is broken');
  });
  assert.equal((await request(throwing.base, 'GET', '/health')).status, 200);
  assert.equal((await request(throwing.base, 'POST', '/process', { text: 'hello' })).status, 200);
  await throwing.service.close();
  const gone = new PassThrough();
  gone.destroy();
  const destroyed = await withService(t, gone);
  assert.equal((await request(destroyed.base, 'GET', '/health')).status, 200);
  await sleep(50);
  await destroyed.service.close();

  const sys = await openMemory();
  t.after(() => sys.close());
  for (const bad of [42, 'stderr', {}, []]) {
    assert.throws(() => createServer(sys, { log: bad }), (e) => e.code === 'ERR_INVALID_INPUT', String(bad));
  }
});

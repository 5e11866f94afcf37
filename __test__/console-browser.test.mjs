// The live console in a real browser: headless Chromium (the system's, driven by puppeteer-core;
// nothing is downloaded) opens the page served on 127.0.0.1, sends chunks over each transport and
// the test asserts on the DOM — a denied step names its policy, the reward chart has points, a
// policy typo shows its line and column, XSS payloads in a chunk and in a policy id stay text,
// and the page raises no error (a CSP violation included). Screenshots of every tab go to
// $CONSOLE_SCREENSHOTS (`npm run screenshots` writes the README's, docs/console/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { lib, openMemory } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { defaultActions, CONSOLE_POLICIES } = require('../dist/cli_serve.js');

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean);
const CHROMIUM = CANDIDATES.find((p) => fs.existsSync(p));
const SKIP = CHROMIUM
  ? false
  : `Chromium not found (looked at ${CANDIDATES.join(', ')}): install it with \`apt-get install chromium\` (.ci/run does) or set CHROMIUM_PATH`;
if (SKIP) console.log(`# console-browser: SKIPPED: ${SKIP}`);

const XSS_CHUNK = 'hello <img src=x onerror="window.__xss=1"> <b>bold</b> from Tokyo';
const XSS_POLICY_ID = '<img src=x onerror=window.__xss=2>';
const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? path.join(os.tmpdir(), 'lean-agentic-console-screenshots');

async function startConsole(t) {
  const sys = await openMemory({ seed: 7 });
  for (const a of defaultActions(sys)) sys.registerAction(a);
  // An action whose rewards change after a while: the learner's drift detector should fire.
  let flakyRuns = 0;
  sys.registerAction({
    name: 'nightly_job',
    description: 'Run the nightly job',
    keywords: ['nightly'],
    handler: () => ({ success: true, reward: ++flakyRuns <= 150 ? 1 : -1 }),
  });
  const policyText = `${CONSOLE_POLICIES}\n@id("${XSS_POLICY_ID}")\npermit(principal, action == Action::"greet", resource);\n@id("jobs")\npermit(principal, action == Action::"nightly_job", resource);\n`;
  sys.loadPolicies(policyText);
  const service = lib.createServer(sys, { heartbeatMs: 0, console: { policyText } });
  t.after(() => service.close());
  await new Promise((r) => service.server.listen(0, '127.0.0.1', r));
  return { sys, base: `http://127.0.0.1:${service.server.address().port}` };
}

test('the console in headless Chromium: live stream over three transports, policies, learning, bank, benchmarks, knowledge', { skip: SKIP, timeout: 180_000 }, async (t) => {
  const { default: puppeteer } = await import('puppeteer-core');
  const { sys, base } = await startConsole(t);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 860 });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()} (${m.location()?.url ?? '?'})`);
  });
  // Switching transports aborts the previous stream on purpose; anything else is a problem.
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  fs.mkdirSync(SHOTS, { recursive: true });
  const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  const tab = async (name) => {
    await page.click(`#tabs button[data-tab="${name}"]`);
    await page.waitForSelector(`#tab-${name}:not([hidden])`);
  };
  const rows = () => page.$$eval('#steps tr', (trs) => trs.length);

  await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => document.getElementById('transport-state').textContent.includes('SSE: connected'));

  // --- live stream over SSE: a typed chunk (an XSS payload) and the sample conversation ---
  await page.type('#chunk', XSS_CHUNK);
  await page.click('#send');
  await page.click('#replay');
  await page.waitForFunction(() => document.querySelectorAll('#steps tr').length >= 13, { timeout: 30_000 });
  const denied = await page.$$eval('#steps tr[data-decision="deny"] .pol', (els) => els.map((e) => e.textContent));
  assert.ok(denied.includes('no-secrets-in-notes'), `a denied step shows its policy id; saw ${JSON.stringify(denied)}`);
  const chunkTexts = await page.$$eval('#steps td.chunk .text', (els) => els.map((e) => e.textContent));
  assert.ok(chunkTexts.includes(XSS_CHUNK), 'the XSS chunk is shown verbatim, as text');
  assert.equal(await page.$('#steps img'), null, 'no <img> element came out of the chunk');
  assert.equal(await page.$('#steps td.chunk b'), null, 'no <b> element came out of the chunk');
  await shot('live-stream');

  // --- the same ring replayed over HTTP streaming and WebSocket, and a chunk sent on each ---
  const before = await rows();
  for (const [transport, state] of [['ndjson', 'HTTP streaming: connected'], ['ws', 'WebSocket: connected']]) {
    await page.click(`.transport button[data-transport="${transport}"]`);
    await page.waitForFunction((s) => document.getElementById('transport-state').textContent.includes(s), {}, state);
    await page.waitForFunction((n) => document.querySelectorAll('#steps tr').length >= n, {}, before);
    const n = await rows();
    await page.type('#chunk', `a question over ${transport}: what is the weather in Paris?`);
    await page.click('#send');
    await page.waitForFunction((k) => document.querySelectorAll('#steps tr').length > k, { timeout: 15_000 }, n);
    const first = await page.$eval('#steps tr td.chunk .text', (e) => e.textContent);
    assert.match(first, new RegExp(`over ${transport}`), `the newest row came over ${transport}`);
  }
  const queue = await page.$eval('#queue', (e) => e.textContent);
  assert.match(queue, /^queue: \d+ on the server · \d+ awaiting from this page$/);
  // Filters: only denials.
  await page.select('#f-decision', 'deny');
  const decisions = await page.$$eval('#steps tr', (trs) => trs.map((tr) => tr.getAttribute('data-decision')));
  assert.ok(decisions.length >= 1 && decisions.every((d) => d === 'deny'), `the decision filter shows denials only: ${decisions}`);
  await page.select('#f-decision', '');

  // --- policies: hit counts, the XSS policy id as text, a typo with its position, what-if ---
  await tab('policies');
  await page.waitForFunction(() => document.querySelectorAll('#policy-rows tr').length >= 3);
  const ids = await page.$$eval('#policy-rows td.pid', (els) => els.map((e) => e.textContent));
  assert.ok(ids.includes(XSS_POLICY_ID), 'the policy id with markup is listed as text');
  assert.equal(await page.$('#policy-rows img'), null);
  const hits = await page.$$eval('#policy-rows tr', (trs) => Object.fromEntries(trs.map((tr) => [tr.getAttribute('data-policy'), [...tr.querySelectorAll('td.num')].map((td) => Number(td.textContent))])));
  assert.ok(hits['no-secrets-in-notes'][1] >= 1, `the forbid counts its denials: ${JSON.stringify(hits)}`);
  assert.ok(hits['everyday-actions'][0] >= 1, 'the permit counts its allows');
  await page.click('#wi-run');
  await page.waitForSelector('#wi-out .badge');
  assert.equal(await page.$eval('#wi-out .badge', (e) => e.textContent), 'deny');
  assert.ok((await page.$eval('#wi-out pre', (e) => e.textContent)).includes('"policySetHash"'), 'the certificate is shown');
  // A typo on line 3 (`permitt`).
  await page.$eval('#policy-text', (e) => {
    e.value = '// a comment\n@id("ok") permit(principal, action, resource);\npermitt(principal, action, resource);\n';
  });
  await page.type('#policy-text', ' ');
  await page.waitForSelector('#policy-check.bad');
  const check = await page.$eval('#policy-check', (e) => ({ text: e.textContent, line: e.getAttribute('data-line'), column: e.getAttribute('data-column') }));
  assert.equal(check.line, '3', `the typo is on line 3: ${check.text}`);
  assert.match(check.text, /line 3, column \d+/);
  await page.click('#policy-load');
  await page.waitForFunction(() => document.getElementById('policy-load-out').textContent.includes('not loaded'));
  assert.ok(sys.policyInfo().policyIds.includes('no-secrets-in-notes'), 'a text that does not load leaves the policies in force');
  await shot('policies');

  // --- learning: 300 steps of a job whose rewards turn bad half-way (POST /stream, NDJSON), then
  // the reward chart has points and the drift alarm is marked on it; the ranking of a chunk ---
  const stream = await fetch(`${base}/stream?sessionId=nightly`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson' },
    body: Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `nightly run ${i}` })).join('\n'),
  });
  assert.equal(stream.status, 200);
  assert.equal((await stream.text()).trim().split('\n').length, 300);
  const alarms = sys.history('nightly').length > 0 ? (await sys.stats()).learner.driftEvents : 0;
  assert.ok(alarms >= 1, 'the change of rewards raised a drift alarm');
  await tab('learning');
  await page.waitForFunction(() => {
    const pl = document.querySelector('#chart-reward polyline.series');
    return pl && pl.getAttribute('points').split(' ').length >= 300;
  });
  await page.waitForFunction((n) => document.querySelectorAll('#chart-reward line.marker').length >= n, {}, alarms);
  await page.type('#rank-text', 'please remember my secret code');
  await page.click('#rank-run');
  await page.waitForSelector('#rank-out table tbody tr');
  const ranked = await page.$$eval('#rank-out tbody tr', (trs) => trs.map((tr) => [tr.children[0].textContent, tr.querySelector('.badge').textContent]));
  assert.ok(ranked.some(([a, d]) => a === 'take_note' && d === 'deny'), `the ranking shows the verifier's denial: ${JSON.stringify(ranked)}`);
  await page.setViewport({ width: 1280, height: 1060 });
  await shot('learning');
  await page.setViewport({ width: 1280, height: 860 });

  // --- reasoning bank: retrieval with score components ---
  await tab('bank');
  await page.type('#bank-q', 'Tokyo weather');
  await page.click('#bank-run');
  await page.waitForSelector('#bank-results table tbody tr');
  assert.ok((await page.$$('#bank-results tbody tr')).length >= 1);
  assert.ok((await page.$$('#bank-recent tbody tr')).length >= 1, 'recent memories are listed');
  await shot('bank');

  // --- benchmarks: a run from the page, its histogram and the load ---
  await tab('bench');
  await page.$eval('#bench-n', (e) => {
    e.value = '300';
  });
  await page.click('#bench-buttons button[data-bench="verify-miss"]');
  await page.waitForFunction(() => document.querySelectorAll('#bench-out .bench-card rect.bin').length > 0, { timeout: 60_000 });
  const benchText = await page.$eval('#bench-out .bench-card', (e) => e.textContent);
  assert.match(benchText, /p50/);
  assert.match(benchText, /load before → after/);
  await shot('benchmarks');

  // --- knowledge: the graph around the most mentioned entity ---
  await tab('knowledge');
  await page.waitForSelector('#kg-graph g.node');
  assert.ok((await page.$$('#kg-graph g.node')).length >= 2, 'the entity and its neighbours are drawn');
  await shot('knowledge');

  // --- hot reload from the editor ---
  await tab('policies');
  await page.$eval('#policy-text', (e) => {
    e.value = '@id("only-greetings")\npermit(principal, action == Action::"greet", resource);\n';
  });
  await page.type('#policy-text', ' ');
  await page.waitForSelector('#policy-check.ok');
  await page.click('#policy-load');
  await page.waitForFunction(() => document.getElementById('policy-load-out').textContent.startsWith('loaded'));
  assert.deepEqual(sys.policyInfo().policyIds, ['only-greetings'], 'the live system runs the reloaded policies');

  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no payload ran');
  assert.deepEqual(problems, [], 'the page raised no error');
});

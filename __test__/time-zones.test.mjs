// Stored times are UTC everywhere (issue #16): a memory's `createdAt` is SQLite's
// `YYYY-MM-DD HH:MM:SS` in UTC, and every API that takes a time back (`bridge.getMemories`,
// `bank.query({ since })`, `knowledge.factsAt`, `addFact` validity) must read such text — and any
// ISO text without a zone — as UTC, whatever the process's time zone. Each case runs in a child
// process with `TZ` set, because the time zone of a running Node process cannot be changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

const script = `
const { LeanAgenticSystem } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
const { AgenticFlowBridge } = require(${JSON.stringify(path.join(root, 'dist', 'agentic_flow_bridge.js'))});
(async () => {
  const sys = await LeanAgenticSystem.open({ path: ':memory:' });
  const bridge = new AgenticFlowBridge({ system: sys });
  const m = sys.bank.store({ title: 'Retry with backoff', content: 'Wait 2^n seconds', domain: 'web', confidence: 0.9 });
  const out = {
    offsetMinutes: new Date().getTimezoneOffset(),
    createdAt: m.createdAt,
    sinceCreatedAt: (await bridge.getMemories(m.createdAt)).length,
    sinceIsoNoZone: (await bridge.getMemories(m.createdAt.replace(' ', 'T'))).length,
    sinceHourLater: (await bridge.getMemories(new Date(Date.parse(m.createdAt.replace(' ', 'T') + 'Z') + 3600e3).toISOString())).length,
    queryFromCreatedAt: sys.bank.query('backoff', { since: m.createdAt }).length,
  };
  sys.registerAction({ name: 'take_note', description: 'Write a note', keywords: ['note'] });
  const ctx = sys.createContext('tz');
  await sys.processChunk('Ada Lovelace works at Acme Corp in London.', ctx);
  const [ada] = sys.knowledge.entities({ type: 'Person', prefix: 'ada' });
  const [london] = sys.knowledge.entities({ type: 'Place', prefix: 'london' });
  sys.knowledge.addFact(ada.id, 'visited', london.id, { validFrom: '2021-01-01 00:00:00', validUntil: '2021-01-02 00:00:00' });
  out.factAtStart = sys.knowledge.factsAt('2021-01-01T00:00:00Z').length;
  out.factJustBefore = sys.knowledge.factsAt('2020-12-31T23:59:59Z').length;
  out.factAtNoZone = sys.knowledge.factsAt('2021-01-01 12:00:00').length;
  await sys.close();
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

for (const tz of ['America/Los_Angeles', 'Asia/Tokyo', 'UTC']) {
  test(`stored UTC times read back as UTC with TZ=${tz}`, () => {
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    if (tz !== 'UTC') assert.notEqual(out.offsetMinutes, 0, `TZ=${tz} should not be UTC: the test would pass vacuously`);
    assert.match(out.createdAt, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal(out.sinceCreatedAt, 1, 'getMemories(memory.createdAt) finds the memory');
    assert.equal(out.sinceIsoNoZone, 1, 'ISO text without a zone is UTC');
    assert.equal(out.sinceHourLater, 0, 'an hour later finds nothing');
    assert.equal(out.queryFromCreatedAt, 1, 'bank.query({ since: createdAt }) finds the memory');
    assert.equal(out.factAtStart, 1, 'a fact valid from 2021-01-01 00:00:00 UTC holds then');
    assert.equal(out.factJustBefore, 0, 'and not a second before');
    assert.equal(out.factAtNoZone, 1);
  });
}

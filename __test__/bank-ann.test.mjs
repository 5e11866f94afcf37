// The approximate (sketch) index of sys.bank, from JS: attached past `annThreshold`, saved beside
// the store, in step with inserts and deletes, close to the exact search, and optional per query.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeanAgenticSystem, rejectsWithCode } from './helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'la-bank-ann-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const WORDS = 'retry cache deploy schema migration timeout backoff index query token parser socket thread lock queue worker build test lint config secret auth login session cookie header proxy route error panic memory disk network latency batch stream file upload image resize email invoice report'.split(' ');
function text(i, n) {
  let x = (i * 2654435761) % 4294967296;
  const w = [];
  for (let k = 0; k < n; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    w.push(WORDS[x % WORDS.length]);
  }
  return w.join(' ');
}

test('past annThreshold retrieval uses the sketch index, stays in step and agrees with the exact scan', async () => {
  const path = join(dir, 'ann.db');
  const bank = { annThreshold: 1500, annCandidates: 300, maxMemories: 5000 };
  let sys = await LeanAgenticSystem.open({ path, seed: 1, bank });
  for (let i = 0; i < 1400; i++) sys.bank.store({ id: `m${i}`, title: `memory ${i}`, content: text(i, 16), confidence: 0.3 + (i % 7) / 10 });
  sys.bank.retrieve('retry backoff timeout', { k: 5 });
  let info = sys.bank.searchInfo();
  assert.equal(info.approximateIndex, false);
  assert.equal(info.lastRetrieveApproximate, false);
  assert.equal(info.rows, 1400);
  for (let i = 1400; i < 1700; i++) sys.bank.store({ id: `m${i}`, title: `memory ${i}`, content: text(i, 16), confidence: 0.3 + (i % 7) / 10 });
  const queries = Array.from({ length: 40 }, (_, i) => text(i * 37 + 5, 6));
  const ids = (r) => r.map((m) => m.memory.id);
  const recall = () => {
    let hits = 0;
    for (const q of queries) {
      const exact = ids(sys.bank.retrieve(q, { k: 10, mmrLambda: 1, exact: true }));
      assert.equal(sys.bank.searchInfo().lastRetrieveApproximate, false);
      const approx = sys.bank.retrieve(q, { k: 10, mmrLambda: 1 });
      assert.equal(sys.bank.searchInfo().lastRetrieveApproximate, true);
      hits += ids(approx).filter((id) => exact.includes(id)).length;
      // Scores of the approximate path are exact.
      for (const m of approx) assert.ok(Number.isFinite(m.score) && m.components.similarity <= 1 + 1e-6);
    }
    return hits / (10 * queries.length);
  };
  const r1 = recall();
  assert.ok(r1 >= 0.9, `recall@10 ${r1}`);
  info = sys.bank.searchInfo();
  assert.equal(info.approximateIndex, true);
  assert.equal(info.trainedRows, 1700);
  assert.equal(info.sideFile, `${path}.ann`);
  assert.ok(existsSync(info.sideFile), 'side file written next to the store');
  assert.equal(info.sideFileError, null);

  // Deleted memories never come back; new ones are found at once.
  for (let i = 0; i < 1700; i += 5) assert.equal(sys.bank.delete(`m${i}`), true);
  sys.bank.store({ id: 'fresh', title: 'zebra quokka axolotl', content: 'narwhal okapi pangolin' });
  assert.equal(sys.bank.retrieve('zebra quokka axolotl narwhal okapi pangolin', { k: 1 })[0].memory.id, 'fresh');
  for (const q of queries) {
    for (const m of sys.bank.retrieve(q, { k: 20, mmrLambda: 1 })) assert.notEqual(Number(m.memory.id.slice(1)) % 5, 0, m.memory.id);
  }
  // Filters by domain or agent always scan exactly.
  sys.bank.retrieve('retry', { k: 3, domain: 'ops' });
  assert.equal(sys.bank.searchInfo().lastRetrieveApproximate, false);
  const before = recall();
  await sys.close();

  // Reopened: the side file is reused and the answers are the same.
  sys = await LeanAgenticSystem.open({ path, seed: 1, bank });
  assert.equal(recall(), before);
  assert.equal(sys.bank.searchInfo().trainedRows, 1700);
  await sys.close();
  await rejectsWithCode(() => sys.bank.searchInfo(), 'ERR_CLOSED');

  // Bad configuration is refused with a hint.
  await rejectsWithCode(() => LeanAgenticSystem.open({ path: ':memory:', bank: { annTreshold: 10 } }), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(() => LeanAgenticSystem.open({ path: ':memory:', bank: { annThreshold: -1 } }), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(() => LeanAgenticSystem.open({ path: ':memory:', bank: { annCandidates: 0 } }), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(() => LeanAgenticSystem.open({ path: ':memory:', bank: { annCandidates: 1e12 } }), 'ERR_INVALID_CONFIG');
});

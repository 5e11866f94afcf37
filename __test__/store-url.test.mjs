// A URL is never taken for a file name: `open({ path: 'postgresql://…' })` used to create a local
// SQLite file under a directory named `postgresql:` (issue #20). Until a store behind a URL is
// supported, such a path is refused with a coded error and nothing is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LeanAgenticSystem } from './helpers.mjs';

const URLS = [
  'postgresql://agent:secret@db.example:5432/bank',
  'postgres://localhost/bank',
  'mysql://localhost/x',
  'file:///tmp/x.db',
  'HTTPS://example.com/store.db',
];

test('a URL as the store path is refused with ERR_INVALID_CONFIG and creates nothing', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-url-'));
  const cwd = process.cwd();
  process.chdir(dir);
  t.after(() => {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const url of URLS) {
    await assert.rejects(LeanAgenticSystem.open({ path: url }), (e) => {
      assert.equal(e.code, 'ERR_INVALID_CONFIG', `${url}: ${e.message}`);
      assert.match(e.message, /URL/);
      assert.ok(!e.message.includes('secret'), 'the password is not echoed');
      return true;
    });
  }
  assert.deepEqual(fs.readdirSync(dir), [], 'no file or directory was created');
});

test('file names that merely contain a colon are still file names', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-colon-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sys = await LeanAgenticSystem.open({ path: path.join(dir, 'store:1.db') });
  await sys.close();
  assert.ok(fs.existsSync(path.join(dir, 'store:1.db')));
});

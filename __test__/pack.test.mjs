// The published shape: `npm pack`, install the tarball into a fresh project, and use it there.
// The tarball carries sources, not a binary, so its install script builds the addon from source
// (sharing this checkout's cargo target directory so dependencies are not compiled again).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('npm pack produces a tarball that installs and works in a fresh project', { timeout: 20 * 60 * 1000 }, () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'la-pack-'));
  try {
    const out = execFileSync(npm, ['pack', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8' });
    const [info] = JSON.parse(out.slice(out.indexOf('[')));
    const files = info.files.map((f) => f.path);
    for (const needed of ['index.js', 'index.d.ts', 'dist/index.js', 'dist/index.d.ts', 'scripts/install.js', 'Cargo.toml', 'Cargo.lock', 'build.rs', 'src/lib.rs']) {
      assert.ok(files.includes(needed), `tarball carries ${needed}`);
    }
    assert.ok(!files.some((f) => f.endsWith('.node')), 'no machine-specific binary in the tarball');
    const tarball = path.join(scratch, info.filename);
    const project = path.join(scratch, 'app');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    execFileSync(npm, ['install', '--no-audit', '--no-fund', tarball], {
      cwd: project,
      stdio: 'inherit',
      env: { ...process.env, CARGO_TARGET_DIR: path.join(root, 'target') },
    });
    const script = `
      const { LeanAgenticSystem } = require('lean-agentic-native');
      (async () => {
        const sys = await LeanAgenticSystem.open({ path: ':memory:' });
        sys.registerAction({ name: 'greet', description: 'Say hello', keywords: ['hello'],
          handler: async () => ({ success: true, result: 'hi' }) });
        const r = await sys.processChunk('hello there', sys.createContext('s'));
        console.log(JSON.stringify({ action: r.action.actionType, result: r.observation.result }));
        await sys.close();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const printed = execFileSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(printed.trim().split('\n').pop()), { action: 'greet', result: 'hi' });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});

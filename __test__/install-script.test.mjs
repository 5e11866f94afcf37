// scripts/install.js where no binary loads and no source build is possible (issue #16): as a
// dependency it must not roll back the user's install (exit 0) and must say what to do, naming
// the minimum Rust version and the WebAssembly package; in the package's own checkout it fails.
// The package is copied without any binary into a scratch folder, and PATH holds no Rust (or a
// fake one that is too old).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathWithoutRust, scratchDir } from './install-helpers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const minimumRust = /^rust-version\s*=\s*"([^"]+)"/m.exec(fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8'))[1];

/** A copy of the package's loader and install script (no binary) at `dir`. */
function packageWithoutBinary(dir) {
  fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
  for (const f of ['index.js', 'package.json', 'Cargo.toml', 'scripts/install.js', 'scripts/source-build.js']) {
    fs.copyFileSync(path.join(root, f), path.join(dir, f));
  }
  return dir;
}

function runInstall(dir, PATH) {
  const env = { ...process.env, PATH };
  delete env.LEAN_AGENTIC_FORCE_BUILD;
  return spawnSync(process.execPath, [path.join(dir, 'scripts', 'install.js')], { cwd: dir, env, encoding: 'utf8' });
}

test('as a dependency without Rust: exit 0 and say what to do', () => {
  const scratch = scratchDir('la-install-script-');
  try {
    const dir = packageWithoutBinary(path.join(scratch.dir, 'app', 'node_modules', 'lean-agentic-native'));
    const r = runInstall(dir, pathWithoutRust());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /no Rust toolchain/);
    assert.match(r.stderr, new RegExp(`Rust ${minimumRust.replace('.', '\\.')} or newer`));
    assert.match(r.stderr, /lean-agentic-native-wasm32-wasi/);
    assert.match(r.stderr, /The install goes on/);
  } finally {
    scratch.remove();
  }
});

test("in the package's own checkout without Rust: the install fails", () => {
  const scratch = scratchDir('la-install-script-');
  try {
    const dir = packageWithoutBinary(path.join(scratch.dir, 'checkout'));
    const r = runInstall(dir, pathWithoutRust());
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /no Rust toolchain/);
  } finally {
    scratch.remove();
  }
});

test('a Rust older than rust-version is named as the problem, before any build', () => {
  const scratch = scratchDir('la-install-script-');
  try {
    const dir = packageWithoutBinary(path.join(scratch.dir, 'app', 'node_modules', 'lean-agentic-native'));
    const bin = path.join(scratch.dir, 'old-rust');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'cargo'), '#!/bin/sh\necho "cargo 1.70.0 (90c541806 2023-05-31)"\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'rustc'), '#!/bin/sh\necho "rustc 1.70.0 (90c541806 2023-05-31)"\n', { mode: 0o755 });
    const r = runInstall(dir, `${bin}${path.delimiter}${pathWithoutRust()}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Rust 1\\.70\\.0 is too old to build the addon: it needs Rust ${minimumRust.replace('.', '\\.')} or newer`));
    assert.doesNotMatch(r.stderr, /building it from source/);
  } finally {
    scratch.remove();
  }
});

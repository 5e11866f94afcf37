#!/usr/bin/env node
// Install step: use the prebuilt addon when one loads for this platform; otherwise build it
// from source with `napi build --platform --release` (needs a Rust toolchain: https://rustup.rs).
// Set LEAN_AGENTIC_FORCE_BUILD=1 to always build.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..');

function binaryLoads() {
  try {
    const mod = require(path.join(root, 'index.js'));
    return typeof mod.NativeSystem === 'function';
  } catch {
    return false;
  }
}

if (process.env.LEAN_AGENTIC_FORCE_BUILD !== '1' && binaryLoads()) {
  process.exit(0);
}

let cli;
try {
  const pkgPath = require.resolve('@napi-rs/cli/package.json', { paths: [root] });
  const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.napi;
  cli = path.join(path.dirname(pkgPath), bin);
} catch (e) {
  console.error('lean-agentic-native: @napi-rs/cli is missing, cannot build the native addon:', e.message);
  process.exit(1);
}

const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (cargo.status !== 0) {
  console.error(
    'lean-agentic-native: no prebuilt binary for ' + process.platform + '-' + process.arch +
      ' and no Rust toolchain to build one. Install Rust (https://rustup.rs) and run npm install again.',
  );
  process.exit(1);
}

console.error('lean-agentic-native: building the native addon from source (release; this takes a few minutes)...');
const args = [cli, 'build', '--platform', '--release', '--features', 'node'];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('lean-agentic-native: native build failed (exit ' + r.status + ')');
  process.exit(r.status || 1);
}
if (!binaryLoads()) {
  console.error('lean-agentic-native: the addon was built but does not load');
  process.exit(1);
}

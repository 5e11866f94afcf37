// The WebAssembly fallback (issue #16): the main package plus lean-agentic-native-wasm32-wasi
// (wasm32-wasip1-threads through napi-rs and @napi-rs/wasm-runtime), installed into a fresh
// project with no Rust toolchain on PATH, install scripts off and no native package, so the
// loader falls back to WebAssembly; the same user program as the native install test runs
// (a chunk, verifications, a batch on the engine's threads, a bank retrieval). A file store is
// refused with ERR_INVALID_CONFIG: SQLite for WASI has no WAL and no file locking (see
// src/memory/store.rs), so the WASM build keeps stores in memory.
//
// It needs npm/wasm32-wasi/ built: `npm run test:wasm` builds it (`build:platforms wasm32-wasi`:
// zig from PyPI and a release build, many minutes) and runs this file; CI runs that. Under plain
// `npm test` the test runs when the package is built and is skipped, saying so, when it is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import sourceBuild from '../scripts/source-build.js';
import { packMain, packPlatform, platformPackages, isBuilt } from '../scripts/pack-local.mjs';
import { freshProject, installWithoutRust, installedBytes, runUserProgram, scratchDir } from './install-helpers.mjs';

const MB = 1e6;
const platform = platformPackages().find((p) => p.name === 'wasm32-wasi');
const skip = platform && !isBuilt(platform) ? 'npm/wasm32-wasi/ is not built: `npm run test:wasm` builds it and runs this test' : false;

test('main + WASM package install without Rust and run the same program on WebAssembly', { skip, timeout: 10 * 60 * 1000 }, (t) => {
  assert.ok(platform, 'npm/wasm32-wasi/ exists');

  const scratch = scratchDir('la-install-wasm-');
  try {
    const main = packMain(scratch.dir);
    const wasm = packPlatform(platform, scratch.dir);
    const project = freshProject(scratch.dir);
    // The WASM package declares cpu "wasm32", so npm skips it wherever a native one exists; a user
    // takes it with `npm install --cpu=wasm32`, which npm applies to optional dependencies (the
    // main package's, or here the project's own, standing in for the registry).
    const { seconds, output } = installWithoutRust(project, { dependencies: [main], optionalDependencies: [wasm] }, ['--cpu=wasm32']);
    assert.doesNotMatch(output, /EBADENGINE/, 'no engine warnings from our packages or their dependencies');
    const ours = installedBytes(project, ['lean-agentic-native', platform.pkg.name]);
    t.diagnostic(
      `install ${seconds.toFixed(1)} s; ours under node_modules ${(ours / MB).toFixed(2)} MB ` +
        `(main ${(main.unpackedSize / MB).toFixed(2)} MB, ${platform.pkg.name} ${(wasm.unpackedSize / MB).toFixed(2)} MB)`,
    );
    assert.ok(seconds < 120, `install took ${seconds.toFixed(1)} s`);
    // Measured 10.7 MB (an 8.7 MB .wasm, stripped, and the 1.8 MB main package); the bound catches
    // a debug or unstripped module.
    assert.ok(ours <= 14 * MB, `our packages take ${(ours / MB).toFixed(2)} MB <= 14 MB`);

    const out = runUserProgram(project);
    assert.equal(out.binding, 'wasm32-wasi', 'the loader fell back to the WASM package');
    assert.deepEqual(
      { chunk: out.chunk, verify: out.verify, batch: out.batch, retrieve: out.retrieve },
      {
        chunk: { action: 'take_note', result: 'noted', decision: 'allow' },
        verify: ['allow', 'deny'],
        batch: 300,
        retrieve: ['Retry with backoff'],
      },
    );
    assert.equal(out.fileStore.code, 'ERR_INVALID_CONFIG', `a file store is refused: ${JSON.stringify(out.fileStore)}`);
    assert.match(out.fileStore.message, /WebAssembly/);
    assert.match(out.fileStore.message, /':memory:'/);
  } finally {
    scratch.remove();
  }
});

test('beside the native package the WASM one is taken only with NAPI_RS_FORCE_WASI=true', { skip, timeout: 30 * 60 * 1000 }, () => {
  const host = sourceBuild.platformArchAbi();
  const native = platformPackages().find((p) => p.name === host);
  assert.ok(native, `npm/${host}/ exists (a platform package for this machine)`);
  let binary;
  if (!isBuilt(native)) {
    const built = sourceBuild.cargoBuild();
    assert.equal(built.error, undefined, 'cargo builds the release addon');
    binary = built.library;
  }
  const scratch = scratchDir('la-install-both-');
  try {
    const main = packMain(scratch.dir);
    const plat = packPlatform(native, scratch.dir, binary);
    const wasm = packPlatform(platform, scratch.dir);
    const project = freshProject(scratch.dir);
    // What the README tells a user who wants both: the WASM package declares cpu "wasm32", so npm
    // installs it next to a native one only with --force.
    installWithoutRust(project, { dependencies: [main, plat, wasm] }, ['--force']);
    const target = (env) =>
      execFileSync(process.execPath, ['--no-warnings', '-e', "console.log(require('lean-agentic-native/native').__napiBindingTarget)"], {
        cwd: project,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      }).trim();
    assert.equal(target({ NAPI_RS_FORCE_WASI: '' }), 'native', 'the native binary is preferred');
    assert.equal(target({ NAPI_RS_FORCE_WASI: 'true' }), 'wasm32-wasi', 'NAPI_RS_FORCE_WASI=true selects WebAssembly');
  } finally {
    scratch.remove();
  }
});

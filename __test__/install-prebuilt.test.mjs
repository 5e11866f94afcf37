// Installing the prebuilt packages the napi-rs way (issue #16): the main package plus this
// machine's platform package (lean-agentic-native-linux-x64-gnu here), into a fresh project with
// no Rust toolchain on PATH and install scripts off (as pnpm >= 10 and bun do by default), then
// a user program runs a chunk, verifications, a batch and a bank retrieval.
//
// The platform package carries npm/<platform>/'s binary when `npm run build:platforms` built it
// (the shipped, glibc-2.28 build); otherwise the one cargo builds here the way the install
// script's source fallback does (`npm install` in this checkout already built it, so this is a
// no-op there). Install time and installed size are printed. The issue's budget is 10 MB of ours
// under node_modules; measured (2026-12-05, x86-64): the stripped glibc-2.28 binary is 13.1 MB
// (fat LTO, opt-level 3: Cedar, SQLite and napi; opt-level "s" made it 10.5 MB but a verified
// processChunk ~48% slower) and the main package 1.8 MB (the Rust sources for the source build),
// so the bound was 16 MB. Session 9 added the PostgreSQL bank (a PostgreSQL client, pool and
// pgvector types): 17.0 MB measured (binary package 14.8 MB, main 2.2 MB), so the bound is 18 MB:
// it still catches an unstripped (17.5 MB binary alone) or debug binary, not the missed target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sourceBuild from '../scripts/source-build.js';
import { packMain, packPlatform, platformPackages, isBuilt } from '../scripts/pack-local.mjs';
import { freshProject, installWithoutRust, installedBytes, runUserProgram, scratchDir } from './install-helpers.mjs';

const MB = 1e6;
/** See the header: 17.0 MB measured; the issue's 10 MB target is not met. */
const MAX_INSTALLED_BYTES = 18 * MB;

test('main + platform package install in a fresh project without Rust or install scripts, and run', { timeout: 30 * 60 * 1000 }, (t) => {
  const host = sourceBuild.platformArchAbi();
  const platform = platformPackages().find((p) => p.name === host);
  assert.ok(platform, `npm/${host}/ exists (a platform package for this machine)`);
  let binary;
  if (!isBuilt(platform)) {
    const built = sourceBuild.cargoBuild();
    assert.equal(built.error, undefined, 'cargo builds the release addon');
    binary = built.library;
  }

  const scratch = scratchDir('la-install-native-');
  try {
    const main = packMain(scratch.dir);
    for (const unwanted of [/^__test__\//, /^tests\//, /^benches\/.*\.mjs$/, /(^|\/)tests\.rs$/, /\.node$/, /\.wasm$/, /^npm\//, /^integrations\//, /^examples\//]) {
      assert.deepEqual(main.files.filter((f) => unwanted.test(f)), [], `the main tarball ships nothing matching ${unwanted}`);
    }
    const plat = packPlatform(platform, scratch.dir, binary);
    assert.deepEqual(plat.files.sort(), ['README.md', ...platform.pkg.files, 'package.json'].sort());

    const project = freshProject(scratch.dir);
    const { seconds, output } = installWithoutRust(project, { dependencies: [main, plat] });
    assert.doesNotMatch(output, /EBADENGINE/, 'no engine warnings from our packages or their dependencies');
    const ours = installedBytes(project, ['lean-agentic-native', platform.pkg.name]);
    t.diagnostic(
      `install ${seconds.toFixed(1)} s; ours under node_modules ${(ours / MB).toFixed(2)} MB ` +
        `(main ${(main.unpackedSize / MB).toFixed(2)} MB, ${platform.pkg.name} ${(plat.unpackedSize / MB).toFixed(2)} MB, ` +
        `binary from ${binary ? 'this machine\'s cargo build' : `npm/${host}/`})`,
    );
    // Generous bound (the target is seconds): catches an install that compiles something.
    assert.ok(seconds < 120, `install took ${seconds.toFixed(1)} s`);

    const out = runUserProgram(project);
    assert.deepEqual(out, {
      binding: 'native',
      chunk: { action: 'take_note', result: 'noted', decision: 'allow' },
      verify: ['allow', 'deny'],
      batch: 300,
      retrieve: ['Retry with backoff'],
      fileStore: 'ok',
    });
    assert.ok(ours <= MAX_INSTALLED_BYTES, `our packages take ${(ours / MB).toFixed(2)} MB <= ${MAX_INSTALLED_BYTES / MB} MB`);
  } finally {
    scratch.remove();
  }
});

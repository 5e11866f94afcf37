// Building the native addon from source without @napi-rs/cli: what `scripts/install.js` runs
// where no prebuilt package loads, and what the install tests use to get this machine's binary.
//
// `napi build` would also regenerate `index.js`/`index.d.ts`, which the package already ships, so
// cargo is called directly and the library it reports is copied to the name the loader tries
// first (`lean-agentic-native.<platform>.node`). Symbols are stripped (CARGO_PROFILE_RELEASE_STRIP)
// so a source install is as small as a prebuilt one.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** The suffix napi-rs gives this machine's binary and package, e.g. `linux-x64-gnu`. */
function platformArchAbi() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null;
    const glibc = report && report.header && report.header.glibcVersionRuntime;
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** The file name the loader (`index.js`) looks for next to itself on this machine. */
function binaryName() {
  return `lean-agentic-native.${platformArchAbi()}.node`;
}

/** `rust-version` from Cargo.toml: the oldest Rust that builds this crate (null if unreadable). */
function minimumRust() {
  try {
    const m = /^rust-version\s*=\s*"([^"]+)"/m.exec(fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8'));
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/** Whether dotted version `have` is older than `want` ("1.87.0" < "1.88"). */
function versionBelow(have, want) {
  const a = have.split('.').map(Number);
  const b = want.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] || 0;
    const y = b[i] || 0;
    if (x !== y) return x < y;
  }
  return false;
}

/**
 * What stands in the way of a source build: `null` when cargo and a new enough rustc are on
 * PATH, else a sentence saying what is missing.
 */
function toolchainProblem() {
  const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  if (cargo.error || cargo.status !== 0) return 'no Rust toolchain (`cargo`) on PATH to build the addon from source.';
  const rustc = spawnSync('rustc', ['--version'], { encoding: 'utf8' });
  const have = rustc.status === 0 ? (/rustc (\d+\.\d+(?:\.\d+)?)/.exec(rustc.stdout) || [])[1] : null;
  const want = minimumRust();
  if (have && want && versionBelow(have, want)) {
    return `Rust ${have} is too old to build the addon: it needs Rust ${want} or newer (\`rustup update\`).`;
  }
  return null;
}

/**
 * `cargo build --release --lib --features node` (stripped) in `root`; returns `{ library }`, the
 * path cargo reports for the cdylib, or `{ error }`. Compiler output goes to stderr.
 */
function cargoBuild(env = process.env) {
  const args = ['build', '--release', '--lib', '--features', 'node', '--message-format=json-render-diagnostics'];
  const r = spawnSync('cargo', args, {
    cwd: root,
    env: { CARGO_PROFILE_RELEASE_STRIP: 'symbols', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) return { error: r.error.message };
  if (r.status !== 0) return { error: `cargo exited with ${r.status}` };
  let library = null;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (msg.reason === 'compiler-artifact' && msg.target && msg.target.kind.includes('cdylib')) {
      library = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) || library;
    }
  }
  return library ? { library } : { error: 'cargo did not report the cdylib it built' };
}

/** Builds from source and copies the library next to the loader; returns `{ file }` or `{ error }`. */
function buildIntoPackage() {
  const built = cargoBuild();
  if (built.error) return built;
  const file = path.join(root, binaryName());
  fs.copyFileSync(built.library, file);
  return { file };
}

module.exports = { root, platformArchAbi, binaryName, minimumRust, versionBelow, toolchainProblem, cargoBuild, buildIntoPackage };

#!/usr/bin/env node
// `npm run build:platforms [-- <platform>...]`: builds the per-platform packages' binaries on a
// Linux machine, into npm/<platform>/ (the layout of `napi create-npm-dirs`, ready for
// `npm run pack:local` or `napi prepublish`).
//
//   linux-x64-gnu    x86_64-unknown-linux-gnu, linked against glibc 2.28 (zig)
//   linux-arm64-gnu  aarch64-unknown-linux-gnu, glibc 2.28 (zig)
//   linux-x64-musl   x86_64-unknown-linux-musl (Alpine; zig, dynamically linked musl)
//   wasm32-wasi      wasm32-wasip1-threads through `napi build` (the WebAssembly fallback)
//
// With no arguments it builds all four. Native binaries are release builds with symbols
// stripped; after each build the script checks the result (the highest GLIBC_ symbol version
// `objdump -T` lists must be <= 2.28, `file` must say "stripped") and prints its size.
// macOS and Windows packages are built on runners of those systems (`napi build --release
// --strip --target <triple>`, then copy into npm/<platform>/).
//
// Why zig: the glibc baseline. A plain `cargo build` links against this machine's glibc
// (2.34+ symbols), which older distributions and CI images cannot load; `cargo zigbuild --target
// <triple>.2.28` links against glibc 2.28's symbol versions instead, and zig also cross-links
// aarch64 and musl and compiles SQLite's C code for WASI, with no system cross toolchain.
//
// What it needs, set up on first use, from the package registries only:
// - zig and cargo-zigbuild from PyPI, in a project-local virtualenv `.venv-zig` (git-ignored;
//   ~450 MB) created with `python3 -m venv`;
// - the Rust targets (`rustup target add`);
// - for wasm32-wasi, the dev dependencies `@napi-rs/cli` and `emnapi` (npm install).
// The WASM build also sets RUSTC_BOOTSTRAP=parking_lot_core: parking_lot parks threads on
// wasm32-wasip1-threads only through its `nightly` feature (see Cargo.toml), which needs one
// unstable intrinsic; the variable unlocks it for that crate alone, on the stable toolchain.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const venv = path.join(root, '.venv-zig');
const venvBin = path.join(venv, 'bin');
const BINARY = 'lean-agentic-native';
const GLIBC_BASELINE = '2.28';
// Known-good versions on this project's build machine (Linux x86-64).
const PYPI = ['ziglang==0.17.1', 'cargo-zigbuild==0.24.1'];

const PLATFORMS = {
  'linux-x64-gnu': { triple: 'x86_64-unknown-linux-gnu', zigTarget: `x86_64-unknown-linux-gnu.${GLIBC_BASELINE}`, glibc: true },
  'linux-arm64-gnu': { triple: 'aarch64-unknown-linux-gnu', zigTarget: `aarch64-unknown-linux-gnu.${GLIBC_BASELINE}`, glibc: true },
  'linux-x64-musl': {
    triple: 'x86_64-unknown-linux-musl',
    zigTarget: 'x86_64-unknown-linux-musl',
    // A cdylib cannot link musl's C runtime statically; Node on Alpine loads it dynamically.
    env: { CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS: '-C target-feature=-crt-static' },
  },
  'wasm32-wasi': { triple: 'wasm32-wasip1-threads', wasm: true },
};

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  return r;
}

function output(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** zig and cargo-zigbuild in `.venv-zig`, installed from PyPI the first time. */
function ensureZig() {
  if (!fs.existsSync(path.join(venvBin, 'cargo-zigbuild'))) {
    console.error(`build-platforms: installing ${PYPI.join(' ')} into ${path.relative(root, venv)}/ (PyPI)`);
    run('python3', ['-m', 'venv', venv]);
    run(path.join(venvBin, 'pip'), ['install', '--quiet', ...PYPI]);
  }
  // The ziglang wheel ships `zig` inside the package; napi's --cross-compile looks for it on PATH.
  const zigLink = path.join(venvBin, 'zig');
  if (!fs.existsSync(zigLink)) {
    const lib = path.join(venv, 'lib');
    const python = fs.readdirSync(lib).find((d) => d.startsWith('python'));
    fs.symlinkSync(path.join(lib, python, 'site-packages', 'ziglang', 'zig'), zigLink);
  }
  return { PATH: `${venvBin}${path.delimiter}${process.env.PATH}` };
}

function ensureRustTarget(triple) {
  const installed = output('rustup', ['target', 'list', '--installed']).split('\n');
  if (!installed.includes(triple)) run('rustup', ['target', 'add', triple]);
}

/** The cdylib cargo reports in its JSON messages. */
function reportedLibrary(stdout) {
  let library = null;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (msg.reason === 'compiler-artifact' && msg.target?.kind.includes('cdylib')) {
      library = msg.filenames.find((f) => f.endsWith('.so')) ?? library;
    }
  }
  if (!library) throw new Error('cargo did not report the cdylib it built');
  return library;
}

function versionAbove(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  }
  return false;
}

/** The checks a shipped native binary must pass; returns a one-line summary. */
function checkNative(file, platform) {
  const described = output('file', ['-L', file]).trim();
  if (!/\bstripped\b/.test(described) || /not stripped/.test(described)) {
    throw new Error(`${file} is not stripped: ${described}`);
  }
  let glibc = '';
  if (platform.glibc) {
    const symbols = output('objdump', ['-T', file]);
    const versions = [...new Set([...symbols.matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1]))];
    const newest = versions.reduce((a, b) => (versionAbove(b, a) ? b : a), '0');
    if (versionAbove(newest, GLIBC_BASELINE)) {
      throw new Error(`${file} needs GLIBC_${newest}, above the ${GLIBC_BASELINE} baseline`);
    }
    glibc = `, newest glibc symbol GLIBC_${newest}`;
  }
  return `${described.split(',').slice(0, 2).join(',')}, stripped${glibc}`;
}

function buildNative(name, platform, env) {
  ensureRustTarget(platform.triple);
  const args = ['zigbuild', '--release', '--lib', '--features', 'node', '--target', platform.zigTarget, '--message-format=json-render-diagnostics'];
  const stdout = output('cargo', args, {
    env: { ...process.env, ...env, ...platform.env, CARGO_PROFILE_RELEASE_STRIP: 'symbols' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dest = path.join(root, 'npm', name, `${BINARY}.${name}.node`);
  fs.copyFileSync(reportedLibrary(stdout), dest);
  return { dest, summary: checkNative(dest, platform) };
}

function buildWasm(name, platform, env) {
  ensureRustTarget(platform.triple);
  const out = path.join(root, 'target', 'napi-wasm');
  fs.rmSync(out, { recursive: true, force: true });
  const napi = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
  if (!fs.existsSync(napi)) throw new Error('@napi-rs/cli is not installed: run npm install first');
  run(process.execPath, [napi, 'build', '--platform', '--release', '--features', 'node', '--target', platform.triple, '--cross-compile', '--output-dir', out], {
    env: {
      ...process.env,
      ...env,
      // SQLite's C code must be compiled for shared memory to link into a threaded module.
      CFLAGS_wasm32_wasip1_threads: '-matomics -mbulk-memory',
      RUSTC_BOOTSTRAP: 'parking_lot_core',
      CARGO_PROFILE_RELEASE_STRIP: 'symbols',
    },
  });
  const dir = path.join(root, 'npm', name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const file of pkg.files) fs.copyFileSync(path.join(out, file), path.join(dir, file));
  const dest = path.join(dir, pkg.files.find((f) => f.endsWith('.wasm')));
  return { dest, summary: output('file', ['-L', dest]).trim().split(': ').pop() };
}

const requested = process.argv.slice(2);
for (const name of requested) {
  if (!PLATFORMS[name]) {
    console.error(
      `build-platforms: unknown platform '${name}'; this script builds ${Object.keys(PLATFORMS).join(', ')} ` +
        '(macOS and Windows packages are built on runners of those systems).',
    );
    process.exit(2);
  }
}
if (process.platform !== 'linux') {
  console.error('build-platforms: run this on Linux (it cross-builds the Linux and WebAssembly packages with zig).');
  process.exit(2);
}
const env = ensureZig();
const results = [];
for (const name of requested.length ? requested : Object.keys(PLATFORMS)) {
  const platform = PLATFORMS[name];
  const started = Date.now();
  console.error(`build-platforms: ${name} (${platform.triple}) ...`);
  const { dest, summary } = platform.wasm ? buildWasm(name, platform, env) : buildNative(name, platform, env);
  const seconds = Math.round((Date.now() - started) / 1000);
  const mb = (fs.statSync(dest).size / 1e6).toFixed(2);
  results.push(`${name}: ${path.relative(root, dest)} ${mb} MB in ${seconds} s (${summary})`);
  console.error(`build-platforms: ${results[results.length - 1]}`);
}
console.log(results.join('\n'));

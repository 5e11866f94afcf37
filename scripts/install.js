#!/usr/bin/env node
// Install step of lean-agentic-native: make sure a native addon loads, building one from source
// only where no prebuilt binary exists.
//
// 1. If `index.js` (the napi-rs loader) already loads a binding, stop. That is the usual case: npm
//    installed the per-platform package (`lean-agentic-native-<platform>`, an optional
//    dependency) next to this one, or this checkout already has a local build.
// 2. Otherwise build from source with cargo (scripts/source-build.js: `cargo build --release
//    --lib --features node`, stripped) and copy the library to the `.node` name the loader tries
//    first. This needs a Rust toolchain (at least `rust-version` from Cargo.toml) but not
//    @napi-rs/cli, which is only a development dependency.
//
// When there is no binary and no build (no cargo, too old a Rust, or the build failed), what
// happens depends on who is installing:
// - As a dependency of someone's project (this package sits inside a node_modules folder) the
//   script prints what to do and exits 0. A non-zero exit would make npm roll back the user's
//   whole install, every other package included, for an addon that only matters once it is
//   loaded, and on machines that can still use the WebAssembly build
//   (lean-agentic-native-wasm32-wasi). The cost: npm hides the output of install scripts that
//   succeed, so the user meets the problem when `require('lean-agentic-native')` throws the
//   loader's "Cannot find native binding" error, whose `cause` chain lists every file and package
//   it tried (`npm install --foreground-scripts` shows this script's message).
// - In this repository's own checkout (development, CI) it exits 1, so a broken build is never
//   mistaken for a working one.
//
// LEAN_AGENTIC_FORCE_BUILD=1 builds even when a binary loads. CARGO_TARGET_DIR is honoured.
'use strict';
const path = require('node:path');
const { root, platformArchAbi, binaryName, minimumRust, toolchainProblem, buildIntoPackage } = require('./source-build.js');

const isDependency = root.split(path.sep).includes('node_modules');
const tag = 'lean-agentic-native:';

function bindingLoads() {
  try {
    const mod = require(path.join(root, 'index.js'));
    return typeof mod.NativeSystem === 'function';
  } catch {
    return false;
  }
}

function giveUp(reason) {
  const target = platformArchAbi();
  const rust = minimumRust();
  console.error(
    [
      `${tag} ${reason}`,
      `No prebuilt binary loaded for ${target}: the optional package lean-agentic-native-${target} is not installed`,
      '(none is published for this platform, or optional dependencies were omitted: --omit=optional / --no-optional).',
      'To fix it, either:',
      `  - install Rust${rust ? ' ' + rust + ' or newer' : ''} (https://rustup.rs), then run \`npm rebuild lean-agentic-native\`; or`,
      '  - use the WebAssembly build, which runs anywhere (stores in memory only):',
      '    `npm install --force lean-agentic-native-wasm32-wasi` (--force: the package declares cpu "wasm32").',
      isDependency
        ? 'The install goes on; loading lean-agentic-native fails until one of these is done.'
        : "This is the package's own checkout, so the install fails.",
    ].join('\n'),
  );
  process.exit(isDependency ? 0 : 1);
}

if (process.env.LEAN_AGENTIC_FORCE_BUILD !== '1' && bindingLoads()) {
  process.exit(0);
}
const problem = toolchainProblem();
if (problem) giveUp(problem);

const started = Date.now();
console.error(`${tag} no prebuilt binary for ${platformArchAbi()}; building it from source (release; several minutes)...`);
const built = buildIntoPackage();
if (built.error) giveUp(`building the addon from source failed: ${built.error} (the compiler output is above).`);
if (!bindingLoads()) giveUp(`the addon was built (${binaryName()}) but does not load.`);
console.error(`${tag} built ${binaryName()} in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(0);

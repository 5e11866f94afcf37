#!/usr/bin/env node
// `npm run pack:local`: writes what a user installs into packed/ (git-ignored):
//   lean-agentic-native-<version>.tgz             the main package (`npm pack`: the JS API, the
//                                                  napi-rs loader, types, and the Rust sources
//                                                  the install script builds from where no
//                                                  prebuilt package exists)
//   lean-agentic-native-<platform>-<version>.tgz  one per npm/<platform>/ whose binary has been
//                                                  built (`npm run build:platforms`)
// Try it in any project: `npm install packed/lean-agentic-native-<version>.tgz
// packed/lean-agentic-native-linux-x64-gnu-<version>.tgz`; the WebAssembly package declares cpu
// "wasm32" (so that npm skips it wherever a native one exists): install it with `--force`, or as
// an optional dependency with `--cpu=wasm32`; beside a native binary, NAPI_RS_FORCE_WASI=true
// selects it.
// The install tests (__test__/install-*.test.mjs) pack through the same functions.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** `npm pack` of the package in `dir` into `dest`; returns the tarball's path and file list. */
export function npmPack(dir, dest) {
  fs.mkdirSync(dest, { recursive: true });
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dest], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  return {
    name: info.name,
    tarball: path.join(dest, info.filename),
    files: info.files.map((f) => f.path),
    size: info.size,
    unpackedSize: info.unpackedSize,
  };
}

/** The platform package folders (npm/<platform>/) and their package.json. */
export function platformPackages() {
  const npmDir = path.join(root, 'npm');
  return fs.readdirSync(npmDir).map((name) => {
    const dir = path.join(npmDir, name);
    return { name, dir, pkg: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) };
  });
}

/** Whether every file a platform package ships (its `files`) has been built. */
export function isBuilt({ dir, pkg }) {
  return pkg.files.every((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * Packs one platform package into `dest`. `binary` (a path) stands in for the package's `.node`
 * file when it has not been built into npm/<platform>/: the package is then staged in a temporary
 * folder beside `dest` with that binary.
 */
export function packPlatform(platform, dest, binary) {
  if (!binary) return npmPack(platform.dir, dest);
  const stage = fs.mkdtempSync(path.join(dest, `.stage-${platform.name}-`));
  try {
    for (const f of ['package.json', 'README.md']) fs.copyFileSync(path.join(platform.dir, f), path.join(stage, f));
    const [nodeFile] = platform.pkg.files.filter((f) => f.endsWith('.node'));
    fs.copyFileSync(binary, path.join(stage, nodeFile));
    return npmPack(stage, dest);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** Packs the main package (its `prepack` compiles the TypeScript) into `dest`. */
export function packMain(dest) {
  return npmPack(root, dest);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dest = path.join(root, 'packed');
  fs.mkdirSync(dest, { recursive: true });
  for (const f of fs.readdirSync(dest)) if (f.startsWith('lean-agentic-native') && f.endsWith('.tgz')) fs.rmSync(path.join(dest, f));
  const lines = [];
  const show = (r) => lines.push(`${path.relative(root, r.tarball)}  ${(r.size / 1e6).toFixed(2)} MB packed, ${(r.unpackedSize / 1e6).toFixed(2)} MB unpacked`);
  show(packMain(dest));
  const skipped = [];
  for (const platform of platformPackages()) {
    if (isBuilt(platform)) show(packPlatform(platform, dest));
    else skipped.push(platform.name);
  }
  console.log(lines.join('\n'));
  if (skipped.length) console.log(`not built here (no tarball): ${skipped.join(', ')}`);
}

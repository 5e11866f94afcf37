// Strict TypeScript in a user's project (issue #16, part 4): the package's declarations compile
// with `strict` and without `skipLibCheck` where `ws`'s types are not installed (TS7016 before),
// the config types refuse what the engine refuses (`@ts-expect-error` lines in
// `types/user.ts`), and `bridge.hooks()` fits the Claude Agent SDK's `options.hooks`
// (`types/sdk-hooks.ts`).
//
// The project is built in a temp dir: `node_modules/lean-agentic-native` is a copy of what the
// package ships for types (package.json, dist/, index.d.ts), so nothing of our dev dependencies
// (like @types/ws) is reachable from it; @types/node and the SDK are linked in.
import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const SDK = '@anthropic-ai/claude-agent-sdk';

function project(files, { skipLibCheck = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'la-ts-user-'));
  const pkg = join(dir, 'node_modules', 'lean-agentic-native');
  mkdirSync(pkg, { recursive: true });
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(root, 'index.d.ts'), join(pkg, 'index.d.ts'));
  cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true, filter: (p) => !p.endsWith('.js.map') });
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  symlinkSync(realpathSync(join(root, 'node_modules', '@types', 'node')), join(dir, 'node_modules', '@types', 'node'));
  if (files.some((f) => f === 'sdk-hooks.ts')) {
    mkdirSync(join(dir, 'node_modules', '@anthropic-ai'), { recursive: true });
    symlinkSync(realpathSync(join(root, 'node_modules', SDK)), join(dir, 'node_modules', SDK));
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, skipLibCheck, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', types: ['node'] },
      files,
    }),
  );
  for (const f of files) cpSync(join(root, '__test__', 'types', f), join(dir, f));
  return dir;
}

function compile(dir) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', cwd: dir });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('a strict user file compiles against the shipped declarations without skipLibCheck or @types/ws', () => {
  assert.ok(existsSync(join(root, 'dist', 'index.d.ts')), 'run `npx tsc -p .` first (npm test does)');
  const dir = project(['user.ts']);
  try {
    assert.equal(existsSync(join(dir, 'node_modules', '@types', 'ws')), false);
    const { status, output } = compile(dir);
    assert.equal(status, 0, output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bridge.hooks() type-checks as the Claude Agent SDK options.hooks', (t) => {
  if (!existsSync(join(root, 'node_modules', SDK, 'package.json'))) {
    t.skip(`${SDK} is not installed (it comes with agentic-flow, a dev dependency)`);
    return;
  }
  // skipLibCheck here only because the SDK's own sdk.d.ts (0.1.77) fails TypeScript 5.9's lib
  // check (TS2846: `export * from './entrypoints/agentSdkTypes.d.ts'`), whoever uses it; our
  // declarations are lib-checked by the test above.
  const dir = project(['sdk-hooks.ts'], { skipLibCheck: true });
  try {
    const { status, output } = compile(dir);
    assert.equal(status, 0, output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the must-not-compile lines do fail to compile (the checks above can fail)', () => {
  const dir = project(['user.ts']);
  try {
    // drop the directives: each line they guarded must now be an error
    const file = join(dir, 'user.ts');
    const original = readFileSync(file, 'utf8');
    const directives = original.split('// @ts-expect-error').length - 1;
    writeFileSync(file, original.replaceAll('// @ts-expect-error', '// (expected error)'));
    const { status, output } = compile(dir);
    assert.notEqual(status, 0);
    const errors = output.split('\n').filter((l) => l.includes('user.ts(') && l.includes('error TS'));
    assert.ok(directives >= 6);
    assert.equal(errors.length, directives, output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

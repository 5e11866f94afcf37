// Every `js`/`ts` code block of the docs runs (issue #16, part 3), so examples cannot rot.
//
// Each block of README.md and the other Markdown docs is written as an ES module into
// `.readme-examples/` inside the package (so `import … from 'lean-agentic-native'` resolves to
// this package, as it does for a user) and run by its own `node` process in a fresh temporary
// working directory (stores the example writes land there). It must exit 0. `ts` blocks are
// transpiled first (types are checked by `typescript-user.test.mjs`, not here). A block that is
// deliberately partial is marked by an HTML comment on the line before its fence:
//   <!-- example: skip — the reason -->
// and reported as skipped with that reason.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, '.readme-examples');
const LANGS = new Set(['js', 'javascript', 'mjs', 'ts', 'typescript']);
const SKIP = /^<!--\s*example:\s*skip\s*[—–-]\s*(.+?)\s*-->$/;

/** The Markdown docs: the package's top-level *.md and docs/**.md. */
function docs() {
  const top = readdirSync(root).filter((f) => f.endsWith('.md')).map((f) => join(root, f));
  const more = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'), { recursive: true }).filter((f) => String(f).endsWith('.md')).map((f) => join(root, 'docs', String(f)))
    : [];
  return [...top, ...more];
}

/** The fenced js/ts blocks of one document: `{ line, lang, code, skip }`. */
export function blocks(text) {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^```(\w+)\s*$/);
    if (!open) {
      if (/^```/.test(lines[i])) {
        // a fence of another kind: skip to its end
        const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
        if (end > i) i = end;
      }
      continue;
    }
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    assert.ok(end > i, `unclosed code fence at line ${i + 1}`);
    if (LANGS.has(open[1])) {
      let k = i - 1;
      while (k >= 0 && lines[k].trim() === '') k--;
      const skip = k >= 0 ? lines[k].trim().match(SKIP) : null;
      out.push({ line: i + 1, lang: open[1], code: lines.slice(i + 1, end).join('\n'), skip: skip ? skip[1] : null });
    }
    i = end;
  }
  return out;
}

function transpile(code) {
  const ts = createRequire(import.meta.url)('typescript');
  return ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}

mkdirSync(outDir, { recursive: true });
const found = docs().map((file) => ({ file, blocks: blocks(readFileSync(file, 'utf8')) }));

test('the docs have examples to run, and every skip gives a reason', () => {
  const all = found.flatMap((d) => d.blocks);
  assert.ok(all.length >= 10, `found ${all.length} js/ts blocks`);
  const skipped = all.filter((b) => b.skip);
  assert.ok(skipped.length <= all.length / 4, 'most examples run');
});

for (const { file, blocks: list } of found) {
  for (const b of list) {
    const name = `${basename(file)}:${b.line} (${b.lang})`;
    test(`example ${name} runs`, (t) => {
      if (b.skip) {
        t.skip(b.skip);
        return;
      }
      const code = b.lang.startsWith('t') ? transpile(b.code) : b.code;
      const script = join(outDir, `${basename(file, '.md')}-L${b.line}.mjs`);
      writeFileSync(script, `${code}\n`);
      const cwd = mkdtempSync(join(tmpdir(), 'la-example-'));
      try {
        const r = spawnSync(process.execPath, [script], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
        assert.equal(r.signal, null, `${name} was killed (${r.signal}) — a hang?\n${r.stdout}\n${r.stderr}`);
        assert.equal(r.status, 0, `${name} failed:\n${r.stderr || r.stdout}`);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    });
  }
}

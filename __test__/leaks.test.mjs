// No native memory outlives `close()`: opening, using and closing systems in a loop keeps RSS and
// the thread count flat, even while every closed system's JS object stays alive. Before the fix
// each open + close kept ~4.6 MB (35 MB with learner.hashBits 22) and three threads.
// The loop runs in a child process with --expose-gc (`leak_cycles.cjs`), so this process's own
// heap does not blur the numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'leak_cycles.cjs');

function cycles(count, checkpoint, hashBits) {
  const args = ['--expose-gc', SCRIPT, String(count), String(checkpoint)];
  if (hashBits !== undefined) args.push(String(hashBits));
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 240_000 });
  assert.equal(child.status, 0, `child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop());
}

test('200 open + use + close cycles keep RSS and threads flat (closed systems kept alive)', { timeout: 300_000 }, () => {
  const s = cycles(200, 20);
  const growth = s.end.rssMb - s.checkpoint.rssMb;
  // Before: ~830 MB more after 200 than after 20 cycles. Allocator slack stays far below 40 MB.
  assert.ok(growth < 40, `RSS grew ${growth.toFixed(1)} MB from cycle 20 (${s.checkpoint.rssMb.toFixed(1)} MB) to 200`);
  // Before: three more threads (two batch threads, one journal writer) per cycle.
  assert.ok(s.end.threads <= s.checkpoint.threads + 2, `threads ${s.checkpoint.threads} -> ${s.end.threads}`);
  assert.equal(s.kept, 200);
  assert.equal(s.closedConfigReadable, true, 'a closed system still tells its config');
});

test('large learner tables are freed on close too (learner.hashBits 22)', { timeout: 300_000 }, () => {
  const s = cycles(12, 2, 22);
  const growth = s.end.rssMb - s.checkpoint.rssMb;
  // Before: ~35 MB per cycle, ~350 MB over these 10 cycles.
  assert.ok(growth < 60, `RSS grew ${growth.toFixed(1)} MB over 10 cycles with hashBits 22`);
});

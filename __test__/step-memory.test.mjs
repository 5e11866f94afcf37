// Memory does not grow with the number of steps: what a step leaves behind in memory is bounded
// (history window, feedback ring, journal buffer, caches) and the knowledge graph keeps at most
// 10,000 values, so a stream whose every chunk names a new number (`... #<i>`, like the bench)
// stays flat; the on-disk journal is the record of every step. Before the fix each such chunk
// added a graph node (~300-500 bytes): +315 MB over a million chunks.
// The steps run in a child process with --expose-gc (`step_memory.cjs`). The million-chunk figure
// is measured by hand: `node --expose-gc __test__/step_memory.cjs 1000000 100000`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'step_memory.cjs');

test('120,000 steps naming a new number each keep native memory flat after 20,000', { timeout: 300_000 }, () => {
  const child = spawnSync(process.execPath, ['--expose-gc', SCRIPT, '120000', '20000'], { encoding: 'utf8', timeout: 280_000 });
  assert.equal(child.status, 0, `child failed: ${child.stderr}`);
  const s = JSON.parse(child.stdout.trim().split('\n').pop());
  assert.equal(s.journal, 120_000, 'every step is journaled on disk');
  assert.ok(s.graph.entities <= 10_100, `graph holds ${s.graph.entities} entities`);
  assert.ok(s.graph.valuesNotKept >= 100_000, `valuesNotKept ${s.graph.valuesNotKept}`);
  // Native memory: RSS without V8's heap (which V8 sizes as it likes). Before: +32 MB here (debug build).
  const native = (p) => p.rssMb - p.heapTotalMb;
  const growth = native(s.atEnd) - native(s.atCheckpoint);
  assert.ok(
    growth < 20,
    `native memory grew ${growth.toFixed(1)} MB from step 20,000 (${native(s.atCheckpoint).toFixed(1)} MB) to 120,000 (RSS ${s.atCheckpoint.rssMb.toFixed(1)} -> ${s.atEnd.rssMb.toFixed(1)} MB)`,
  );
});

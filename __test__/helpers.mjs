// Shared test helpers.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
export const lib = require('../dist/index.js');
export const { LeanAgenticSystem } = lib;

/** Opens an in-memory system with a fixed seed. */
export function openMemory(extra = {}) {
  return LeanAgenticSystem.open({ path: ':memory:', seed: 1, ...extra });
}

/** Asserts that `fn` (sync or async) fails with an Error carrying `code`. */
export async function rejectsWithCode(fn, code) {
  await assert.rejects(async () => fn(), (e) => {
    assert.ok(e instanceof Error, 'an Error instance');
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    assert.ok(e.message.length > 10, 'a message that says what to fix');
    return true;
  });
}

/**
 * Registers a built-in `note` action and a `call` action whose JS handler records the text of
 * each chunk it handles in `seen` (so tests can see which chunks reached a handler, in order).
 */
export function registerNoteAndCall(sys, seen) {
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  sys.registerAction({
    name: 'call',
    description: 'Place a call',
    keywords: ['call'],
    handler: (action) => {
      seen.push(action.parameters.text);
      return { success: true };
    },
  });
}

/** mulberry32: a small seeded PRNG (reproducible random tests: same seed, same sequence). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `fn` with agentic-flow's console chatter muted (console.error stays). */
export async function quiet(fn) {
  const saved = [console.log, console.info, console.warn];
  console.log = console.info = console.warn = () => {};
  try {
    return await fn();
  } finally {
    [console.log, console.info, console.warn] = saved;
  }
}

/** {@link quiet} for synchronous `fn`. */
export function quietSync(fn) {
  const saved = [console.log, console.info, console.warn];
  console.log = console.info = console.warn = () => {};
  try {
    return fn();
  } finally {
    [console.log, console.info, console.warn] = saved;
  }
}

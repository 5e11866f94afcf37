// `actionThreshold` and what a step does when no registered action reaches it (issue #16, part 3:
// the README said irrelevant actions were dropped, yet 'note one' ran get_weather).
import test from 'node:test';
import assert from 'node:assert/strict';
import { openMemory, rejectsWithCode } from './helpers.mjs';

function registerWeather(sys, ran) {
  sys.registerAction({
    name: 'get_weather',
    description: 'Look up the weather forecast for a city',
    keywords: ['weather', 'forecast'],
    handler: async () => {
      ran.push('get_weather');
      return { success: true, result: 'sunny' };
    },
  });
}

test("by default ('choose') the learner still picks among actions under the threshold, and the step says so", async () => {
  const sys = await openMemory();
  try {
    const ran = [];
    registerWeather(sys, ran);
    const ctx = sys.createContext('s');
    const r = await sys.processChunk('note one', ctx);
    assert.equal(r.action.actionType, 'get_weather');
    assert.deepEqual(ran, ['get_weather']);
    const relevant = await sys.processChunk('weather in Tokyo', ctx);
    assert.equal(relevant.action.actionType, 'get_weather');
  } finally {
    await sys.close();
  }
});

test("noRelevantAction: 'skip' runs nothing when no action reaches actionThreshold, and names the best one", async () => {
  const sys = await openMemory({ noRelevantAction: 'skip', actionThreshold: 0.3 });
  try {
    const ran = [];
    registerWeather(sys, ran);
    sys.registerAction({ name: 'take_note', description: 'Write down a note', keywords: ['note', 'remember'] });
    const ctx = sys.createContext('s');
    const r = await sys.processChunk('book a table for two', ctx);
    assert.equal(r.action.actionType, 'none');
    assert.equal(r.observation.success, false);
    assert.match(r.observation.error, /no action is relevant/);
    assert.match(r.observation.error, /actionThreshold 0\.3/);
    assert.equal(r.verified, false);
    assert.deepEqual(ran, [], 'no handler ran');
    // a relevant chunk still runs its action, and only relevant ones are candidates
    const w = await sys.processChunk('weather forecast for Tokyo', ctx);
    assert.equal(w.action.actionType, 'get_weather');
    assert.deepEqual(ran, ['get_weather']);
    // batches (full and summary) skip the same way
    const batch = await sys.processBatch(['another table', 'remember the note'], ctx, { detail: 'summary' });
    assert.deepEqual(batch.map((s) => s.action), ['none', 'take_note']);
    assert.match(batch[0].error, /no action is relevant/);
    // the skipped steps learned nothing and ran nothing
    assert.equal(batch[0].learned, false);
    assert.deepEqual(ran, ['get_weather']);
  } finally {
    await sys.close();
  }
});

test('noRelevantAction is checked at open', async () => {
  await rejectsWithCode(() => openMemory({ noRelevantAction: 'drop' }), 'ERR_INVALID_CONFIG');
  await rejectsWithCode(() => openMemory({ noRelevantAction: true }), 'ERR_INVALID_CONFIG');
});

// A run that learns: the success rate after 200 chunks is clearly above the first 20.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMemory } from './helpers.mjs';

test('the learner prefers the action that succeeds', async () => {
  const sys = await openMemory({ explorationRate: 0.1, seed: 3 });
  sys.registerAction({
    name: 'weather_api',
    description: 'Reliable weather service',
    keywords: ['weather'],
    handler: async () => ({ success: true, result: 'sunny' }),
  });
  sys.registerAction({
    name: 'weather_scraper',
    description: 'Flaky weather scraper',
    keywords: ['weather'],
    // The caller's prior wrongly favours the scraper: learning has to overturn it.
    expectedReward: 0.9,
    handler: async () => ({ success: false, result: null }),
  });
  const ctx = sys.createContext('learn');
  const cities = ['Tokyo', 'Paris', 'Berlin', 'Lima', 'Cairo'];
  const success = [];
  for (let i = 0; i < 220; i++) {
    const r = await sys.processChunk(`What is the weather in ${cities[i % cities.length]} today?`, ctx);
    success.push(r.observation.success ? 1 : 0);
  }
  const rate = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = rate(success.slice(0, 20));
  const last = rate(success.slice(-200));
  assert.ok(last >= first + 0.25, `success rate rose from ${first} to ${last}`);
  assert.ok(last >= 0.85, `late success rate ${last}`);
  await sys.close();
});

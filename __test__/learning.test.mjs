// A run that learns: two actions fit every question, but each only succeeds for one kind.
// The learner must learn from outcomes which action suits which context; the success rate over
// the last 200 of 220 chunks must be clearly above the first 20.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMemory } from './helpers.mjs';

const CITIES = ['Tokyo', 'Paris', 'Berlin', 'Lima', 'Cairo', 'Oslo', 'Rome'];
const rate = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function run(seed) {
  const sys = await openMemory({ explorationRate: 0.1, seed });
  const isWeather = (text) => /weather|rain|forecast/.test(text);
  sys.registerAction({
    name: 'weather_service',
    description: 'Answers travel questions with the weather service',
    keywords: ['weather', 'flights', 'travel'],
    // Always succeeds for weather questions, fails for the others.
    handler: async (action) => ({ success: isWeather(action.parameters.text) }),
  });
  sys.registerAction({
    name: 'flight_service',
    description: 'Answers travel questions with the flight search service',
    keywords: ['weather', 'flights', 'travel'],
    handler: async (action) => ({ success: !isWeather(action.parameters.text) }),
  });
  const ctx = sys.createContext(`learn-${seed}`);
  const success = [];
  for (let i = 0; i < 220; i++) {
    const city = CITIES[(i * 5 + seed) % CITIES.length];
    const text = (i * 7 + seed) % 3 === 0 ? `Are there cheap flights to ${city}?` : `What is the weather forecast in ${city}?`;
    const r = await sys.processChunk(text, ctx);
    success.push(r.observation.success ? 1 : 0);
  }
  await sys.close();
  return { first: rate(success.slice(0, 20)), last: rate(success.slice(-200)) };
}

test('the learner learns which action succeeds in which context', async () => {
  const runs = [];
  for (const seed of [1, 2, 3]) runs.push(await run(seed));
  const first = rate(runs.map((r) => r.first));
  const last = rate(runs.map((r) => r.last));
  assert.ok(last >= first + 0.1, `success rate rose from ${first.toFixed(3)} to ${last.toFixed(3)}: ${JSON.stringify(runs)}`);
  assert.ok(last >= 0.85, `late success rate ${last.toFixed(3)}`);
});

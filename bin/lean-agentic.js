#!/usr/bin/env node
// lean-agentic: command-line entry. `lean-agentic demo` runs the main job on the embedded default;
// `lean-agentic serve` runs the service. The usage texts and argument parsing live in
// integrations/cli.ts (dist/cli.js); a usage error exits 2 before anything is opened or written.
'use strict';
const path = require('node:path');
const cli = require(path.join(__dirname, '..', 'dist', 'cli.js'));

async function demo(storePath) {
  const { LeanAgenticSystem } = require(path.join(__dirname, '..', 'dist', 'index.js'));
  // Cedar policies: read-only tools for everyone; booking only after a flight search in the
  // same session; payments only for the finance role (the demo agent is not in it).
  const policies = `
    @id("read-only-tools")
    permit(principal, action in [Action::"get_weather", Action::"search_flights", Action::"small_talk"], resource);
    @id("book-after-search")
    permit(principal, action == Action::"book_flight", resource) when { context.priorSteps.contains("search_flights") };
    @id("finance-pays")
    permit(principal in Role::"finance", action == Action::"pay", resource);
  `;
  const entities = [
    { uid: { type: 'Role', id: 'finance' }, attrs: {}, parents: [] },
    { uid: { type: 'Agent', id: 'travel-agent' }, attrs: {}, parents: [] },
  ];
  const sys = await LeanAgenticSystem.open({ path: storePath, seed: 42, explorationRate: 0.1, policies, entities });

  const forecasts = { Tokyo: 'light rain, 14°C', Paris: 'sunny, 19°C', London: 'overcast, 12°C', Berlin: 'windy, 10°C' };
  let flights = 0;
  sys.registerAction({
    name: 'get_weather',
    description: 'Look up the weather forecast for a city',
    keywords: ['weather', 'forecast', 'rain', 'temperature'],
    toolCalls: ['weather_api.lookup'],
    handler: async (action) => {
      const places = [...(action.parameters.entities.Place ?? []), ...(action.parameters.entities.Concept ?? [])];
      const city = places.find((p) => forecasts[p]);
      return city
        ? { success: true, result: { city, forecast: forecasts[city] } }
        : { success: false, result: { error: 'no known city in the request' } };
    },
  });
  sys.registerAction({
    name: 'search_flights',
    description: 'Search flights between two cities',
    keywords: ['flight', 'flights', 'fly', 'ticket'],
    toolCalls: ['flights_api.search'],
    effects: ['flights_found'],
    handler: async (action) => {
      flights += 1;
      const places = Object.values(action.parameters.entities).flat();
      return { success: places.length > 0, result: { options: places.length > 0 ? 3 : 0, route: places } };
    },
  });
  sys.registerAction({
    name: 'book_flight',
    description: 'Book one of the flights found',
    keywords: ['book', 'reserve', 'cheapest'],
    toolCalls: ['flights_api.book'],
    preconditions: ['flights_found'],
    handler: async () => ({ success: flights > 0, result: { confirmation: 'LA-' + (1000 + flights) } }),
  });
  sys.registerAction({
    name: 'pay',
    description: 'Pay an invoice',
    keywords: ['pay', 'invoice', 'transfer'],
    toolCalls: ['payments.transfer'],
    handler: async () => ({ success: true, result: { paid: true } }),
  });
  sys.registerAction({
    name: 'small_talk',
    description: 'Answer greetings and thanks politely',
    keywords: ['hello', 'hi', 'thanks', 'thank'],
    handler: async () => ({ success: true, result: { reply: 'You are welcome!' } }),
  });

  const conversation = [
    'Hello! I am planning a trip next week.',
    'What is the weather in Tokyo on Monday?',
    'And what is the forecast for Paris?',
    'Can you find flights from Paris to Tokyo?',
    'Book the cheapest one please.',
    'Please pay the invoice of 500 EUR to the travel agency.',
    'Will it rain in London tomorrow?',
    'What is the temperature in Berlin?',
    'Thanks, that is all for now!',
  ];
  const ctx = sys.createContext('demo-session', { agentId: 'travel-agent', preferences: { units: 'metric' } });
  console.log(`lean-agentic demo — store: ${storePath}\n`);
  for (const turn of conversation) {
    const r = await sys.processChunk(turn, ctx);
    const ents = r.entities.map((e) => `${e.name}:${e.type}`).join(', ') || '-';
    console.log(`> ${turn}`);
    console.log(
      `  action=${r.action.actionType} plan=[${r.plan.join(' → ')}] verification=${r.verification.decision} ` +
        `success=${r.observation.success} reward=${r.reward.toFixed(3)} latency=${r.latencyUs}µs`,
    );
    console.log(`  entities: ${ents}; result: ${JSON.stringify(r.observation.result)}`);
    const why = r.verification.determiningPolicies?.map((p) => p.id).join(', ');
    if (r.verification.decision !== 'skipped') console.log(`  policies: ${why || '-'}; ${r.verification.reasons[0] ?? ''}`);
  }
  const stats = await sys.stats();
  console.log('\nstats:', JSON.stringify(stats, null, 2));
  console.log(`journal: ${sys.journalCount()} steps persisted in ${storePath}`);
  await sys.close();
}

/** `lean-agentic migrate`: copies a bank between stores, with a progress bar on a terminal. */
function migrate(inv) {
  const { migrateBank, progressLine, endpointSpec } = require(path.join(__dirname, '..', 'dist', 'migrate.js'));
  const end = (store, schema) => {
    const spec = endpointSpec(store);
    if (schema !== undefined) {
      if (!spec.url) throw new cli.UsageError(`a schema goes with a PostgreSQL URL, not the file ${JSON.stringify(store)}`, 'migrate');
      spec.pgSchema = schema;
    }
    return spec;
  };
  const from = end(inv.from, inv.fromSchema);
  const to = end(inv.to, inv.toSchema);
  const tty = process.stderr.isTTY;
  const started = Date.now();
  const final = migrateBank({
    from,
    to,
    batchSize: inv.batch,
    onProgress: (p) => {
      if (tty) process.stderr.write(`\r${progressLine(p, Date.now() - started)}`);
    },
  });
  if (tty) process.stderr.write('\n');
  const secs = (Date.now() - started) / 1000;
  console.log(
    `migrated ${final.memories} memories (${final.embeddings} embeddings), ${final.learnings} learnings, ${final.links} links` +
      (final.skipped ? `, ${final.skipped} skipped` : '') +
      ` in ${secs.toFixed(1)} s`,
  );
}

/** Runs `lean-agentic <argv>`. */
async function main(argv) {
  const inv = cli.parseCommandLine(argv);
  switch (inv.kind) {
    case 'help':
      console.log(cli.usageOf(inv.command));
      return;
    case 'version':
      console.log(require(path.join(__dirname, '..', 'package.json')).version);
      return;
    case 'demo':
      return demo(inv.path);
    case 'serve':
      return require(path.join(__dirname, '..', 'dist', 'cli_serve.js')).runServe(inv.argv, inv.console);
    case 'migrate':
      return migrate(inv);
  }
}

const argv = process.argv.slice(2);
main(argv).catch((e) => {
  if (e instanceof cli.UsageError) {
    // What to fix on one line, then the command's usage line(s): exit 2, nothing was started.
    console.error(`${e.program}: ${e.code}: ${e.message}\n${e.hint}`);
    process.exitCode = e.exitCode;
    return;
  }
  const program = ['demo', 'serve', 'console', 'migrate'].includes(argv[0]) ? `lean-agentic ${argv[0]}` : 'lean-agentic';
  console.error(e && e.code ? `${program}: ${e.code}: ${e.message}` : e);
  process.exitCode = 1;
});

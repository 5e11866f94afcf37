// The knowledge graph from JS: a ~50-message conversation becomes typed entities and typed,
// directed relations that queries find; temporal facts; user dictionaries; coded errors; and the
// graph survives close() and reopen of a file-backed store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LeanAgenticSystem, openMemory, rejectsWithCode } from './helpers.mjs';

const FACTS = [
  'Ada Lovelace works at Google.',
  'Google is based in London.',
  'Marie Curie lives in Paris.',
  'Paris is the capital of France.',
  'Ada Lovelace visited Paris.',
  'Alan Turing works at Microsoft.',
  'Satya Nadella visited Berlin.',
  'Tokyo is in Japan.',
  'Alice Johnson joined Microsoft since 2019.',
  'Bob Smith works at Acme Corp until 2022.',
  'Grace Hopper lives in New York.',
  'Ada Lovelace is a mathematician.',
];
const CITIES = ['Tokyo', 'Paris', 'Berlin', 'London', 'Rome'];
const DAYS = ['today', 'tomorrow', 'on Monday'];

/** 50 messages: the facts, interleaved with weather questions about known cities. */
function conversation() {
  const out = [];
  let f = 0;
  for (let i = 0; out.length < 50; i++) {
    if (i % 4 === 0 && f < FACTS.length) out.push(FACTS[f++]);
    else out.push(`What is the weather in ${CITIES[i % CITIES.length]} ${DAYS[i % DAYS.length]}?`);
  }
  while (f < FACTS.length) out[out.length - 1 - f] = FACTS[f++];
  return out;
}

function register(sys) {
  sys.registerAction({
    name: 'get_weather',
    description: 'Look up the weather forecast',
    keywords: ['weather', 'forecast'],
    handler: async (action) => ({ success: true, result: { places: action.parameters.entities.Place ?? [] } }),
  });
  sys.registerAction({
    name: 'remember',
    description: 'Remember a statement',
    keywords: ['works', 'lives', 'visited', 'joined', 'based', 'capital', 'mathematician'],
    handler: async () => ({ success: true }),
  });
}

const RELATIONS = ['co_occurs', 'lives_in', 'located_in', 'visited'];
const ids = (rs) => rs.map((r) => r.id).sort();

test('a 50-message conversation becomes typed entities and typed relations', async () => {
  const sys = await openMemory();
  register(sys);
  const ctx = sys.createContext('kg');
  const msgs = conversation();
  assert.equal(msgs.length, 50);
  assert.equal(new Set(FACTS.filter((f) => msgs.includes(f))).size, FACTS.length, 'every fact is in the conversation');
  const results = await sys.processBatch(msgs, ctx);
  assert.equal(results.length, 50);
  // The weather questions went to get_weather with the city typed as a Place.
  results.forEach((r, i) => {
    if (msgs[i].startsWith('What is the weather')) {
      assert.equal(r.action.actionType, 'get_weather', msgs[i]);
      const city = msgs[i].split(' ')[5];
      assert.deepEqual(r.action.parameters.entities.Place, [city]);
      assert.deepEqual(r.observation.result, { places: [city] });
    }
  });

  const kg = sys.knowledge;
  // Types.
  assert.deepEqual(ids(kg.entities({ type: 'Person' })), [
    'person:ada_lovelace', 'person:alan_turing', 'person:alice_johnson', 'person:bob_smith',
    'person:grace_hopper', 'person:marie_curie', 'person:satya_nadella',
  ]);
  assert.deepEqual(ids(kg.entities({ type: 'Organization' })), [
    'organization:acme_corp', 'organization:google', 'organization:microsoft',
  ]);
  const places = ids(kg.entities({ type: 'place' }));
  for (const p of ['place:paris', 'place:london', 'place:france', 'place:tokyo', 'place:japan', 'place:berlin', 'place:rome', 'place:new_york']) {
    assert.ok(places.includes(p), `${p} in ${places}`);
  }
  assert.ok(places.every((p) => p.startsWith('place:')));
  // Prefix queries: by name, by id, limited.
  const paris = kg.entities({ prefix: 'Par' });
  assert.deepEqual(ids(paris), ['place:paris']);
  assert.equal(paris[0].type, 'Place');
  assert.equal(paris[0].name, 'Paris');
  const parisMentions = msgs.filter((m) => m.includes('Paris')).length;
  assert.equal(paris[0].mentions, parisMentions, 'one node, every mention counted');
  assert.ok(paris[0].degree >= 3);
  assert.deepEqual(ids(kg.entities({ prefix: 'person:a' })), ['person:ada_lovelace', 'person:alan_turing', 'person:alice_johnson']);
  assert.equal(kg.entities({ type: 'Person', limit: 2 }).length, 2);
  assert.deepEqual(kg.entities({ prefix: 'zzz' }), []);
  assert.equal(kg.entity('place:tokyo').type, 'Place');
  assert.equal(kg.entity('place:atlantis'), null);

  // Typed, directed relations.
  const works = kg.related('person:ada_lovelace', { relation: 'works_at' });
  assert.equal(works.length, 1);
  assert.deepEqual(
    { id: works[0].id, type: works[0].type, relation: works[0].relation, direction: works[0].direction, depth: works[0].depth, via: works[0].via },
    { id: 'organization:google', type: 'Organization', relation: 'works_at', direction: 'out', depth: 1, via: 'person:ada_lovelace' },
  );
  assert.ok(works[0].weight > 0);
  assert.deepEqual(ids(kg.related('organization:microsoft', { relation: 'works_at' })), ['person:alan_turing', 'person:alice_johnson']);
  assert.ok(kg.related('organization:microsoft', { relation: 'works_at' }).every((r) => r.direction === 'in'));
  assert.deepEqual(ids(kg.related('organization:google', { relation: 'located_in' })), ['place:london']);
  assert.deepEqual(ids(kg.related('place:paris', { relation: 'located_in' })), ['place:france']);
  assert.deepEqual(ids(kg.related('place:tokyo', { relation: 'located_in' })), ['place:japan']);
  assert.deepEqual(ids(kg.related('person:marie_curie', { relation: 'lives_in' })), ['place:paris']);
  assert.deepEqual(ids(kg.related('person:grace_hopper', { relation: 'lives_in' })), ['place:new_york']);
  assert.deepEqual(ids(kg.related('person:satya_nadella', { relation: 'visited' })), ['place:berlin']);
  const isA = kg.related('person:ada_lovelace', { relation: 'is_a' });
  assert.deepEqual(isA.map((r) => [r.id, r.type]), [['concept:mathematician', 'Concept']]);
  // Depth 2: London is reached through Google.
  const two = kg.related('person:ada_lovelace', { depth: 2 });
  const london = two.find((r) => r.id === 'place:london');
  assert.equal(london.depth, 2);
  assert.equal(london.via, 'organization:google');
  assert.ok(two.every((r, i) => i === 0 || two[i - 1].depth <= r.depth), 'sorted by depth');
  // Unknown relation names give no results rather than an error.
  assert.deepEqual(kg.related('place:tokyo', { relation: 'owns' }), []);

  // Paths.
  assert.deepEqual(kg.path('person:ada_lovelace', 'place:france'), ['person:ada_lovelace', 'place:paris', 'place:france']);
  assert.deepEqual(kg.path('person:ada_lovelace', 'person:ada_lovelace'), ['person:ada_lovelace']);
  assert.equal(kg.path('person:marie_curie', 'place:london').length, 5);
  assert.equal(kg.path('person:bob_smith', 'place:japan'), null);

  // Temporal facts from "since"/"until" sentences.
  const at2020 = kg.factsAt('2020-06-01T00:00:00Z');
  assert.deepEqual(
    at2020.map((f) => [f.subject, f.relation, f.object, f.source]).sort(),
    [
      ['person:alice_johnson', 'works_at', 'organization:microsoft', 'text'],
      ['person:bob_smith', 'works_at', 'organization:acme_corp', 'text'],
    ],
  );
  assert.equal(at2020.find((f) => f.subject === 'person:alice_johnson').validFromMs, Date.UTC(2019, 0, 1));
  assert.equal(at2020.find((f) => f.subject === 'person:bob_smith').validUntilMs, Date.UTC(2023, 0, 1));
  assert.deepEqual(kg.factsAt(new Date('2018-06-01')).map((f) => f.subject), ['person:bob_smith']);
  assert.deepEqual(kg.factsAt(Date.UTC(2024, 5, 1)).map((f) => f.subject), ['person:alice_johnson']);

  // Manual facts with validity windows.
  assert.equal(kg.addFact('person:ada_lovelace', 'lives_in', 'place:london', { validFrom: '2010-01-01', validUntil: new Date('2015-01-01') }), true);
  assert.equal(kg.addFact('person:ada_lovelace', 'lives_in', 'place:london', { validFrom: '2010-01-01', validUntil: new Date('2015-01-01') }), false, 'the same fact again is not new');
  assert.equal(kg.addFact('person:grace_hopper', 'works_at', 'organization:google', { validFrom: Date.UTC(2021, 0, 1) }), true);
  const f2012 = kg.factsAt(Date.UTC(2012, 0, 1));
  const manual = f2012.find((f) => f.subject === 'person:ada_lovelace');
  assert.deepEqual(manual, {
    subject: 'person:ada_lovelace', relation: 'lives_in', object: 'place:london',
    validFromMs: Date.UTC(2010, 0, 1), validUntilMs: Date.UTC(2015, 0, 1), source: 'manual',
  });
  assert.ok(!f2012.some((f) => f.subject === 'person:grace_hopper'));
  assert.ok(!kg.factsAt(Date.UTC(2016, 0, 1)).some((f) => f.subject === 'person:ada_lovelace'), 'validUntil is exclusive and past');
  assert.ok(kg.factsAt(Date.UTC(2022, 0, 1)).some((f) => f.subject === 'person:grace_hopper'));
  // A manual fact is also an edge.
  assert.ok(kg.related('person:ada_lovelace', { relation: 'lives_in' }).some((r) => r.id === 'place:london'));

  // Stats agree with the queries and with the system's stats.
  const st = kg.stats();
  assert.equal(st.byType.Person, 7);
  assert.equal(st.byType.Organization, 3);
  assert.equal(st.facts, 4);
  assert.ok(st.relations >= 14, JSON.stringify(st));
  const sysStats = await sys.stats();
  assert.equal(sysStats.totalEntities, st.entities);
  assert.equal(sysStats.totalRelations, st.relations);
  assert.equal(Object.values(st.byType).reduce((a, b) => a + b, 0), st.entities);
  await sys.close();
});

test('user dictionaries add typed names to extraction', async () => {
  const sys = await openMemory();
  register(sys);
  const ctx = sys.createContext('dict');
  const text = 'Ship the Widget Pro to Tokyo on Monday';
  const before = sys.knowledge.extract(text);
  assert.ok(!before.some((e) => e.type === 'Product'));
  assert.equal(sys.knowledge.addDictionary('Product', ['Widget Pro', 'Gadget Max']), 2);
  const after = sys.knowledge.extract(text);
  const product = after.find((e) => e.type === 'Product');
  assert.deepEqual(
    { id: product.id, name: product.name, span: text.slice(product.start, product.end) },
    { id: 'product:widget_pro', name: 'Widget Pro', span: 'Widget Pro' },
  );
  assert.ok(product.confidence > 0 && product.confidence <= 1);
  assert.deepEqual(after.find((e) => e.type === 'Place').name, 'Tokyo');
  // extract() does not change the graph ...
  assert.equal(sys.knowledge.entity('product:widget_pro'), null);
  // ... processing does; matching is case-insensitive on the text.
  const r = await sys.processChunk('is the widget pro in stock? and the Gadget Max?', ctx);
  assert.deepEqual(r.entities.filter((e) => e.type === 'Product').map((e) => e.id), ['product:widget_pro', 'product:gadget_max']);
  const products = sys.knowledge.entities({ type: 'Product' });
  assert.deepEqual(ids(products), ['product:gadget_max', 'product:widget_pro']);
  assert.ok(products.every((p) => p.type === 'Product'));
  assert.equal(sys.knowledge.stats().byType.Product, 2);
  // A dictionary can also extend a built-in type.
  sys.knowledge.addDictionary('Place', ['Atlantis']);
  assert.deepEqual(sys.knowledge.extract('We sail to Atlantis').map((e) => [e.id, e.type]), [['place:atlantis', 'Place']]);
  assert.deepEqual(sys.knowledge.extract(''), []);
  await sys.close();
});

test('bad inputs give coded errors', async () => {
  const sys = await openMemory();
  register(sys);
  await sys.processChunk('Ada Lovelace works at Google.', sys.createContext('e'));
  const kg = sys.knowledge;
  await rejectsWithCode(() => kg.related('person:nobody'), 'ERR_NOT_FOUND');
  await rejectsWithCode(() => kg.path('person:ada_lovelace', 'place:atlantis'), 'ERR_NOT_FOUND');
  await rejectsWithCode(() => kg.path('place:atlantis', 'person:ada_lovelace'), 'ERR_NOT_FOUND');
  await rejectsWithCode(() => kg.addFact('person:ada_lovelace', 'works_at', 'organization:nowhere'), 'ERR_NOT_FOUND');
  await rejectsWithCode(() => kg.related('person:ada_lovelace', { depth: 0 }), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => kg.related('person:ada_lovelace', { depth: 7 }), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => kg.related('person:ada_lovelace', { depth: 1.5 }), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => kg.addFact('person:ada_lovelace', 'bad relation!', 'organization:google'), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => kg.addFact('person:ada_lovelace', 'works_at', 'person:ada_lovelace'), 'ERR_INVALID_INPUT');
  await rejectsWithCode(
    () => kg.addFact('person:ada_lovelace', 'works_at', 'organization:google', { validFrom: '2020-01-01', validUntil: '2019-01-01' }),
    'ERR_INVALID_INPUT',
  );
  await rejectsWithCode(() => kg.factsAt('not a date'), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => kg.addDictionary('bad type!', ['x']), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => kg.addDictionary('Product', 'Widget'), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => kg.addDictionary('Product', []), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => kg.extract(42), 'ERR_INVALID_INPUT');
  await rejectsWithCode(() => kg.entities({ limit: -1 }), 'ERR_INVALID_INPUT');
  // Nothing above changed the graph.
  assert.equal(kg.stats().facts, 0);
  await sys.close();
  await rejectsWithCode(() => kg.entities(), 'ERR_CLOSED');
  await rejectsWithCode(() => kg.stats(), 'ERR_CLOSED');
});

test('the graph persists across close() and reopen of a file-backed store', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-kg-'));
  const file = path.join(dir, 'store.db');
  try {
    let sys = await LeanAgenticSystem.open({ path: file, seed: 3 });
    register(sys);
    await sys.processBatch(conversation(), sys.createContext('p'));
    sys.knowledge.addFact('person:ada_lovelace', 'lives_in', 'place:london', { validFrom: '2010-01-01', validUntil: '2015-01-01' });
    const snapshot = {
      stats: sys.knowledge.stats(),
      people: ids(sys.knowledge.entities({ type: 'Person' })),
      paris: sys.knowledge.entity('place:paris'),
      // Which of several edges reached a node is not fixed across reloads: compare nodes and depths.
      related: sys.knowledge.related('person:ada_lovelace', { depth: 2 }).map((r) => `${r.id}@${r.depth}`).sort(),
      edges: RELATIONS.map((rel) => sys.knowledge.related('place:paris', { relation: rel }).map((r) => [r.id, r.direction, r.weight]).sort()),
      path: sys.knowledge.path('person:marie_curie', 'place:london'),
      facts2020: sys.knowledge.factsAt('2020-06-01'),
      facts2012: sys.knowledge.factsAt('2012-06-01'),
    };
    assert.equal(snapshot.people.length, 7);
    await sys.close();
    assert.equal(sys.closed, true);
    assert.ok(fs.existsSync(file));

    sys = await LeanAgenticSystem.open({ path: file, seed: 3 });
    const kg = sys.knowledge;
    assert.deepEqual(kg.stats(), snapshot.stats);
    assert.deepEqual(ids(kg.entities({ type: 'Person' })), snapshot.people);
    assert.deepEqual(kg.entity('place:paris'), snapshot.paris);
    assert.deepEqual(kg.related('person:ada_lovelace', { depth: 2 }).map((r) => `${r.id}@${r.depth}`).sort(), snapshot.related);
    assert.deepEqual(
      RELATIONS.map((rel) => kg.related('place:paris', { relation: rel }).map((r) => [r.id, r.direction, r.weight]).sort()),
      snapshot.edges,
    );
    assert.ok(snapshot.edges.every((e) => e.length > 0), 'Paris has edges of every relation');
    assert.deepEqual(kg.related('person:ada_lovelace', { relation: 'works_at' }).map((r) => r.id), ['organization:google']);
    assert.deepEqual(kg.path('person:marie_curie', 'place:london'), snapshot.path);
    assert.deepEqual(kg.factsAt('2020-06-01'), snapshot.facts2020);
    assert.deepEqual(kg.factsAt('2012-06-01'), snapshot.facts2012);
    // New chunks keep building on the same nodes.
    register(sys);
    await sys.processChunk('What is the weather in Paris today?', sys.createContext('p2'));
    assert.equal(kg.entity('place:paris').mentions, snapshot.paris.mentions + 1);
    assert.equal(kg.stats().entities, snapshot.stats.entities);
    await sys.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('custom entity types match in any case in queries', async () => {
  const sys = await openMemory();
  try {
    register(sys);
    sys.knowledge.addDictionary('Product', ['Widget Pro']);
    await sys.processChunk('Ship the Widget Pro to Tokyo', sys.createContext('case'));
    assert.equal(sys.knowledge.entities({ type: 'Product' }).length, 1);
    assert.equal(sys.knowledge.entities({ type: 'product' }).length, 1, 'type in lower case');
    assert.equal(sys.knowledge.entities({ prefix: 'product:widget' }).length, 1, 'id-form prefix');
  } finally {
    await sys.close();
  }
});

test('user dictionaries survive close() and reopen', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'la-kg-dict-'));
  const file = path.join(dir, 'store.db');
  try {
    let sys = await LeanAgenticSystem.open({ path: file });
    sys.knowledge.addDictionary('Product', ['Widget Pro']);
    await sys.close();
    sys = await LeanAgenticSystem.open({ path: file });
    try {
      assert.deepEqual(sys.knowledge.extract('Buy the Widget Pro').map((e) => e.id), ['product:widget_pro']);
    } finally {
      await sys.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The live console (see integrations/server/console/index.ts for its design). Every value from
// the server reaches the DOM through textContent or an attribute set with setAttribute on a
// known name: chunk text, policy ids and memories come from untrusted agents and users.
// @ts-check
import { forceGraph, histogram, lineChart, PALETTE } from './charts.js';

/** @param {string} id */
const $ = (id) => /** @type {any} */ (document.getElementById(id));

/**
 * Builds an element. Children: strings become text nodes; attributes go through setAttribute
 * (never an event-handler attribute).
 * @param {string} tag @param {Record<string, any>} [attrs] @param {...any} children
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (/^on/i.test(k)) throw new Error('no event attributes');
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

/** @param {Element} el */
function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** The server's `{"error": {code, message}}` (or just the status) as a thrown-ready Error. */
const serverError = (body, status) => Object.assign(new Error(body?.error?.message ?? `HTTP ${status}`), { code: body?.error?.code ?? 'ERR_HTTP' });

/** GET `url` (no body) or POST `body` as JSON; resolves to the JSON answer, throws the server's error. */
async function requestJson(url, body) {
  const res = await fetch(url, body === undefined ? { cache: 'no-store' } : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw serverError(data, res.status);
  return data;
}

const api = (name, body) => requestJson(`/console/api/${name}`, body);

const fmt = (v, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : String(v));
const us = (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${Math.round(v)} µs`);
const stat = (label, value) => h('div', { class: 'stat' }, h('b', {}, String(value)), label);
const showError = (el, e) => clear(el).appendChild(h('p', { class: 'error' }, `${e.code ?? 'error'}: ${e.message}`));

// ---- tabs -------------------------------------------------------------------------------------

const loaders = {};
let current = 'live';
for (const b of document.querySelectorAll('#tabs button')) {
  b.addEventListener('click', () => {
    current = b.getAttribute('data-tab');
    for (const o of document.querySelectorAll('#tabs button')) o.setAttribute('aria-selected', String(o === b));
    for (const s of document.querySelectorAll('section.tab')) s.hidden = s.id !== `tab-${current}`;
    loaders[current]?.();
  });
}

// ---- live stream ------------------------------------------------------------------------------

const MAX_ROWS = 300;
const steps = []; // {id, sessionId, result}
let transport = 'sse';
let conn = null; // { close(), send(texts, session) }
let lastId = 0;
let pendingFromPage = 0;

/** Adds `value` to a `<select>` unless it is already one of its options. */
function addOption(select, value) {
  if ([...select.options].some((o) => o.value === value)) return;
  select.appendChild(h('option', { value }, value));
}

/** Counts `n` chunks as awaited from this page while `work` runs (the queue badge). */
async function awaiting(n, work) {
  pendingFromPage += n;
  try {
    return await work();
  } finally {
    pendingFromPage -= n;
  }
}

function matches(ev) {
  const s = $('f-session').value, d = $('f-decision').value, a = $('f-action').value;
  const r = ev.result;
  return (!s || r.sessionId === s) && (!d || r.verification.decision === d) && (!a || r.action.actionType === a);
}

function stepRow(ev) {
  const r = ev.result;
  const v = r.verification;
  const ents = (r.entities ?? []).slice(0, 12).map((e) => h('span', { class: 'ent', title: e.type }, `${e.name}·${e.type}`));
  const policies = (v.determiningPolicies ?? []).map((p) => h('span', { class: 'pol', 'data-policy': p.id }, p.id));
  const why = [];
  if (v.decision === 'deny' && (v.determiningPolicies ?? []).length === 0 && (v.nearMiss ?? []).length > 0) {
    const nm = v.nearMiss[0];
    why.push(h('div', { class: 'why near-miss' }, `default deny; closest permit “${nm.policyId}” failed: ${nm.failed.join('; ')}`));
  } else if (v.decision !== 'allow' && v.reasons?.length) {
    why.push(h('div', { class: 'why' }, v.reasons[0]));
  }
  if (v.errors?.length) why.push(h('div', { class: 'why error' }, v.errors[0]));
  return h('tr', { 'data-decision': v.decision, 'data-id': ev.id },
    h('td', { class: 'num' }, String(ev.id)),
    h('td', {}, r.sessionId),
    h('td', { class: 'chunk' }, h('div', { class: 'text' }, r.action.parameters?.text ?? ''), ents),
    h('td', {}, h('b', {}, r.action.actionType), r.plan.length > 1 ? h('div', { class: 'why' }, `plan: ${r.plan.join(' → ')}`) : null,
      r.explored ? h('span', { class: 'flag' }, 'explored') : null, r.driftAlarm ? h('span', { class: 'flag drift' }, 'drift alarm') : null),
    h('td', { class: 'decision' }, h('span', { class: `badge ${v.decision}` }, v.decision), policies, why),
    h('td', { class: 'num' }, fmt(r.reward)),
    h('td', { class: 'num' }, us(r.latencyUs)),
  );
}

function renderSteps() {
  const body = clear($('steps'));
  const shown = steps.filter(matches);
  for (let i = shown.length - 1; i >= 0; i--) body.appendChild(stepRow(shown[i]));
  $('shown').textContent = `${shown.length} of ${steps.length} recent steps`;
}

function onEvent(ev) {
  if (!ev || typeof ev.id !== 'number' || !ev.result) return;
  if (ev.id <= lastId) return; // a replay after a reconnect
  lastId = ev.id;
  steps.push(ev);
  if (steps.length > MAX_ROWS) steps.shift();
  addOption($('f-session'), ev.result.sessionId);
  addOption($('l-session'), ev.result.sessionId);
  addOption($('f-action'), ev.result.action.actionType);
  if (matches(ev)) {
    const body = $('steps');
    body.insertBefore(stepRow(ev), body.firstChild);
    while (body.children.length > MAX_ROWS) body.removeChild(body.lastChild);
  }
  $('shown').textContent = `${steps.filter(matches).length} of ${steps.length} recent steps`;
  if (current === 'learning') scheduleLearning();
}

function setState(text) {
  $('transport-state').textContent = text;
}

function connectSse() {
  const es = new EventSource(`/events?lastEventId=${lastId}`);
  es.onopen = () => setState('SSE: connected to GET /events');
  es.onerror = () => setState('SSE: reconnecting…');
  es.onmessage = (m) => {
    try {
      onEvent({ id: Number(m.lastEventId), result: JSON.parse(m.data) });
    } catch { /* not a step */ }
  };
  return {
    close: () => es.close(),
    // Chunks go one by one with POST /process (SSE only carries events to the page).
    send: async (texts, sessionId) => {
      for (const text of texts) await awaiting(1, () => requestJson('/process', { text, sessionId }));
    },
  };
}


function connectNdjson() {
  const ctl = new AbortController();
  (async () => {
    while (!ctl.signal.aborted) {
      try {
        const res = await fetch(`/events?format=ndjson&lastEventId=${lastId}`, { signal: ctl.signal, cache: 'no-store' });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        setState('HTTP streaming: connected to GET /events?format=ndjson');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim()) {
              try { onEvent(JSON.parse(line)); } catch { /* skip */ }
            }
          }
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
        setState(`HTTP streaming: ${e.message}; reconnecting…`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    close: () => ctl.abort(),
    // Chunks go in one POST /stream request, NDJSON in and out: a batch through the stream endpoint.
    send: (texts, sessionId) =>
      awaiting(texts.length, async () => {
        const body = texts.map((t) => JSON.stringify({ text: t })).join('\n') + '\n';
        const res = await fetch(`/stream?sessionId=${encodeURIComponent(sessionId)}`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body });
        // One result per line; an error is a line of its own (or the whole answer, before any result).
        const lines = (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
        const err = lines.find((x) => x.error);
        if (!res.ok || err) throw serverError(err ?? lines[0], res.status);
      }),
  };
}

function connectWs() {
  let ws = null;
  let closed = false;
  const waiting = [];
  const open = () => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${scheme}://${location.host}/ws?events=1&lastEventId=${lastId}`);
    ws.onopen = () => setState('WebSocket: connected to /ws?events=1');
    ws.onclose = () => {
      for (const w of waiting.splice(0)) w.reject(new Error('the WebSocket closed'));
      if (!closed) {
        setState('WebSocket: reconnecting…');
        setTimeout(open, 1000);
      }
    };
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      if (msg.reply || msg.error) {
        const w = waiting.shift();
        if (msg.error) w?.reject(serverError(msg));
        else w?.resolve(msg.reply);
      } else onEvent(msg);
    };
  };
  open();
  return {
    close: () => { closed = true; ws?.close(); },
    send: async (texts, sessionId) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) throw new Error('the WebSocket is not connected yet; try again in a moment');
      const replies = texts.map((text) =>
        awaiting(1, () => {
          const reply = new Promise((resolve, reject) => waiting.push({ resolve, reject }));
          ws.send(JSON.stringify({ text, sessionId }));
          return reply;
        }),
      );
      await Promise.all(replies);
    },
  };
}

function connect(kind) {
  conn?.close();
  transport = kind;
  for (const b of document.querySelectorAll('.transport button')) b.setAttribute('aria-selected', String(b.getAttribute('data-transport') === kind));
  // Replay the server's ring of recent events over the new transport.
  steps.length = 0;
  lastId = 0;
  renderSteps();
  conn = kind === 'sse' ? connectSse() : kind === 'ndjson' ? connectNdjson() : connectWs();
}

for (const b of document.querySelectorAll('.transport button')) b.addEventListener('click', () => connect(b.getAttribute('data-transport')));
for (const id of ['f-session', 'f-decision', 'f-action']) $(id).addEventListener('change', renderSteps);

let sample = [];
async function send(texts) {
  const sid = $('send-session').value.trim() || 'console';
  try {
    await conn.send(texts, sid);
    $('transport-state').classList.remove('error');
  } catch (e) {
    setState(`send failed: ${e.code ?? ''} ${e.message}`);
    $('transport-state').classList.add('error');
  }
}
$('send').addEventListener('click', () => {
  const t = $('chunk').value;
  if (t.trim()) {
    $('chunk').value = '';
    void send([t]);
  }
});
$('chunk').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('send').click();
  }
});
$('replay').addEventListener('click', () => void send(sample));

async function pollStatus() {
  try {
    const s = await api('status');
    const q = $('queue');
    q.textContent = `queue: ${s.queue.total} on the server · ${pendingFromPage} awaiting from this page`;
    q.classList.toggle('busy', s.queue.total + pendingFromPage > 0);
    $('status').textContent = `${s.steps} steps seen · load ${s.load.one.toFixed(2)} / ${s.load.cpus} CPUs`;
  } catch (e) {
    $('status').textContent = `server unreachable: ${e.message}`;
  }
}
setInterval(pollStatus, 500);

// ---- policies ---------------------------------------------------------------------------------

async function loadPolicies() {
  try {
    const p = await api('policies');
    const rows = clear($('policy-rows'));
    const info = p.info;
    $('policy-summary').textContent = info
      ? `${info.policyIds.length} policies (${info.permitCount} permit, ${info.forbidCount} forbid) · set ${info.policySetHash.slice(0, 12)} · ${p.defaultDenies} default denies`
      : 'no policies loaded: verification is skipped';
    for (const e of info?.evaluation ?? []) {
      const hits = p.hits[e.id] ?? { allow: 0, deny: 0, errors: 0 };
      rows.appendChild(h('tr', { 'data-policy': e.id },
        h('td', { class: 'pid' }, e.id),
        h('td', { title: e.reason ?? '' }, e.mode),
        h('td', { class: 'num' }, String(hits.allow)), h('td', { class: 'num' }, String(hits.deny)), h('td', { class: 'num' }, String(hits.errors))));
    }
    const editor = $('policy-text');
    if (!editor.dataset.touched) {
      editor.value = p.text ?? (info ? '// The policies were loaded outside the console; their text is not available here.\n' : '');
    }
  } catch (e) {
    showError($('policy-summary'), e);
  }
}
loaders.policies = loadPolicies;

let validateTimer = 0;
let validateSeq = 0;
function showCheck(r) {
  const el = $('policy-check');
  el.classList.remove('ok', 'bad', 'muted');
  if (r.ok) {
    el.removeAttribute('data-line');
    el.removeAttribute('data-column');
    el.classList.add('ok');
    el.textContent = `valid: ${r.info.policyIds.length} policies (${r.info.permitCount} permit, ${r.info.forbidCount} forbid)`;
  } else {
    el.classList.add('bad');
    const at = r.error.line ? ` at line ${r.error.line}, column ${r.error.column}` : '';
    el.textContent = `${r.error.code}${at}\n${r.error.message}`;
    el.setAttribute('data-line', r.error.line ?? '');
    el.setAttribute('data-column', r.error.column ?? '');
  }
}
$('policy-text').addEventListener('input', () => {
  $('policy-text').dataset.touched = '1';
  clearTimeout(validateTimer);
  validateTimer = setTimeout(async () => {
    const seq = ++validateSeq;
    try {
      const r = await api('policies/validate', { text: $('policy-text').value });
      if (seq === validateSeq) showCheck(r);
    } catch (e) {
      showError($('policy-check'), e);
    }
  }, 250);
});
// Clicking the error puts the caret where the engine says the problem is.
$('policy-check').addEventListener('click', () => {
  const line = Number($('policy-check').getAttribute('data-line'));
  const column = Number($('policy-check').getAttribute('data-column'));
  if (!line) return;
  const editor = $('policy-text');
  const lines = editor.value.split('\n');
  const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + Math.max(0, column - 1);
  editor.focus();
  editor.setSelectionRange(offset, offset + 1);
});
$('policy-load').addEventListener('click', async () => {
  const out = $('policy-load-out');
  try {
    const r = await api('policies/load', { text: $('policy-text').value });
    showCheck(r);
    out.textContent = r.ok ? `loaded at ${new Date().toLocaleTimeString()}` : 'not loaded: the previous policies stay in force';
    await loadPolicies();
  } catch (e) {
    showError(out, e);
  }
});
$('wi-run').addEventListener('click', async () => {
  const out = clear($('wi-out'));
  let params, context;
  try {
    params = JSON.parse($('wi-params').value || '{}');
    context = JSON.parse($('wi-context').value || '{}');
  } catch (e) {
    out.appendChild(h('p', { class: 'error' }, `params and context must be JSON: ${e.message}`));
    return;
  }
  try {
    const v = await api('verify', { action: { name: $('wi-action').value, params }, context });
    out.appendChild(h('p', {}, h('span', { class: `badge ${v.decision}` }, v.decision), ' ',
      (v.determiningPolicies ?? []).map((p) => h('span', { class: 'pol' }, p.id))));
    for (const r of v.reasons ?? []) out.appendChild(h('div', { class: 'why' }, r));
    for (const nm of v.nearMiss ?? []) out.appendChild(h('div', { class: 'why' }, `near miss ${nm.policyId}: held ${nm.satisfied.join('; ') || '-'}; failed ${nm.failed.join('; ')}`));
    if (v.certificate) out.appendChild(h('details', { open: true }, h('summary', {}, 'certificate'), h('pre', {}, JSON.stringify(v.certificate, null, 2))));
  } catch (e) {
    showError(out, e);
  }
});

// ---- learning ---------------------------------------------------------------------------------

let points = [];
let learningTimer = 0;
function scheduleLearning() {
  if (!learningTimer) learningTimer = setTimeout(() => { learningTimer = 0; void loadLearning(); }, 400);
}

function movingAverage(pts, win) {
  const out = [];
  let sum = 0;
  for (let i = 0; i < pts.length; i++) {
    sum += pts[i].reward;
    if (i >= win) sum -= pts[i - win].reward;
    out.push([pts[i].n, sum / Math.min(i + 1, win)]);
  }
  return out;
}

async function loadLearning() {
  try {
    const after = points.length ? points[points.length - 1].n : 0;
    const l = await api(`learning?after=${after}`);
    points = points.concat(l.points).slice(-5000);
    const s = l.learner;
    const stats = clear($('learner-stats'));
    stats.append(stat('rewards learned', s.iterations), stat('average reward', fmt(s.averageReward)), stat('recent average (≈100)', fmt(s.recentAverageReward)),
      stat('exploration share', `${(100 * s.explorationRateObserved).toFixed(1)}%`), stat('drift alarms', s.driftEvents), stat('steps charted', points.length));
    for (const p of points) addOption($('l-session'), p.sessionId);
    drawLearning();
  } catch (e) {
    showError($('learner-stats'), e);
  }
}

function drawLearning() {
  const win = Math.max(1, Math.min(500, Number($('ma-window').value) || 20));
  const sid = $('l-session').value;
  const pts = sid ? points.filter((p) => p.sessionId === sid) : points;
  const bySession = new Map();
  for (const p of pts) (bySession.get(p.sessionId) ?? bySession.set(p.sessionId, []).get(p.sessionId)).push(p);
  const series = [{ name: sid ? `session ${sid}` : 'all sessions', points: movingAverage(pts, win), color: '#1d2330' }];
  if (!sid && bySession.size > 1) [...bySession.entries()].slice(0, 6).forEach(([id, ps], i) => series.push({ name: `session ${id}`, points: movingAverage(ps, win), color: PALETTE[i % PALETTE.length] }));
  const ma = new Map(series[0].points.map(([x, y]) => [x, y]));
  lineChart($('chart-reward'), series, {
    markers: pts.filter((p) => p.driftAlarm).map((p) => p.n),
    dots: pts.filter((p) => p.explored).map((p) => [p.n, ma.get(p.n) ?? 0]),
    yMin: -1, yMax: 1, empty: 'no rewards yet: send chunks from the Live stream tab',
  });
  const byAction = new Map();
  for (const p of pts) (byAction.get(p.action) ?? byAction.set(p.action, []).get(p.action)).push(p);
  lineChart($('chart-actions'), [...byAction.entries()].map(([a, ps]) => ({ name: a, points: movingAverage(ps, win) })), { markers: pts.filter((p) => p.driftAlarm).map((p) => p.n), yMin: -1, yMax: 1 });
}
$('ma-window').addEventListener('change', drawLearning);
$('l-session').addEventListener('change', drawLearning);
loaders.learning = loadLearning;

$('rank-run').addEventListener('click', async () => {
  const out = clear($('rank-out'));
  try {
    const r = await api('rank', { text: $('rank-text').value, sessionId: $('rank-session').value || 'console' });
    const table = h('table', { class: 'ranking' }, h('thead', {}, h('tr', {}, ['action', 'plan', 'relevance', 'predicted reward', 'probability', 'verifier'].map((t) => h('th', {}, t)))));
    const body = h('tbody');
    for (const c of r.candidates) {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${Math.round(c.probability * 120)}px`;
      body.appendChild(h('tr', {}, h('td', {}, c.action), h('td', {}, c.plan.join(' → ')), h('td', { class: 'num' }, fmt(c.relevance)), h('td', { class: 'num' }, fmt(c.predicted)),
        h('td', {}, bar, ` ${(100 * c.probability).toFixed(1)}%`), h('td', {}, h('span', { class: `badge ${c.decision}` }, c.decision), ' ', h('span', { class: 'why' }, c.reasons[0] ?? ''))));
    }
    table.appendChild(body);
    out.appendChild(table);
    if (r.masked) out.appendChild(h('p', { class: 'why' }, 'safe exploration: denied actions get no exploration share'));
    for (const b of r.blocked) out.appendChild(h('p', { class: 'why' }, `${b.action} is blocked: needs ${b.missing.join(', ')}`));
  } catch (e) {
    showError(out, e);
  }
});

// ---- reasoning bank ---------------------------------------------------------------------------

function memoryRow(m, r) {
  const bar = (v) => { const b = h('span', { class: 'bar' }); b.style.width = `${Math.round(Math.max(0, v) * 60)}px`; return h('span', {}, b, ` ${fmt(v)}`); };
  return h('tr', {}, h('td', {}, h('b', {}, m.title), h('div', { class: 'why' }, (m.content ?? '').slice(0, 200))),
    r ? h('td', { class: 'num' }, fmt(r.score)) : null,
    r ? h('td', {}, bar(r.components.similarity)) : null, r ? h('td', {}, bar(r.components.recency)) : null, r ? h('td', {}, bar(r.components.reliability)) : null,
    h('td', { class: 'num' }, fmt(m.confidence, 2)), h('td', { class: 'num' }, String(m.usageCount ?? 0)));
}

async function loadBank() {
  try {
    const q = $('bank-q').value;
    const b = await api(`bank?q=${encodeURIComponent(q)}&k=${encodeURIComponent($('bank-k').value)}`);
    const si = b.searchInfo;
    clear($('bank-stats')).append(stat('memories', b.counts.memories), stat('learnings', b.counts.learnings),
      stat('approximate index', si.approximateIndex ? `attached (${si.trainedRows} rows)` : `off (exact below ${si.annThreshold} rows)`),
      stat('kernel', si.kernel), stat('last retrieval', si.lastRetrieveApproximate ? 'approximate' : 'exact'));
    const res = clear($('bank-results'));
    if (q.trim()) {
      if (b.results.length === 0) res.appendChild(h('p', { class: 'muted' }, 'nothing retrieved'));
      else res.appendChild(h('table', { class: 'bank' }, h('thead', {}, h('tr', {}, ['memory', 'score', 'similarity (0.65)', 'recency (0.15)', 'reliability (0.20)', 'confidence', 'uses'].map((t) => h('th', {}, t)))),
        h('tbody', {}, b.results.map((r) => memoryRow(r.memory, r)))));
    }
    clear($('bank-recent')).appendChild(h('table', {}, h('thead', {}, h('tr', {}, ['memory', 'confidence', 'uses'].map((t) => h('th', {}, t)))), h('tbody', {}, b.recent.map((m) => memoryRow(m, null)))));
  } catch (e) {
    showError($('bank-results'), e);
  }
}
$('bank-run').addEventListener('click', loadBank);
$('bank-q').addEventListener('keydown', (e) => { if (e.key === 'Enter') void loadBank(); });
loaders.bank = loadBank;

// ---- benchmarks -------------------------------------------------------------------------------

async function runBench(kind) {
  const out = $('bench-out');
  const card = h('div', { class: 'bench-card' }, h('h2', {}, `${kind}: running…`));
  out.insertBefore(card, out.firstChild);
  try {
    const r = await api('bench', { kind, iterations: Number($('bench-n').value) });
    clear(card).append(h('h2', {}, `${kind} — ${r.what}`),
      h('div', { class: 'row' }, stat('p50', us(r.p50)), stat('p95', us(r.p95)), stat('p99', us(r.p99)), stat('throughput', `${Math.round(r.throughput).toLocaleString()}/s`),
        stat('load before → after', `${r.load.before.toFixed(2)} → ${r.load.after.toFixed(2)} (${r.load.cpus} CPUs)`), stat('iterations', r.iterations), stat('policies', r.policies)));
    const chart = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    chart.setAttribute('viewBox', '0 0 900 200');
    chart.setAttribute('class', 'chart');
    card.appendChild(chart);
    histogram(chart, r.histogram, { p50: r.p50, p95: r.p95, p99: r.p99 });
  } catch (e) {
    showError(card, e);
  }
}

// ---- knowledge --------------------------------------------------------------------------------

async function loadKnowledge(entity) {
  try {
    const id = entity ?? $('kg-entity').value.trim();
    const k = await api(`knowledge?entity=${encodeURIComponent(id)}&depth=${$('kg-depth').value}&type=${encodeURIComponent($('kg-type').value)}`);
    for (const t of Object.keys(k.stats.byType).sort()) addOption($('kg-type'), t);
    clear($('kg-stats')).append(stat('entities', k.stats.entities), stat('relations', k.stats.relations), stat('facts', k.stats.facts));
    clear($('kg-types')).append(...Object.entries(k.stats.byType).sort((a, b) => b[1] - a[1]).map(([t, n]) => h('tr', {}, h('td', {}, t), h('td', { class: 'num' }, String(n)))));
    const top = clear($('kg-top'));
    for (const e of k.top) {
      const a = h('a', { class: 'link', 'data-entity': e.id }, e.name);
      a.addEventListener('click', () => { $('kg-entity').value = e.id; void loadKnowledge(e.id); });
      top.appendChild(h('li', {}, a, h('span', { class: 'muted' }, ` ${e.type} · ${e.mentions} mentions · degree ${e.degree}`)));
    }
    if (k.center) $('kg-entity').value = k.center.id;
    const nodes = k.center ? [{ id: k.center.id, label: k.center.name, type: k.center.type }] : [];
    for (const r of k.related) if (!nodes.some((n) => n.id === r.id)) nodes.push({ id: r.id, label: r.name, type: r.type });
    const edges = k.related.map((r) => ({ from: r.via, to: r.id, label: r.relation }));
    forceGraph($('kg-graph'), nodes.slice(0, 40), edges, (pick) => { $('kg-entity').value = pick; void loadKnowledge(pick); });
    clear($('kg-related')).append(...k.related.map((r) => h('tr', {}, h('td', {}, r.name), h('td', {}, r.type), h('td', {}, r.relation), h('td', {}, r.via), h('td', { class: 'num' }, String(r.depth)), h('td', { class: 'num' }, fmt(r.weight, 2)))));
  } catch (e) {
    showError($('kg-stats'), e);
  }
}
$('kg-run').addEventListener('click', () => loadKnowledge());
$('kg-type').addEventListener('change', () => {
  $('kg-entity').value = '';
  void loadKnowledge();
});
loaders.knowledge = () => loadKnowledge();

// ---- start ------------------------------------------------------------------------------------

(async () => {
  try {
    const o = await api('overview');
    sample = o.sample;
    const dl = $('wi-actions');
    for (const a of o.actions) dl.appendChild(h('option', { value: a }));
    const buttons = $('bench-buttons');
    for (const [kind, what] of Object.entries(o.benchmarks)) {
      const b = h('button', { title: what, 'data-bench': kind }, kind);
      b.addEventListener('click', () => void runBench(kind));
      buttons.appendChild(b);
    }
  } catch (e) {
    $('status').textContent = `cannot load the console: ${e.message}`;
  }
  connect('sse');
  void pollStatus();
})();

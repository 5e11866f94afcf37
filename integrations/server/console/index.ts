/**
 * The live console: a single page at `/` that shows an agent verify, learn and remember, served
 * by the same service (`lean-agentic serve`, `lean-agentic console`).
 *
 * **Why a page and not more JSON.** People operating agents want to *see* which policy denied
 * what, whether learning converges and what the bank recalls. Everything the page shows comes
 * from the engine's public API or the service's own endpoints — the page is a client like any
 * other, so what it shows is what an API user would get.
 *
 * **The tabs and where their data comes from.**
 *
 * | tab | data |
 * |---|---|
 * | Live stream | `/events` (SSE), `/events?format=ndjson` (HTTP streaming), `/ws?events=1` (WebSocket): the ring of recent steps, then each new one; chunks are sent over the same transport (`/process`, `/stream`, the socket); queue depth from `status` |
 * | Policies | `policies` (text, `policyInfo()`, hit counts from the timeline), `policies/validate` (scratch system), `policies` POST (atomic reload), `verify` (`verifyAction` with its certificate) |
 * | Learning | `learning` (the timeline: reward, action, session, exploration, drift alarms; `stats().learner`), `rank` (`rankActions`) |
 * | Reasoning bank | `bank` (`retrieve` with score components, `count`, `recent`, `searchInfo`) |
 * | Benchmarks | `bench` (scratch system, see `bench.ts`), with the machine's load |
 * | Knowledge | `knowledge` (`entities`, `related`, `stats`) |
 *
 * Files: `assets.ts` (the page's files and its security headers), `policies.ts` (validation,
 * reload, error positions), `timeline.ts` (steps and policy hits), `bench.ts` (benchmarks); the
 * page itself is `console/` at the package root (`index.html`, `app.js`, `charts.js`,
 * `style.css`: no build step, no CDN, no framework — every value reaches the DOM as text).
 *
 * Access: the service's guard (`../guard.ts`) checks every console request like any other.
 */

import http from 'node:http';
import os from 'node:os';
import { LeanAgenticError } from '../../errors';
import type { LeanAgenticSystem } from '../../system';
import type { StepResult } from '../../types';
import type { Events } from '../events';
import { HttpError, readJson, sendJson } from '../http';
import type { Sessions } from '../sessions';
import { Assets, SECURITY_HEADERS } from './assets';
import { BENCHMARKS, runBenchmark } from './bench';
import { PolicyDesk } from './policies';
import { Timeline } from './timeline';

/** Options of the console (`createServer(sys, { console })`). */
export interface ConsoleOptions {
  /** The text of the policies loaded in the system, shown in the editor (the engine keeps no text). */
  policyText?: string;
  /** Steps kept for the learning charts (default 5000). */
  timelineSize?: number;
  /** Chunks of the page's "replay a sample conversation" button (default: a short mixed conversation). */
  sampleConversation?: string[];
}

/** The default sample conversation: questions, notes (one with a secret), greetings, recalls. */
export const SAMPLE_CONVERSATION = [
  'Hello there!',
  'What is the weather in Tokyo next week?',
  'Remember that Ada Lovelace works at Acme Corp in London',
  'Please note my password is hunter2',
  'Note: Grace Hopper lives in Paris and visited Tokyo',
  'Who is presenting the Berlin report with Ada Lovelace?',
  'Show my notes',
  'The deploy to Paris went fine',
  'Why did the refund for invoice 42 fail?',
  'Save a note: call Grace Hopper about the Tokyo flight',
  'What do we know about Ada Lovelace and Acme Corp?',
  'Thanks, bye!',
];

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<unknown> | unknown;

/** The console of one service (see the module docs). */
export class Console {
  private readonly assets = new Assets();
  private readonly timeline: Timeline;
  private readonly desk: PolicyDesk;
  private readonly sample: string[];
  private benchRunning = false;
  private readonly api: Record<string, { method: 'GET' | 'POST'; run: Handler }>;

  constructor(
    private readonly sys: LeanAgenticSystem,
    private readonly sessions: Sessions,
    private readonly events: Events,
    private readonly maxBodyBytes: number,
    options: ConsoleOptions,
  ) {
    this.timeline = new Timeline(options.timelineSize ?? 5000);
    this.desk = new PolicyDesk(sys, options.policyText);
    this.sample = options.sampleConversation ?? SAMPLE_CONVERSATION;
    events.observe((r) => this.timeline.add(r as StepResult));
    const body = async (req: http.IncomingMessage): Promise<Record<string, unknown>> => {
      const v = await readJson(req, this.maxBodyBytes);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new LeanAgenticError('ERR_INVALID_INPUT', 'the request body must be a JSON object');
      return v as Record<string, unknown>;
    };
    this.api = {
      overview: { method: 'GET', run: () => this.overview() },
      status: { method: 'GET', run: () => this.status() },
      policies: {
        method: 'GET',
        run: () => ({ text: this.desk.text, source: this.desk.source, info: this.desk.info(), hits: this.hits(), defaultDenies: this.timeline.defaultDenies }),
      },
      'policies/validate': { method: 'POST', run: async (req) => this.desk.validate((await body(req)).text) },
      'policies/load': { method: 'POST', run: async (req) => this.desk.reload((await body(req)).text) },
      verify: {
        method: 'POST',
        run: async (req) => {
          const b = await body(req);
          return this.sys.verifyAction(b.action as never, (b.context ?? {}) as never);
        },
      },
      learning: {
        method: 'GET',
        run: async (_req, _res, url) => ({
          points: this.timeline.since(Number(url.searchParams.get('after') ?? 0) || 0),
          seen: this.timeline.count,
          learner: (await this.sys.stats()).learner,
          actions: this.sys.actions(),
        }),
      },
      rank: {
        method: 'POST',
        run: async (req) => {
          const b = await body(req);
          if (typeof b.text !== 'string') throw new LeanAgenticError('ERR_INVALID_INPUT', '"text" must be a string');
          const sid = this.sessions.checkId(b.sessionId);
          this.sessions.ensureSession(sid);
          return this.sys.rankActions(b.text, sid);
        },
      },
      bank: { method: 'GET', run: (_req, _res, url) => this.bank(url) },
      knowledge: { method: 'GET', run: (_req, _res, url) => this.knowledge(url) },
      bench: { method: 'POST', run: async (req) => this.bench(await body(req)) },
    };
  }

  /** Serves the page (`/`, `/console/<file>`) and the API (`/console/api/<name>`). */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/console/api/')) {
      const name = url.pathname.slice('/console/api/'.length);
      const route = Object.prototype.hasOwnProperty.call(this.api, name) ? this.api[name] : undefined;
      if (!route) throw new HttpError('ERR_NOT_FOUND', `no console endpoint ${url.pathname}`);
      if (route.method !== method) {
        req.resume();
        res.setHeader('Allow', route.method);
        throw new HttpError('ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}; use ${route.method}`);
      }
      if (method === 'POST' && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        // A cross-site form cannot send JSON: requiring it closes the last CSRF door.
        req.resume();
        throw new HttpError('ERR_INVALID_INPUT', 'send the body as JSON with "Content-Type: application/json"');
      }
      const out = await route.run(req, res, url);
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      sendJson(res, 200, out, false);
      return;
    }
    if ((method === 'GET' || method === 'HEAD') && this.assets.serve(res, url.pathname, method)) return;
    req.resume();
    throw new HttpError('ERR_NOT_FOUND', `no console file ${url.pathname}`);
  }

  private hits(): Record<string, { allow: number; deny: number; errors: number }> {
    return Object.fromEntries(this.timeline.hits);
  }

  private status(): unknown {
    const load = os.loadavg();
    return {
      queue: this.sessions.depth(),
      lastEventId: this.events.lastId,
      steps: this.timeline.count,
      load: { one: load[0], five: load[1], fifteen: load[2], cpus: os.cpus().length },
    };
  }

  private async overview(): Promise<unknown> {
    return {
      actions: this.sys.actions(),
      sample: this.sample,
      stats: await this.sys.stats(),
      benchmarks: BENCHMARKS,
      ...(this.status() as object),
    };
  }

  private bank(url: URL): unknown {
    const q = url.searchParams.get('q') ?? '';
    const kRaw = Number(url.searchParams.get('k') ?? 5);
    const k = Number.isInteger(kRaw) && kRaw >= 1 && kRaw <= 50 ? kRaw : 5;
    return {
      counts: this.sys.bank.count(),
      searchInfo: this.sys.bank.searchInfo(),
      recent: this.sys.bank.recent(10),
      results: q.trim() === '' ? [] : this.sys.bank.retrieve(q, { k }),
    };
  }

  private knowledge(url: URL): unknown {
    const g = this.sys.knowledge;
    const entity = url.searchParams.get('entity') ?? '';
    const depthRaw = Number(url.searchParams.get('depth') ?? 1);
    const depth = Number.isInteger(depthRaw) && depthRaw >= 1 && depthRaw <= 3 ? depthRaw : 1;
    const type = url.searchParams.get('type') ?? '';
    // Best connected first (then most mentioned): numbers and dates are mentioned often and
    // connect to nothing, so a mentions ranking would show little but them.
    const top = g
      .entities({ limit: 10_000, ...(type === '' ? {} : { type }) })
      .sort((a, b) => b.degree - a.degree || b.mentions - a.mentions || a.id.localeCompare(b.id))
      .slice(0, 15);
    const center = entity === '' ? (top[0] ?? null) : g.entity(entity);
    return {
      stats: g.stats(),
      top,
      center,
      related: center ? g.related(center.id, { depth }).slice(0, 60) : [],
    };
  }

  private async bench(b: Record<string, unknown>): Promise<unknown> {
    if (this.benchRunning) throw new HttpError('ERR_BUSY', 'a benchmark is already running; wait for it to finish');
    this.benchRunning = true;
    try {
      return await runBenchmark(b.kind, b.iterations, this.desk.text, this.sys.actions());
    } finally {
      this.benchRunning = false;
    }
  }

  /** Closes the scratch system. */
  async close(): Promise<void> {
    await this.desk.close();
  }
}

/**
 * `lean-agentic serve`: runs the HTTP / SSE / WebSocket service (see `server.ts`) on a system with
 * an on-disk store, until SIGTERM or SIGINT, then shuts down gracefully.
 */

import path from 'node:path';
import { LeanAgenticError } from './errors';
import { LeanAgenticSystem } from './system';
import { createServer, listen } from './server';
import type { ActionDefinition, HandlerAction, HandlerContext } from './types';

export const SERVE_USAGE = `usage: lean-agentic serve [options]

Serves a system over HTTP, Server-Sent Events and WebSocket until SIGTERM/SIGINT, then finishes
in-flight requests, flushes and closes the store and exits 0.

options:
  --port N               port to listen on (default 8787; 0 picks a free one)
  --host ADDR            address to bind (default 127.0.0.1)
  --path FILE            SQLite store (default ./.lean-agentic/store.db; ':memory:' for none)
  --actions FILE         a CommonJS module exporting (sys) => void (or { register(sys) }) that
                         registers your actions with handlers (after the defaults; same names replace them)
  --no-default-actions   do not register the default actions
  --max-body BYTES       largest request body / NDJSON line / WebSocket message (default 1048576)
  --request-timeout MS   longest a /process request or WebSocket message may take before it is
                         answered with ERR_TIMEOUT (503); the step still completes (default 30000)
  --seed N               exploration seed, for reproducible runs

default actions (JS handlers, no outside calls; each fails with reward -0.5 on a message
  that is not for it, so the learner steers such messages to "respond"):
  answer_question   questions (what, who, where, when, why, how, ...): returns the topic entities
  take_note         "note/remember/save ...": keeps the text in the session's notes (last 100)
  recall_notes      "recall/list/show notes": returns the session's notes
  greet             hello, hi, thanks, bye: a polite reply
  respond           anything else (the fallback): acknowledges the message with its word count and entities

endpoints:
  POST /process      {"text": "...", "sessionId"?: "..."} -> step result (JSON)
  POST /stream       ?sessionId=  NDJSON in ({"text": ...} or a JSON string per line) -> NDJSON results, in order
  GET  /events       ?sessionId=  SSE of every result (id: event number; Last-Event-ID replays)
  GET  /ws           ?sessionId=  WebSocket: one text message in, one result (or {"error": ...}) out
  GET  /stats        system statistics
  GET  /health       {"ok": true}`;

/** Parsed `serve` arguments. */
export interface ServeArgs {
  port: number;
  host: string;
  path: string;
  actions?: string;
  defaultActions: boolean;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  seed?: number;
  help: boolean;
}

function usageError(message: string): LeanAgenticError {
  return new LeanAgenticError('ERR_INVALID_INPUT', `${message}\n\n${SERVE_USAGE}`);
}

function intArg(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(`${flag} takes an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Parses `serve` arguments (`--flag value` or `--flag=value`). */
export function parseServeArgs(argv: string[]): ServeArgs {
  const out: ServeArgs = {
    port: 8787,
    host: '127.0.0.1',
    path: './.lean-agentic/store.db',
    defaultActions: true,
    maxBodyBytes: 1024 * 1024,
    requestTimeoutMs: 30_000,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw usageError(`${flag} needs a value`);
      i++;
      return v;
    };
    switch (flag) {
      case '--port':
        out.port = intArg(flag, value(), 0, 65535);
        break;
      case '--host':
        out.host = value();
        break;
      case '--path':
        out.path = value();
        break;
      case '--actions':
        out.actions = value();
        break;
      case '--no-default-actions':
        out.defaultActions = false;
        break;
      case '--max-body':
        out.maxBodyBytes = intArg(flag, value(), 1, 1024 * 1024 * 1024);
        break;
      case '--request-timeout':
        out.requestTimeoutMs = intArg(flag, value(), 1, 2_147_483_647);
        break;
      case '--seed':
        out.seed = intArg(flag, value(), 0, Number.MAX_SAFE_INTEGER);
        break;
      case '-h':
      case '--help':
        out.help = true;
        break;
      default:
        throw usageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  if (!out.defaultActions && !out.actions) {
    throw usageError('--no-default-actions needs --actions FILE: a system without actions cannot process anything');
  }
  return out;
}

const NOTES_PER_SESSION = 100;
const SESSIONS_WITH_NOTES = 10_000;

function entityNames(action: HandlerAction): string[] {
  return action.entities.map((e) => e.name);
}

function wordsOf(text: string): Set<string> {
  return new Set(text.toLowerCase().split(/[^\p{L}\p{N}']+/u).filter((w) => w.length > 0));
}

const QUESTION_WORDS = ['what', 'who', 'where', 'when', 'why', 'how', 'which', 'explain', 'question', 'tell'];
const NOTE_WORDS = ['note', 'remember', 'save', 'record', 'todo', 'remind'];
const RECALL_WORDS = ['recall', 'notes', 'list', 'show'];
const GREET_WORDS = ['hello', 'hi', 'hey', 'thanks', 'thank', 'bye', 'goodbye'];

/**
 * The default actions of `serve` (see {@link SERVE_USAGE}). Each handler checks that the message
 * is really for it and otherwise fails with a negative reward, so the learner steers such
 * messages to the keyword-less `respond` fallback.
 */
export function defaultActions(): ActionDefinition[] {
  const notes = new Map<string, string[]>();
  const notesOf = (ctx: HandlerContext): string[] => {
    let list = notes.get(ctx.sessionId);
    if (!list) {
      if (notes.size >= SESSIONS_WITH_NOTES) notes.delete(notes.keys().next().value as string);
      list = [];
      notes.set(ctx.sessionId, list);
    }
    return list;
  };
  const notForMe = (what: string) => ({ success: false, reward: -0.5, result: { reason: `not ${what}` } });
  const matches = (action: HandlerAction, words: string[]) => {
    const w = wordsOf(action.parameters.text);
    return words.some((k) => w.has(k));
  };
  return [
    {
      name: 'answer_question',
      description: 'Answer a question about a topic',
      keywords: QUESTION_WORDS,
      handler: (action) =>
        action.parameters.text.includes('?') || matches(action, QUESTION_WORDS)
          ? { success: true, result: { kind: 'question', topics: entityNames(action), text: action.parameters.text } }
          : notForMe('a question'),
    },
    {
      name: 'take_note',
      description: 'Remember a note for this session',
      keywords: NOTE_WORDS,
      handler: (action, ctx) => {
        if (!matches(action, NOTE_WORDS)) return notForMe('a note');
        const list = notesOf(ctx);
        list.push(action.parameters.text);
        if (list.length > NOTES_PER_SESSION) list.shift();
        return { success: true, result: { saved: action.parameters.text, notes: list.length } };
      },
    },
    {
      name: 'recall_notes',
      description: 'List the notes remembered in this session',
      keywords: RECALL_WORDS,
      handler: (action, ctx) => {
        if (!matches(action, RECALL_WORDS)) return notForMe('a request for notes');
        return { success: true, result: { notes: [...(notes.get(ctx.sessionId) ?? [])] } };
      },
    },
    {
      name: 'greet',
      description: 'Answer greetings and thanks politely',
      keywords: GREET_WORDS,
      handler: (action) => (matches(action, GREET_WORDS) ? { success: true, result: { reply: 'Hello! How can I help?' } } : notForMe('a greeting')),
    },
    {
      name: 'respond',
      // No keywords: the fallback when no other action is relevant.
      description: 'Acknowledge any other message',
      expectedReward: 0.5,
      handler: (action) => ({
        success: true,
        result: {
          reply: 'noted',
          words: wordsOf(action.parameters.text).size,
          entities: entityNames(action),
        },
      }),
    },
  ];
}

/** Loads a user's actions module and lets it register its actions. */
async function loadActions(sys: LeanAgenticSystem, file: string): Promise<void> {
  const resolved = path.resolve(file);
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(resolved);
  } catch (e) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `--actions ${file}: cannot load ${resolved}: ${(e as Error).message}`);
  }
  const m = mod as { default?: unknown; register?: unknown };
  const fn =
    typeof mod === 'function'
      ? mod
      : typeof m?.default === 'function'
        ? m.default
        : typeof m?.register === 'function'
          ? m.register
          : null;
  if (typeof fn !== 'function') {
    throw new LeanAgenticError(
      'ERR_INVALID_INPUT',
      `--actions ${file} must export a function (sys) => void, or { register(sys) }, that calls sys.registerAction(...)`,
    );
  }
  await (fn as (sys: LeanAgenticSystem) => unknown)(sys);
}

/**
 * Runs `lean-agentic serve` with `argv` (the arguments after `serve`). Resolves after a SIGTERM or
 * SIGINT has shut the service down (in-flight requests finished, store flushed and closed), with
 * `process.exitCode` 0. A second signal during shutdown cuts the remaining connections.
 */
export async function runServe(argv: string[]): Promise<void> {
  const args = parseServeArgs(argv);
  if (args.help) {
    console.log(SERVE_USAGE);
    return;
  }
  const sys = await LeanAgenticSystem.open({ path: args.path, ...(args.seed !== undefined ? { seed: args.seed } : {}) });
  let service: ReturnType<typeof createServer>;
  try {
    if (args.defaultActions) for (const a of defaultActions()) sys.registerAction(a);
    if (args.actions) await loadActions(sys, args.actions);
    if (sys.actions().length === 0) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `--actions ${args.actions} registered no actions`);
    }
    service = createServer(sys, {
      maxBodyBytes: args.maxBodyBytes,
      requestTimeoutMs: args.requestTimeoutMs,
      log: (line) => console.error(`lean-agentic serve: ${line}`),
    });
    const addr = await listen(service, args.port, args.host);
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    console.log(
      `lean-agentic serve: listening on http://${host}:${addr.port} (store: ${args.path}; actions: ${sys.actions().join(', ')})`,
    );
  } catch (e) {
    await sys.close().catch(() => {});
    throw e;
  }

  await new Promise<void>((resolve, reject) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        console.error(`lean-agentic serve: ${sig} again: closing all connections`);
        service.server.closeAllConnections();
        for (const ws of service.wss.clients) ws.terminate();
        return;
      }
      console.error(`lean-agentic serve: ${sig}: shutting down`);
      service.close().then(
        () => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          process.exitCode = 0;
          console.error('lean-agentic serve: stopped');
          resolve();
        },
        (e) => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          reject(e);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

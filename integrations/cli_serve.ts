/**
 * `lean-agentic serve`: runs the HTTP / SSE / WebSocket service (see `server.ts`) on a system with
 * an on-disk store, until SIGTERM or SIGINT, then shuts down gracefully.
 */

import path from 'node:path';
import { LeanAgenticError } from './errors';
import { LeanAgenticSystem } from './system';
import { createServer, listen } from './server';
import type { LogFunction } from './server';
import type { ActionDefinition, HandlerAction, HandlerContext } from './types';
import { integerArg, parseOptions, SERVE_USAGE, UsageError } from './cli';
import type { OptionSpec } from './cli';

export { SERVE_USAGE } from './cli';

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
  /** `--log`: one line per request (and SSE / WebSocket open and close) on stderr. */
  log: boolean;
  /** `--quiet`: no banner, no notices; errors still go to stderr. */
  quiet: boolean;
  help: boolean;
}

const SERVE_OPTIONS: Record<string, OptionSpec> = {
  port: { type: 'string' },
  host: { type: 'string' },
  path: { type: 'string' },
  actions: { type: 'string' },
  'no-default-actions': { type: 'boolean' },
  'max-body': { type: 'string' },
  'request-timeout': { type: 'string' },
  seed: { type: 'string' },
  log: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** The integer options of `serve` and their ranges. */
const INTEGER_OPTIONS: Record<string, [number, number]> = {
  port: [0, 65535],
  'max-body': [1, 1024 * 1024 * 1024],
  // setTimeout's largest delay.
  'request-timeout': [1, 2_147_483_647],
  seed: [0, Number.MAX_SAFE_INTEGER],
};

function integer(name: string, v: string): number {
  const [min, max] = INTEGER_OPTIONS[name];
  return integerArg('serve', `--${name}`, v, min, max);
}

/**
 * Parses `serve` arguments (`--flag value` or `--flag=value`, strict: an unknown option, a
 * missing or bad value is a {@link UsageError}).
 */
export function parseServeArgs(argv: string[]): ServeArgs {
  const v = parseOptions(argv, SERVE_OPTIONS, 'serve', (name, value) => {
    if (name in INTEGER_OPTIONS) integer(name, value);
  });
  const str = (name: string) => v[name] as string | undefined;
  if (v.help === true) return { ...parseServeArgs([]), help: true };
  const out: ServeArgs = {
    port: str('port') !== undefined ? integer('port', str('port') as string) : 8787,
    host: str('host') ?? '127.0.0.1',
    path: str('path') ?? './.lean-agentic/store.db',
    defaultActions: v['no-default-actions'] !== true,
    maxBodyBytes: str('max-body') !== undefined ? integer('max-body', str('max-body') as string) : 1024 * 1024,
    requestTimeoutMs: str('request-timeout') !== undefined ? integer('request-timeout', str('request-timeout') as string) : 30_000,
    log: v.log === true,
    quiet: v.quiet === true,
    help: false,
  };
  if (str('actions') !== undefined) out.actions = str('actions');
  if (str('seed') !== undefined) out.seed = integer('seed', str('seed') as string);
  if (out.log && out.quiet) {
    throw new UsageError('--log and --quiet cannot be used together: --quiet silences the log', 'serve');
  }
  if (!out.defaultActions && !out.actions) {
    throw new UsageError('--no-default-actions needs --actions FILE: a system without actions cannot process anything', 'serve');
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
  // Request lines with --log; notices unless --quiet; errors always.
  const log: LogFunction = (line, kind) => {
    if (kind === 'error' || (kind === 'request' ? args.log : !args.quiet)) console.error(`lean-agentic serve: ${line}`);
  };
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
      log,
    });
    const addr = await listen(service, args.port, args.host);
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    if (!args.quiet) {
      console.log(
        `lean-agentic serve: listening on http://${host}:${addr.port} (store: ${args.path}; actions: ${sys.actions().join(', ')})`,
      );
    }
  } catch (e) {
    await sys.close().catch(() => {});
    throw e;
  }

  await new Promise<void>((resolve, reject) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log(`${sig} again: closing all connections`, 'info');
        service.server.closeAllConnections();
        for (const ws of service.wss.clients) ws.terminate();
        return;
      }
      log(`${sig}: shutting down`, 'info');
      service.close().then(
        () => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          process.exitCode = 0;
          log('stopped', 'info');
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

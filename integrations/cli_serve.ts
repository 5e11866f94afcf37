/**
 * `lean-agentic serve`: runs the HTTP / SSE / WebSocket service (see `server.ts`) on a system with
 * an on-disk store, until SIGTERM or SIGINT, then shuts down gracefully.
 */

import fs from 'node:fs';
import path from 'node:path';
import { LeanAgenticError } from './errors';
import { LeanAgenticSystem } from './system';
import { createServer, isLoopback, listen } from './server';
import type { LogFunction } from './server';
import type { ActionDefinition, HandlerAction, HandlerContext } from './types';
import { CONSOLE_USAGE, integerArg, parseOptions, SERVE_USAGE, UsageError } from './cli';
import type { OptionSpec } from './cli';

export { SERVE_USAGE } from './cli';

/**
 * The policies of `lean-agentic console` (replaced by `--policies FILE`): the default actions are
 * allowed, except a note that carries a password or secret (a forbid, so the denial names it).
 */
export const CONSOLE_POLICIES = `// Everyday actions of the default agent are allowed.
@id("everyday-actions")
permit(principal, action in [Action::"answer_question", Action::"greet", Action::"respond", Action::"recall_notes", Action::"take_note"], resource);

// Secrets never go into notes: a forbid overrides every permit.
@id("no-secrets-in-notes")
forbid(principal, action == Action::"take_note", resource)
when { context.params.text like "*password*" || context.params.text like "*secret*" };
`;

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
  /** `--token` (or `$LEAN_AGENTIC_TOKEN`): required on every request. */
  token?: string;
  /** `--policies FILE`. */
  policies?: string;
  /** Serve the console at `/` (false with `--no-console`). */
  console: boolean;
  /** `lean-agentic console`: the example policies unless `--policies`. */
  examplePolicies: boolean;
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
  token: { type: 'string' },
  policies: { type: 'string' },
  'no-console': { type: 'boolean' },
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

/**
 * Parses `serve` (or `console`) arguments (`--flag value` or `--flag=value`, strict: an unknown
 * option, a missing or bad value is a {@link UsageError}). `env` supplies `LEAN_AGENTIC_TOKEN`.
 */
export function parseServeArgs(argv: string[], command: 'serve' | 'console' = 'serve', env: NodeJS.ProcessEnv = process.env): ServeArgs {
  const integer = (name: string, value: string): number => {
    const [min, max] = INTEGER_OPTIONS[name];
    return integerArg(command, `--${name}`, value, min, max);
  };
  const v = parseOptions(argv, SERVE_OPTIONS, command, (name, value) => {
    if (name in INTEGER_OPTIONS) integer(name, value);
  });
  const str = (name: string) => v[name] as string | undefined;
  if (v.help === true) return { ...parseServeArgs([], command, {}), help: true };
  const out: ServeArgs = {
    port: str('port') !== undefined ? integer('port', str('port') as string) : 8787,
    host: str('host') ?? '127.0.0.1',
    path: str('path') ?? (command === 'console' ? ':memory:' : './.lean-agentic/store.db'),
    console: v['no-console'] !== true,
    examplePolicies: command === 'console' && str('policies') === undefined,
    defaultActions: v['no-default-actions'] !== true,
    maxBodyBytes: str('max-body') !== undefined ? integer('max-body', str('max-body') as string) : 1024 * 1024,
    requestTimeoutMs: str('request-timeout') !== undefined ? integer('request-timeout', str('request-timeout') as string) : 30_000,
    log: v.log === true,
    quiet: v.quiet === true,
    help: false,
  };
  if (str('actions') !== undefined) out.actions = str('actions');
  if (str('policies') !== undefined) out.policies = str('policies');
  if (str('seed') !== undefined) out.seed = integer('seed', str('seed') as string);
  const token = str('token') ?? (env.LEAN_AGENTIC_TOKEN !== undefined && env.LEAN_AGENTIC_TOKEN !== '' ? env.LEAN_AGENTIC_TOKEN : undefined);
  if (token !== undefined) {
    if (token.length < 16) {
      throw new UsageError('--token (or LEAN_AGENTIC_TOKEN) must be at least 16 characters; make one with `openssl rand -hex 16`', command);
    }
    out.token = token;
  }
  if (!isLoopback(out.host) && out.token === undefined) {
    throw new UsageError(
      `--host ${out.host} is not loopback: anyone who can reach it could reload policies and submit chunks; add --token T (or set LEAN_AGENTIC_TOKEN), 16+ characters`,
      command,
    );
  }
  if (out.log && out.quiet) {
    throw new UsageError('--log and --quiet cannot be used together: --quiet silences the log', command);
  }
  if (!out.defaultActions && !out.actions) {
    throw new UsageError('--no-default-actions needs --actions FILE: a system without actions cannot process anything', command);
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
 * messages to the keyword-less `respond` fallback. With `sys`, notes are also stored in its
 * reasoning bank (domain `notes`, the session as agent) and questions recall the closest ones.
 */
export function defaultActions(sys?: LeanAgenticSystem): ActionDefinition[] {
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
      handler: (action) => {
        if (!(action.parameters.text.includes('?') || matches(action, QUESTION_WORDS))) return notForMe('a question');
        const recalled = sys ? sys.bank.retrieve(action.parameters.text, { k: 3 }).map((r) => ({ note: r.memory.content, score: Number(r.score.toFixed(3)) })) : [];
        return { success: true, result: { kind: 'question', topics: entityNames(action), text: action.parameters.text, recalled } };
      },
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
        const memory = sys?.bank.store({
          title: action.parameters.text.slice(0, 80),
          content: action.parameters.text,
          domain: 'notes',
          agentId: ctx.sessionId,
          tags: entityNames(action).slice(0, 10),
        });
        return { success: true, result: { saved: action.parameters.text, notes: list.length, ...(memory ? { memoryId: memory.id } : {}) } };
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
export async function runServe(argv: string[], consoleCommand = false): Promise<void> {
  const command = consoleCommand ? 'console' : 'serve';
  const args = parseServeArgs(argv, command);
  if (args.help) {
    console.log(consoleCommand ? CONSOLE_USAGE : SERVE_USAGE);
    return;
  }
  let policyText: string | undefined;
  if (args.policies !== undefined) {
    try {
      policyText = fs.readFileSync(args.policies, 'utf8');
    } catch (e) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `--policies ${args.policies}: cannot read it: ${(e as Error).message}`);
    }
  } else if (args.examplePolicies) {
    policyText = CONSOLE_POLICIES;
  }
  // Request lines with --log; notices unless --quiet; errors always.
  const log: LogFunction = (line, kind) => {
    if (kind === 'error' || (kind === 'request' ? args.log : !args.quiet)) console.error(`lean-agentic ${command}: ${line}`);
  };
  const sys = await LeanAgenticSystem.open({ path: args.path, ...(args.seed !== undefined ? { seed: args.seed } : {}) });
  let service: ReturnType<typeof createServer>;
  try {
    if (args.defaultActions) for (const a of defaultActions(sys)) sys.registerAction(a);
    if (args.actions) await loadActions(sys, args.actions);
    if (sys.actions().length === 0) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `--actions ${args.actions} registered no actions`);
    }
    if (policyText !== undefined) {
      try {
        sys.loadPolicies(policyText);
      } catch (e) {
        const err = e as LeanAgenticError;
        throw new LeanAgenticError(err.code ?? 'ERR_POLICY_PARSE', `${args.policies ?? 'the example policies'}: ${err.message}`);
      }
    }
    service = createServer(sys, {
      maxBodyBytes: args.maxBodyBytes,
      requestTimeoutMs: args.requestTimeoutMs,
      log,
      ...(args.token !== undefined ? { token: args.token } : {}),
      console: args.console ? (policyText !== undefined ? { policyText } : {}) : false,
    });
    const addr = await listen(service, args.port, args.host);
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    if (!args.quiet) {
      console.log(
        `lean-agentic ${command}: listening on http://${host}:${addr.port} (store: ${args.path}; actions: ${sys.actions().join(', ')}; policies: ${
          policyText === undefined ? 'none' : (args.policies ?? 'example')
        })`,
      );
      if (args.console) {
        const shown = host === '0.0.0.0' || host === '[::]' ? '<this machine>' : host;
        console.log(
          `lean-agentic ${command}: console: http://${shown}:${addr.port}/${args.token !== undefined ? '?token=<your token>' : ''}`,
        );
      }
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

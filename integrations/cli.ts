/**
 * The grammar of the `lean-agentic` command line: one usage text per command (shared by `--help`
 * and the hints of usage errors, so the two cannot drift apart) and argument parsing on top of
 * `node:util`'s strict `parseArgs`, with messages that say what to fix.
 *
 * A usage error is a {@link UsageError}: `bin/lean-agentic.js` prints its one-line message and the
 * command's usage line(s) on stderr and exits 2, before anything is opened, written or served.
 * This module loads no engine code, so `--help`, `--version` and usage errors are instant.
 */

import { parseArgs } from 'node:util';

/** The commands of `lean-agentic`. */
export type Command = 'demo' | 'serve' | 'console' | 'migrate';

export const MAIN_USAGE = `usage: lean-agentic <command> [options]
       lean-agentic --help | --version

commands:
  demo             stream a multi-turn conversation through a system with an on-disk store and
                   print every step and the final stats
  serve            serve the engine over HTTP (POST /process, POST /stream NDJSON), SSE
                   (GET /events) and WebSocket (/ws), with the live console at /, until
                   SIGTERM/SIGINT
  console          serve with example policies and open the live console: one command to watch
                   an agent verify, learn and remember in the browser
  migrate          copy a reasoning bank between stores: SQLite file <-> PostgreSQL URL
  help [command]   show this help, or that command's

options:
  -h, --help       show this help (\`lean-agentic <command> --help\`: that command's)
  -v, --version    print the version

exit codes: 0 done, 1 failed (the error is on stderr), 2 usage error (nothing was started)`;

export const DEMO_USAGE = `usage: lean-agentic demo [--path FILE]

Opens a system with an on-disk store and three Cedar policies, registers five actions, streams
a multi-turn travel conversation and prints each step (entities, action, plan, verification,
reward) and the final stats.

options:
  --path FILE   SQLite store (default ./.lean-agentic/store.db; ':memory:' for none)
  -h, --help    show this help`;

export const SERVE_USAGE = `usage: lean-agentic serve [--port N] [--host ADDR --token T] [--path FILE] [--policies FILE] [--actions FILE] [--log | --quiet] ...

Serves a system over HTTP, Server-Sent Events and WebSocket, with the live console at /, until
SIGTERM/SIGINT, then finishes in-flight requests, flushes and closes the store and exits 0.

options:
  --port N               port to listen on (default 8787; 0 picks a free one)
  --host ADDR            address to bind (default 127.0.0.1). Any other address needs --token:
                         the console can reload policies and submit chunks
  --token T              a secret (16+ characters, e.g. \`openssl rand -hex 16\`) every HTTP request
                         and WebSocket must carry: "Authorization: Bearer T", or open the console
                         once at /?token=T (a cookie then carries it). Default: $LEAN_AGENTIC_TOKEN
  --policies FILE        Cedar policies to load at start (the console's editor shows and reloads them)
  --no-console           do not serve the console at /
  --path FILE            SQLite store (default ./.lean-agentic/store.db; ':memory:' for none)
  --actions FILE         a CommonJS module exporting (sys) => void (or { register(sys) }) that
                         registers your actions with handlers (after the defaults; same names replace them)
  --no-default-actions   do not register the default actions
  --max-body BYTES       largest request body / NDJSON line / WebSocket message (default 1048576)
  --request-timeout MS   longest a /process request or WebSocket message may take before it is
                         answered with ERR_TIMEOUT (503); the step still completes (default 30000)
  --seed N               exploration seed, for reproducible runs
  --log                  log one line per request to stderr, when its response ends:
                         "POST /process 200 1.4ms" (method, path without query, status or
                         "aborted", duration); SSE and WebSocket connections also when they
                         open ("GET /ws open") and close ("GET /ws 101 5012.3ms")
  --quiet                print no start-up banner and no shutdown notices; errors still go to stderr
  -h, --help             show this help

default actions (JS handlers, no outside calls; each fails with reward -0.5 on a message
  that is not for it, so the learner steers such messages to "respond"):
  answer_question   questions (what, who, where, when, why, how, ...): returns the topic entities
                    and the 3 notes the reasoning bank recalls for the question
  take_note         "note/remember/save ...": keeps the text in the session's notes (last 100)
                    and stores it in the reasoning bank (domain "notes")
  recall_notes      "recall/list/show notes": returns the session's notes
  greet             hello, hi, thanks, bye: a polite reply
  respond           anything else (the fallback): acknowledges the message with its word count and entities

endpoints:
  POST /process      {"text": "...", "sessionId"?: "..."} -> step result (JSON)
  POST /stream       ?sessionId=  NDJSON in ({"text": ...} or a JSON string per line) -> NDJSON results, in order
  GET  /events       ?sessionId=  SSE of every result (id: event number; Last-Event-ID replays)
  GET  /events       ?format=ndjson  the same events as NDJSON lines {"id", "sessionId", "result"} (HTTP streaming)
  GET  /ws           ?sessionId=  WebSocket: one text message in, one result (or {"error": ...}) out;
                     ?events=1 also streams the events ({"id", "sessionId", "result"}; replies as {"reply": ...})
  GET  /stats        system statistics
  GET  /health       {"ok": true}
  GET  /             the live console (live stream, policies, learning, bank, benchmarks, knowledge)`;

export const CONSOLE_USAGE = `usage: lean-agentic console [--port N] [--host ADDR --token T] [--path FILE] [--policies FILE] [--seed N]

Runs \`serve\` with the default actions and example Cedar policies (questions, greetings and notes
are allowed; a note that contains a password or secret is forbidden) and prints the console's
URL: open it, press "Replay a sample conversation" and watch the agent verify, learn and
remember. Every \`serve\` option works here too (\`lean-agentic serve --help\`); --policies FILE
replaces the example policies. Default store: ':memory:' (nothing is written to disk).

options:
  --port N          port (default 8787)
  --host ADDR       address (default 127.0.0.1; any other needs --token)
  --path FILE       SQLite store (default ':memory:')
  -h, --help        show this help`;

export const MIGRATE_USAGE = `usage: lean-agentic migrate --from STORE --to STORE [--from-schema S] [--to-schema S] [--batch N]

Copies every reasoning memory (with its embedding, usage count and timestamps), learning and link
from one store to another. A STORE is a SQLite file (the engine's store, or agentic-flow's
.swarm/memory.db) or a PostgreSQL URL (postgres://user:password@host:5432/db). Rows are upserted
by id: running it again changes nothing, and an interrupted run can be run again. A progress bar
is drawn on a terminal.

options:
  --from STORE        the source
  --to STORE          the destination (created when missing)
  --from-schema S     PostgreSQL schema of the source (default public)
  --to-schema S       PostgreSQL schema of the destination (default public)
  --batch N           memories per transaction (default 1000)
  -h, --help          show this help`;

const USAGE: Record<Command | 'main', string> = { main: MAIN_USAGE, demo: DEMO_USAGE, serve: SERVE_USAGE, console: CONSOLE_USAGE, migrate: MIGRATE_USAGE };

/** The usage text of `command` (the main one without). */
export function usageOf(command?: Command): string {
  return USAGE[command ?? 'main'];
}

/**
 * A wrong command line: `message` says what to fix; {@link UsageError.hint} is the command's
 * usage line(s) and where to read more. `bin/lean-agentic.js` exits 2 on it.
 */
export class UsageError extends Error {
  readonly code = 'ERR_INVALID_INPUT';
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
    this.name = 'UsageError';
  }

  /** `lean-agentic` or `lean-agentic <command>`, the prefix of the message. */
  get program(): string {
    return this.command ? `lean-agentic ${this.command}` : 'lean-agentic';
  }

  /** The synopsis (the usage text up to its first blank line) and a pointer to `--help`. */
  get hint(): string {
    const synopsis = usageOf(this.command).split('\n\n')[0];
    return `${synopsis}\n(\`${this.program} --help\` for more)`;
  }
}

/** One option of a command. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

/**
 * Parses `argv` against `options` with strict `parseArgs` (no positionals), turning its errors
 * into {@link UsageError}s of `command` that name the option and what to do. A string option needs
 * a non-empty value; one whose value starts with "-" is written `--opt=-value` (a bare `--opt -1`
 * is reported through `check`, so `--port -1` says what `--port` takes).
 */
export function parseOptions(
  argv: string[],
  options: Record<string, OptionSpec>,
  command?: Command,
  check: (name: string, value: string) => void = () => {},
): Record<string, string | boolean | undefined> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw translate(e as Error & { code?: string }, argv, options, command, check);
  }
  // `--help` wins over the values of other options: it only prints the usage.
  if (values.help === true) return values;
  for (const [name, spec] of Object.entries(options)) {
    const v = values[name];
    if (spec.type === 'string' && v !== undefined) {
      if (v === '') throw new UsageError(`--${name} needs a value`, command);
      check(name, v as string);
    }
  }
  return values;
}

function quoted(message: string): string {
  return /'([^']*)'/.exec(message)?.[1] ?? '';
}

function translate(
  e: Error & { code?: string },
  argv: string[],
  options: Record<string, OptionSpec>,
  command: Command | undefined,
  check: (name: string, value: string) => void,
): Error {
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${quoted(e.message)}`, command);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument ${JSON.stringify(quoted(e.message))}`, command);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '-h, --help' does not take an argument", "Option '--path <value>' argument missing",
      // "Option '--port' argument is ambiguous..." (the next argument starts with "-").
      const name = /--([\w-]+)/.exec(quoted(e.message))?.[1] ?? '';
      if (options[name]?.type === 'boolean') return new UsageError(`--${name} takes no value`, command);
      if (/ambiguous/.test(e.message)) {
        const next = argv[argv.indexOf(`--${name}`) + 1];
        // A negative number: say what the option takes.
        if (next !== undefined && /^-\d/.test(next)) {
          try {
            check(name, next);
          } catch (err) {
            return err as Error;
          }
        }
        return new UsageError(`--${name} needs a value (write --${name}=VALUE for one that starts with "-")`, command);
      }
      return new UsageError(`--${name} needs a value`, command);
    }
    default:
      return new UsageError(e.message.split('\n')[0], command);
  }
}

/** An integer option in [min, max], as a {@link UsageError} of `command` when it is not. */
export function integerArg(command: Command | undefined, flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} takes an integer in [${min}, ${max}], got ${JSON.stringify(v)}`, command);
  }
  return n;
}

/** What `lean-agentic <argv>` asks for. */
export type Invocation =
  | { kind: 'help'; command?: Command }
  | { kind: 'version' }
  | { kind: 'demo'; path: string }
  | { kind: 'serve'; argv: string[]; console: boolean }
  | { kind: 'migrate'; from: string; to: string; fromSchema?: string; toSchema?: string; batch: number };

const COMMANDS: readonly string[] = ['demo', 'serve', 'console', 'migrate'];

function commandName(name: string): Command {
  if (!COMMANDS.includes(name)) {
    throw new UsageError(`unknown command ${JSON.stringify(name)}; the commands are ${COMMANDS.join(', ')} and help`);
  }
  return name as Command;
}

/**
 * Parses the whole command line (the arguments after `lean-agentic`). `serve`'s own options are
 * parsed by `cli_serve.ts` (`parseServeArgs`), which loads only when `serve` runs.
 */
export function parseCommandLine(argv: string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'help' };
  if (first.startsWith('-')) {
    const v = parseOptions(argv, { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } });
    if (v.help) return { kind: 'help' };
    return { kind: 'version' };
  }
  if (first === 'help') {
    if (rest.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(rest[1])}`);
    return rest.length === 0 ? { kind: 'help' } : { kind: 'help', command: commandName(rest[0]) };
  }
  const command = commandName(first);
  if (command === 'serve' || command === 'console') return { kind: 'serve', argv: rest, console: command === 'console' };
  if (command === 'migrate') return parseMigrate(rest);
  const v = parseOptions(rest, { path: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, 'demo');
  if (v.help) return { kind: 'help', command: 'demo' };
  return { kind: 'demo', path: (v.path as string | undefined) ?? './.lean-agentic/store.db' };
}

function parseMigrate(argv: string[]): Invocation {
  const v = parseOptions(
    argv,
    {
      from: { type: 'string' },
      to: { type: 'string' },
      'from-schema': { type: 'string' },
      'to-schema': { type: 'string' },
      batch: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    'migrate',
  );
  if (v.help) return { kind: 'help', command: 'migrate' };
  if (typeof v.from !== 'string' || typeof v.to !== 'string') throw new UsageError('migrate needs both --from STORE and --to STORE', 'migrate');
  const batch = v.batch === undefined ? 1000 : Number(v.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > 100_000) throw new UsageError(`--batch must be an integer from 1 to 100000, got ${JSON.stringify(v.batch)}`, 'migrate');
  return {
    kind: 'migrate',
    from: v.from,
    to: v.to,
    fromSchema: v['from-schema'] as string | undefined,
    toSchema: v['to-schema'] as string | undefined,
    batch,
  };
}

/**
 * `LeanAgenticSystem`: the public engine API.
 *
 * A thin wrapper over the native engine. Steps that need a JS handler are split: the
 * engine plans, selects and verifies natively (`begin`), the handler runs here with a
 * timeout, and the engine observes, rewards and learns (`complete`). Steps without a
 * handler never leave native code, and batches cross the boundary once per handler call.
 */

import { call, LeanAgenticError } from './errors';
import { native, NativeSystemHandle } from './native';
import type {
  ActionDefinition,
  ActionHandler,
  ContextOptions,
  FeedbackResult,
  HandlerResult,
  HistoryEntry,
  SessionHandle,
  StepResult,
  SystemConfig,
  SystemStats,
  HandlerAction,
} from './types';

interface PendingStep {
  actionId: string;
  sessionId: string;
  action: HandlerAction;
  plan: string[];
  verification: HandlerAction['verification'];
  entities: HandlerAction['entities'];
  timeoutMs: number;
}

type Begun = { done: true; result: StepResult } | { done: false; pending: PendingStep };

interface BatchProgress {
  results: StepResult[];
  pending: PendingStep | null;
}

/** Large batches go to a worker thread; small ones are cheaper inline. */
const ASYNC_BATCH_MIN = 256;

function sessionIdOf(ctx: SessionHandle | string): string {
  if (typeof ctx === 'string') return ctx;
  if (ctx && typeof ctx === 'object' && typeof ctx.sessionId === 'string') return ctx.sessionId;
  throw new LeanAgenticError(
    'ERR_INVALID_INPUT',
    'context must be a session handle from createContext() or a session id string',
  );
}

function checkChunk(chunk: unknown, index?: number): asserts chunk is string {
  if (typeof chunk !== 'string') {
    const where = index === undefined ? 'chunk' : `chunk ${index}`;
    throw new LeanAgenticError('ERR_INVALID_INPUT', `${where} must be a string, got ${chunk === null ? 'null' : typeof chunk}`);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LeanAgenticError('ERR_HANDLER_TIMEOUT', `${what} did not settle within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The Plan–Act–Observe–Learn engine with verification, learning and a persistent store. */
export class LeanAgenticSystem {
  private readonly handlers = new Map<string, ActionHandler>();
  private readonly sessions = new Map<string, SessionHandle>();

  private constructor(private readonly nat: NativeSystemHandle) {}

  /** Opens a system (creating its store). Rejects with `ERR_INVALID_CONFIG` on bad config. */
  static async open(config: SystemConfig = {}): Promise<LeanAgenticSystem> {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new LeanAgenticError('ERR_INVALID_CONFIG', 'config must be an object');
    }
    const nat = call(() => native.NativeSystem.open(JSON.stringify(config)));
    return new LeanAgenticSystem(nat);
  }

  /** The effective configuration (defaults filled in). */
  get config(): Required<Omit<SystemConfig, 'seed'>> & { seed: number | null } {
    return JSON.parse(call(() => this.nat.config()));
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.nat.closed;
  }

  /** Registers (or replaces) an action; `handler` runs it when chosen. */
  registerAction(def: ActionDefinition): void {
    if (def === null || typeof def !== 'object') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'registerAction takes an action definition object');
    }
    const { handler, ...spec } = def;
    if (handler !== undefined && typeof handler !== 'function') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `handler of action ${JSON.stringify(def.name)} must be a function`);
    }
    call(() => this.nat.registerAction(JSON.stringify({ ...spec, hasHandler: handler !== undefined })));
    if (handler) this.handlers.set(String(def.name).trim(), handler);
    else this.handlers.delete(String(def.name).trim());
  }

  /** Names of the registered actions. */
  actions(): string[] {
    return call(() => this.nat.actionNames());
  }

  /** Creates a session (or updates its context, keeping history) and returns its handle. */
  createContext(sessionId: string, options: ContextOptions = {}): SessionHandle {
    if (typeof sessionId !== 'string') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'session id must be a string');
    }
    if (options === null || typeof options !== 'object') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'context options must be an object');
    }
    call(() => this.nat.createSession(sessionId, JSON.stringify(options)));
    const handle: SessionHandle = Object.freeze({
      sessionId,
      preferences: { ...(options.preferences ?? {}) },
      environment: { ...(options.environment ?? {}) },
      agentId: options.agentId,
    });
    this.sessions.set(sessionId, handle);
    return handle;
  }

  /** Ends a session. */
  endSession(ctx: SessionHandle | string): void {
    const id = sessionIdOf(ctx);
    call(() => this.nat.endSession(id));
    this.sessions.delete(id);
  }

  /** A session's history window, oldest first. */
  history(ctx: SessionHandle | string): HistoryEntry[] {
    const id = sessionIdOf(ctx);
    return JSON.parse(call(() => this.nat.history(id)));
  }

  /** Processes one chunk through the whole loop. */
  async processChunk(chunk: string, ctx: SessionHandle | string): Promise<StepResult> {
    checkChunk(chunk);
    const id = sessionIdOf(ctx);
    const begun: Begun = JSON.parse(call(() => this.nat.begin(id, chunk)));
    if (begun.done) return begun.result;
    return this.runPending(begun.pending);
  }

  /** Processes chunks in order; native code runs everything but the handlers. */
  async processBatch(chunks: string[], ctx: SessionHandle | string): Promise<StepResult[]> {
    if (!Array.isArray(chunks)) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'processBatch takes an array of strings');
    }
    chunks.forEach((c, i) => checkChunk(c, i));
    const id = sessionIdOf(ctx);
    const out: StepResult[] = [];
    let rest = chunks;
    while (rest.length > 0) {
      const json =
        rest.length >= ASYNC_BATCH_MIN
          ? await this.nat.processBatchAsync(id, rest).catch((e: unknown) => {
              throw call(() => {
                throw e;
              });
            })
          : call(() => this.nat.processBatch(id, rest));
      const progress: BatchProgress = JSON.parse(json);
      for (const r of progress.results) out.push(r);
      if (!progress.pending) break;
      out.push(await this.runPending(progress.pending));
      rest = rest.slice(progress.results.length + 1);
    }
    return out;
  }

  /** Sends a delayed reward for a finished step to the learner. */
  feedback(actionId: string, reward: number): FeedbackResult {
    if (typeof actionId !== 'string') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'actionId must be the string id of a step result');
    }
    if (typeof reward !== 'number') {
      throw new LeanAgenticError('ERR_INVALID_REWARD', `reward must be a finite number, got ${typeof reward}`);
    }
    return JSON.parse(call(() => this.nat.feedback(actionId, reward)));
  }

  /** Aggregate statistics. */
  async stats(): Promise<SystemStats> {
    return JSON.parse(call(() => this.nat.stats()));
  }

  /** Steps persisted in the store's journal. */
  journalCount(): number {
    return call(() => this.nat.journalCount());
  }

  /** Writes buffered state to the store. */
  async flush(): Promise<void> {
    call(() => this.nat.flush());
  }

  /** Flushes and closes the store; every later call fails with `ERR_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    call(() => this.nat.close());
  }

  private async runPending(p: PendingStep): Promise<StepResult> {
    const handler = this.handlers.get(p.action.actionType);
    const session = this.sessions.get(p.sessionId);
    const nat = this.nat;
    const action: HandlerAction = {
      ...p.action,
      actionId: p.actionId,
      plan: p.plan,
      entities: p.entities,
      verification: p.verification,
    };
    const context = {
      sessionId: p.sessionId,
      preferences: session?.preferences ?? {},
      environment: session?.environment ?? {},
      agentId: session?.agentId,
      history: (): HistoryEntry[] => JSON.parse(call(() => nat.history(p.sessionId))),
    };
    let outcome: Record<string, unknown>;
    try {
      if (!handler) {
        throw new LeanAgenticError('ERR_UNKNOWN_ACTION', `no handler is registered for ${p.action.actionType}`);
      }
      const out = await withTimeout(
        Promise.resolve().then(() => handler(action, context)),
        p.timeoutMs,
        `handler of ${p.action.actionType}`,
      );
      outcome = normalizeOutcome(out, p.action.actionType);
    } catch (e) {
      const err = e instanceof LeanAgenticError ? e : null;
      outcome = {
        success: false,
        result: null,
        error: e instanceof Error ? e.message : String(e),
        errorCode: err ? err.code : 'ERR_HANDLER_FAILED',
      };
    }
    return JSON.parse(call(() => this.nat.complete(p.actionId, JSON.stringify(outcome))));
  }
}

function normalizeOutcome(out: unknown, action: string): Record<string, unknown> {
  if (out === null || typeof out !== 'object' || typeof (out as HandlerResult).success !== 'boolean') {
    return {
      success: false,
      result: out ?? null,
      error: `handler of ${action} must return an object like { success: boolean, result?, reward?, changes? }`,
      errorCode: 'ERR_HANDLER_FAILED',
    };
  }
  const r = out as HandlerResult;
  const reward = r.reward;
  if (reward !== undefined && typeof reward !== 'number') {
    return {
      success: false,
      result: r.result ?? null,
      error: `handler of ${action} returned a non-numeric reward`,
      errorCode: 'ERR_INVALID_REWARD',
    };
  }
  // JSON cannot carry NaN/Infinity: send them as strings the engine rejects with ERR_INVALID_REWARD.
  const rewardField = reward === undefined ? {} : Number.isFinite(reward) ? { reward } : { rewardInvalid: String(reward) };
  return {
    success: r.success,
    result: r.result === undefined ? null : r.result,
    changes: r.changes === undefined ? null : r.changes,
    ...rewardField,
  };
}

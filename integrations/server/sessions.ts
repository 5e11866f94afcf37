/**
 * Sessions of the service: created on first use (and again if ended behind its back), each
 * running its steps one at a time in arrival order, every result published on `/events`; a
 * single step is answered within `requestTimeoutMs` while it runs on to its end.
 */

import { LeanAgenticError } from '../errors';
import type { LeanAgenticSystem } from '../system';
import type { StepResult } from '../types';
import type { Events } from './events';

/** The longest delay a Node timer supports. */
export const MAX_TIMER_MS = 2_147_483_647;
const SESSION_ID_MAX = 256;

/** The sessions of one service. */
export class Sessions {
  private readonly known = new Set<string>();
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Chunks accepted and not yet answered, per session (the console's queue depth). */
  private readonly queued = new Map<string, number>();

  constructor(
    private readonly sys: LeanAgenticSystem,
    private readonly events: Events,
    private readonly defaultSession: string,
    private readonly requestTimeoutMs: number,
  ) {}

  /** The session a request names (the default one when it names none). */
  checkId(id: unknown): string {
    if (id === undefined || id === null || id === '') return this.defaultSession;
    if (typeof id !== 'string' || id.length > SESSION_ID_MAX) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `sessionId must be a string of at most ${SESSION_ID_MAX} characters`);
    }
    return id;
  }

  /** Creates the session if the service has not yet (for calls outside a step, e.g. ranking). */
  ensureSession(id: string): void {
    this.ensure(id);
  }

  private ensure(id: string): void {
    if (this.known.has(id)) return;
    this.sys.createContext(id);
    this.known.add(id);
  }

  /** Chunks waiting or running: in total and per session (sessions with none are left out). */
  depth(): { total: number; sessions: Record<string, number> } {
    let total = 0;
    const sessions: Record<string, number> = {};
    for (const [id, n] of this.queued) {
      total += n;
      sessions[id] = n;
    }
    return { total, sessions };
  }

  private count(id: string, delta: number): void {
    const n = (this.queued.get(id) ?? 0) + delta;
    if (n <= 0) this.queued.delete(id);
    else this.queued.set(id, n);
  }

  /** Runs `fn` after every earlier step of the session; `chunks` of it count as queued until it ends. */
  private inOrder<T>(id: string, fn: () => Promise<T>, chunks = 1): Promise<T> {
    const prev = this.tails.get(id) ?? Promise.resolve();
    this.count(id, chunks);
    const run = prev.then(fn, fn).finally(() => this.count(id, -chunks));
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return run;
  }

  /** Runs `fn` on a session created on first use (again, if it was ended behind our back). */
  private async onSession<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    this.ensure(sessionId);
    try {
      return await fn();
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ERR_UNKNOWN_SESSION') throw e;
      this.known.delete(sessionId);
      this.ensure(sessionId);
      return fn();
    }
  }

  private publish(r: StepResult): void {
    this.events.publish(r.sessionId, JSON.stringify(r), r);
  }

  /**
   * One step, answered within `requestTimeoutMs`: past it the promise rejects with `ERR_TIMEOUT`
   * while the step runs on (it is never abandoned half-way) and is published when it ends.
   */
  processOne(sessionId: string, text: string): Promise<StepResult> {
    const step = this.inOrder(sessionId, async () => {
      const r = await this.onSession(sessionId, () => this.sys.processChunk(text, sessionId));
      this.publish(r);
      return r;
    });
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LeanAgenticError(
              'ERR_TIMEOUT',
              `the step did not finish within ${this.requestTimeoutMs} ms (requestTimeoutMs); it still runs and its result is published on /events`,
            ),
          ),
        this.requestTimeoutMs,
      );
    });
    // A step that fails after its request timed out has nobody to tell.
    step.catch(() => undefined);
    return Promise.race([step, limit]).finally(() => clearTimeout(timer));
  }

  /** The system seen through the session order, publishing every result (for `/stream`). */
  processor(sessionId: string): { processBatch: (chunks: string[]) => Promise<StepResult[]> } {
    return {
      processBatch: (chunks: string[]) =>
        this.inOrder(sessionId, async () => {
          const rs = await this.onSession(sessionId, () => this.sys.processBatch(chunks, sessionId));
          for (const r of rs) this.publish(r);
          return rs;
        }, chunks.length),
    };
  }

  /** Resolves when every step already started in every session has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.tails.values()]);
  }
}

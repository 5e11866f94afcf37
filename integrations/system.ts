/**
 * `LeanAgenticSystem`: the public engine API.
 *
 * A thin wrapper over the native engine. Steps that need a JS handler are split: the
 * engine plans, selects and verifies natively (`begin`), the handler runs here with a
 * timeout, and the engine observes, rewards and learns (`complete`). Steps without a
 * handler never leave native code, and batches cross the boundary once per handler call.
 */

import { call, LeanAgenticError, toError } from './errors';
import { native, NativeSystemHandle } from './native';
import type { BatchSlice } from '../index.js';
import { processStream, StreamOptions } from './stream';
import { checkDetail } from './result_detail';
import { ReasoningBank } from './bank';
import { optionsObject, requireString, toJsonText } from './json_input';
import { KnowledgeGraph } from './knowledge';
import type {
  Proof,
  ProofFailure,
  Theorem,
  ActionToVerify,
  ActionVerification,
  PolicySetInfo,
  VerifyContext,
  Workflow,
  WorkflowProperty,
  WorkflowReport,
  ActionDefinition,
  ActionHandler,
  ContextOptions,
  FeedbackResult,
  HandlerResult,
  HistoryEntry,
  SessionHandle,
  StepResult,
  StepSummary,
  Ranking,
  BatchOptions,
  ResultDetail,
  SystemConfig,
  SystemStats,
  EvaluatePolicySettings,
  EvaluatePolicyOptions,
  OffPolicyEstimate,
  HandlerAction,
  RecordedOutcome,
} from './types';

interface PendingStep {
  actionId: string;
  sessionId: string;
  action: HandlerAction;
  plan: string[];
  verification: HandlerAction['verification'];
  entities: HandlerAction['entities'];
  timeoutMs: number;
  wouldDeny?: true;
}

type Begun = { done: true; result: StepResult } | { done: false; pending: PendingStep };

interface BatchProgress {
  results: Array<StepResult | StepSummary>;
  pending: PendingStep | null;
}

/** The `detail` of a batch, checked. */
function batchDetail(options: BatchOptions | undefined): ResultDetail {
  if (options === undefined || options === null) return 'full';
  if (typeof options !== 'object') {
    throw new LeanAgenticError('ERR_INVALID_CONFIG', 'processBatch options must be an object like { detail: "summary" }');
  }
  return checkDetail(optionsObject<BatchOptions>(options, 'processBatch options').detail);
}

/** Large batches go to a worker thread; small ones are cheaper inline. */
const ASYNC_BATCH_MIN = 256;
/**
 * A chunk (or a batch) of at least this many characters runs on the session's batch thread, so
 * the JS thread (a server's other requests, its health check) stays free while it runs: a step
 * takes time linear in its chunk, up to a fraction of a second for 1 MB. Below this the hop
 * to another thread costs more than the step.
 */
const OFF_THREAD_CHARS = 64 * 1024;
/** Chunks per worker-thread slice of a large batch (see `processBatch`). */
const PIPELINE_SLICE = 2048;
/** Ids of sliced native batches (unique within the process). */
let nextSliceBatch = 1;

function sessionIdOf(ctx: SessionHandle | string): string {
  if (typeof ctx === 'string') return ctx;
  const id = ctx && typeof ctx === 'object' ? optionsObject<SessionHandle>(ctx, 'the session handle').sessionId : undefined;
  if (typeof id === 'string') return id;
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

  /** The reasoning bank (agentic-flow-compatible memories, natively searched). */
  readonly bank: ReasoningBank;
  /** The knowledge graph built from processed chunks. */
  readonly knowledge: KnowledgeGraph;

  private constructor(private readonly nat: NativeSystemHandle) {
    this.bank = new ReasoningBank(nat);
    this.knowledge = new KnowledgeGraph(nat);
  }

  /** Opens a system (creating its store). Rejects with `ERR_INVALID_CONFIG` on bad config. */
  static async open(config: SystemConfig = {}): Promise<LeanAgenticSystem> {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new LeanAgenticError('ERR_INVALID_CONFIG', 'config must be an object');
    }
    const nat = call(() => native.NativeSystem.open(toJsonText(config, 'config', 'ERR_INVALID_CONFIG')));
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
    const { handler, ...spec } = optionsObject<ActionDefinition>(def, 'the action definition');
    if (handler !== undefined && typeof handler !== 'function') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `handler of action ${JSON.stringify(def.name)} must be a function`);
    }
    call(() => this.nat.registerAction(toJsonText({ ...spec, hasHandler: handler !== undefined }, 'the action definition')));
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
    call(() => this.nat.createSession(sessionId, toJsonText(options, 'context options')));
    const handle: SessionHandle = Object.freeze({
      sessionId,
      preferences: { ...(options.preferences ?? {}) },
      environment: { ...(options.environment ?? {}) },
      agentId: options.agentId,
      ...(options.enforcement !== undefined ? { enforcement: options.enforcement } : {}),
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

  /**
   * What the next step would do with `chunk` in this session, without running it: the runnable
   * plans with the learner's predicted reward, the probability of each being chosen (safe
   * exploration's mask applied), and the verifier's answer for each first action. Nothing is
   * executed, learned, journaled or added to the knowledge graph.
   */
  rankActions(chunk: string, ctx: SessionHandle | string): Ranking {
    checkChunk(chunk);
    const id = sessionIdOf(ctx);
    return JSON.parse(call(() => this.nat.rank(id, chunk)));
  }

  /** Processes one chunk through the whole loop. */
  async processChunk(chunk: string, ctx: SessionHandle | string): Promise<StepResult> {
    checkChunk(chunk);
    const id = sessionIdOf(ctx);
    const begun: Begun = JSON.parse(
      chunk.length >= OFF_THREAD_CHARS
        ? await call(() => this.nat.beginAsync(id, chunk)).catch((e: unknown) => {
            throw toError(e);
          })
        : call(() => this.nat.begin(id, chunk)),
    );
    if (begun.done) return begun.result;
    return this.runPending(begun.pending);
  }

  /**
   * Processes chunks in order; native code runs everything but the handlers. With
   * `{ detail: 'summary' }` each result is a {@link StepSummary} instead of a full
   * {@link StepResult}.
   */
  processBatch(chunks: string[], ctx: SessionHandle | string, options?: { detail?: 'full' }): Promise<StepResult[]>;
  processBatch(chunks: string[], ctx: SessionHandle | string, options: { detail: 'summary' }): Promise<StepSummary[]>;
  processBatch(chunks: string[], ctx: SessionHandle | string, options?: BatchOptions): Promise<StepResult[] | StepSummary[]>;
  async processBatch(
    chunks: string[],
    ctx: SessionHandle | string,
    options?: BatchOptions,
  ): Promise<StepResult[] | StepSummary[]> {
    if (!Array.isArray(chunks)) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'processBatch takes an array of strings');
    }
    const detail = batchDetail(options);
    // Every index, holes of a sparse array included (forEach would skip them).
    for (let i = 0; i < chunks.length; i++) checkChunk(chunks[i], i);
    const id = sessionIdOf(ctx);
    const out: Array<StepResult | StepSummary> = [];
    let chars = 0;
    for (let i = 0; i < chunks.length && chars < OFF_THREAD_CHARS; i++) chars += chunks[i].length;
    if (chunks.length < ASYNC_BATCH_MIN && chars < OFF_THREAD_CHARS) {
      // Small batches: one synchronous crossing per run of native steps.
      let rest = chunks;
      while (rest.length > 0) {
        const progress: BatchProgress = JSON.parse(call(() => this.nat.processBatch(id, rest, detail)));
        for (const r of progress.results) out.push(r);
        if (!progress.pending) break;
        out.push(await this.runPending(progress.pending, detail));
        rest = rest.slice(progress.results.length + 1);
      }
      return out as StepResult[] | StepSummary[];
    }
    // Large batches: slices of PIPELINE_SLICE chunks on the session's batch thread, the next
    // slice queued before the current one ends (no idle hand-over; JS parses one slice's
    // results while the engine runs the next). A queued slice runs only right after the one
    // before it finished every chunk (native slice tickets); when one stops at a handler step
    // the slices after it run nothing, and once the handler ran the rest is sent again.
    // Every chunk is checked first, so a bad chunk anywhere rejects the batch before any step.
    call(() => this.nat.checkChunks(chunks));
    let from = 0;
    while (from < chunks.length) {
      const stop = await this.runSlices(id, chunks, from, detail, out);
      if (stop.pending) {
        out.push(await this.runPending(stop.pending, detail));
        from = stop.next + 1;
      } else {
        from = stop.next;
      }
    }
    return out as StepResult[] | StepSummary[];
  }

  /**
   * Runs `chunks[from..]` as one sliced native batch, two slices in flight, appending results
   * to `out`. Returns where it stopped: the index of the next chunk to run and, when a step
   * waits for its handler, that step (at index `next`).
   */
  private async runSlices(
    id: string,
    chunks: string[],
    from: number,
    detail: 'full' | 'summary',
    out: Array<StepResult | StepSummary>,
  ): Promise<{ next: number; pending: PendingStep | null }> {
    const batch = nextSliceBatch++;
    const inflight: Array<{ start: number; promise: Promise<BatchSlice> }> = [];
    let submitted = from;
    let seq = 0;
    const submit = (): void => {
      const start = submitted;
      submitted = Math.min(start + PIPELINE_SLICE, chunks.length);
      const slice = chunks.slice(start, submitted);
      const promise = call(() => this.nat.processBatchAsync(id, slice, detail, batch, seq++)).catch(
        (e: unknown) => {
          throw toError(e);
        },
      );
      // Awaited below; this keeps a failure from being reported as unhandled if the batch
      // stops (e.g. a handler throws) while the slice is still queued.
      promise.catch(() => undefined);
      inflight.push({ start, promise });
    };
    submit();
    if (submitted < chunks.length) submit();
    while (inflight.length > 0) {
      const { start, promise } = inflight.shift()!;
      const { state, json } = await promise;
      if (state === 'skipped') {
        // Another batch on this session ran in between: send these chunks (and the slices
        // queued after them, which run nothing either) again.
        await Promise.all(inflight.map((s) => s.promise.catch(() => undefined)));
        return { next: start, pending: null };
      }
      if (state === 'finished') {
        if (submitted < chunks.length) submit();
        const progress: BatchProgress = JSON.parse(json);
        for (const r of progress.results) out.push(r);
        continue;
      }
      // Stopped at a handler step: the queued slices after it run nothing.
      const progress: BatchProgress = JSON.parse(json);
      for (const r of progress.results) out.push(r);
      await Promise.all(inflight.map((s) => s.promise.catch(() => undefined)));
      return { next: start + progress.results.length, pending: progress.pending };
    }
    return { next: submitted, pending: null };
  }

  /**
   * Processes a stream of chunks (any iterable or async iterable, e.g. `fromWebSocket(url)`)
   * with backpressure; yields results in order, batching boundary crossings.
   */
  processStream(
    source: AsyncIterable<string> | Iterable<string>,
    ctx: SessionHandle | string,
    options?: StreamOptions & { detail?: 'full' },
  ): AsyncGenerator<StepResult, void, undefined>;
  processStream(
    source: AsyncIterable<string> | Iterable<string>,
    ctx: SessionHandle | string,
    options: StreamOptions & { detail: 'summary' },
  ): AsyncGenerator<StepSummary, void, undefined>;
  processStream(
    source: AsyncIterable<string> | Iterable<string>,
    ctx: SessionHandle | string,
    options?: StreamOptions,
  ): AsyncGenerator<StepResult | StepSummary, void, undefined>;
  processStream(
    source: AsyncIterable<string> | Iterable<string>,
    ctx: SessionHandle | string,
    options?: StreamOptions,
  ): AsyncGenerator<StepResult | StepSummary, void, undefined> {
    return processStream(this, source, ctx, options);
  }

  /** Loads (replacing) the Cedar policy set; with a schema, validates it in strict mode. */
  loadPolicies(policies: string, schema?: string): PolicySetInfo {
    if (typeof policies !== 'string') {
      throw new LeanAgenticError('ERR_POLICY_PARSE', 'policies must be Cedar policy text (a string)');
    }
    if (schema !== undefined && typeof schema !== 'string') {
      throw new LeanAgenticError('ERR_POLICY_PARSE', 'schema must be Cedar schema text (a string)');
    }
    return JSON.parse(call(() => this.nat.loadPolicies(policies, schema ?? null)));
  }

  /**
   * The loaded policy set: ids, counts, hashes, warnings, and `evaluation` — for each policy
   * whether it runs on the compiled evaluator (`mode: 'compiled'`) or on Cedar's interpreter
   * (`'interpreted'`, with the construct that keeps it there in `reason`).
   */
  policyInfo(): PolicySetInfo {
    return JSON.parse(call(() => this.nat.policyInfo()));
  }

  /** Replaces the Cedar entities (array or JSON text); returns how many were loaded. */
  setEntities(entities: unknown[] | string): number {
    const text = typeof entities === 'string' ? entities : toJsonText(entities, 'entities');
    return call(() => this.nat.setEntities(text));
  }

  /** Verifies an action against the loaded policies (synchronously). */
  verifyAction(action: ActionToVerify, context: VerifyContext): ActionVerification {
    const [a, c] = verifyArgs(action, context);
    return JSON.parse(call(() => this.nat.verifyAction(a, c)));
  }

  /** Verifies an action on a worker thread. */
  async verifyActionAsync(action: ActionToVerify, context: VerifyContext): Promise<ActionVerification> {
    const [a, c] = verifyArgs(action, context);
    try {
      return JSON.parse(await this.nat.verifyActionAsync(a, c));
    } catch (e) {
      throw toError(e);
    }
  }

  /**
   * Checks a whole workflow before it runs: temporal properties over every execution path
   * (with counterexample paths) and a Cedar check of each step with the steps guaranteed to
   * have run before it as `priorSteps`.
   */
  verifyWorkflow(workflow: Workflow, properties?: WorkflowProperty[]): WorkflowReport {
    if (workflow === null || typeof workflow !== 'object') {
      throw new LeanAgenticError('ERR_INVALID_WORKFLOW', 'verifyWorkflow takes a workflow object { id, steps: [...] }');
    }
    const { properties: own, ...wf } = optionsObject<Workflow>(workflow, 'the workflow');
    const props = properties ?? own ?? [];
    return JSON.parse(call(() => this.nat.verifyWorkflow(toJsonText(wf, 'the workflow'), toJsonText(props, 'the properties'))));
  }

  /**
   * Replays a decision certificate with a fresh Cedar authorizer against the given policies,
   * schema and entities, and confirms its hashes, decision and determining policies.
   */
  static checkCertificate(
    certificate: unknown,
    policies: string,
    schema?: string | null,
    entities?: unknown[] | string | null,
  ): { valid: boolean; reasons: string[] } {
    const ents = entities == null ? null : typeof entities === 'string' ? entities : toJsonText(entities, 'entities');
    const cert = typeof certificate === 'string' ? certificate : toJsonText(certificate, 'the certificate');
    const schemaText = schema == null ? null : requireString(schema, 'the schema');
    return JSON.parse(call(() => native.checkCertificate(cert, requireString(policies, 'the policies'), schemaText, ents)));
  }

  /**
   * Records the outcome of an action executed outside `processChunk` (a workflow step, a tool
   * call seen by an agent hook). The learner learns from it in the context of `text`; the step
   * is journaled, counted and entered in the session's history and ledger: a success becomes
   * a prior step, a failure a failed step, and `decision: 'deny'` with `success: false` a
   * denied attempt. Pass the `decision` of the `verifyAction` that preceded it (journaled as
   * is), the `params` it ran with (numeric ones feed `context.runs` sums) and, if the action was
   * chosen at random, its `propensity`.
   */
  recordOutcome(ctx: SessionHandle | string, given: RecordedOutcome): StepResult {
    const id = sessionIdOf(ctx);
    const outcome = optionsObject<RecordedOutcome>(given, 'the recorded outcome') as RecordedOutcome;
    if (typeof outcome.success !== 'boolean') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'recordOutcome takes { action, text, success, reward?, result?, error?, latencyMs?, params?, decision?, propensity? }');
    }
    if (typeof outcome.action !== 'string' || typeof outcome.text !== 'string') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'recordOutcome needs string `action` and `text`');
    }
    if (outcome.decision !== undefined && !['allow', 'deny', 'skipped'].includes(outcome.decision)) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `recordOutcome: decision must be 'allow', 'deny' or 'skipped', got ${JSON.stringify(outcome.decision)}`);
    }
    if (outcome.propensity !== undefined && !(typeof outcome.propensity === 'number' && outcome.propensity > 0 && outcome.propensity <= 1)) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `recordOutcome: propensity must be a number in (0, 1], got ${String(outcome.propensity)}`);
    }
    const normalized = normalizeOutcome(
      { success: outcome.success, result: outcome.result, reward: outcome.reward },
      outcome.action,
    );
    if (outcome.error !== undefined) normalized.error = String(outcome.error);
    if (outcome.params !== undefined) normalized.params = outcome.params;
    if (outcome.decision !== undefined) normalized.decision = outcome.decision;
    if (outcome.propensity !== undefined) normalized.propensity = outcome.propensity;
    const latency = outcome.latencyMs ?? 0;
    const text = toJsonText(normalized, 'recordOutcome outcome');
    return JSON.parse(call(() => this.nat.recordOutcome(id, outcome.action, outcome.text, text, latency)));
  }

  /** Adds rules, e.g. `can_pay(A, X) :- member(A, finance), approved(X), not frozen(X).`; returns their ids. */
  addRule(text: string): string[] {
    if (typeof text !== 'string') throw new LeanAgenticError('ERR_RULE_PARSE', 'rules must be text');
    return call(() => this.nat.addRules(text));
  }

  /** Asserts a ground fact, e.g. `approved(tx1)`. */
  assertFact(fact: string): void {
    if (typeof fact !== 'string') throw new LeanAgenticError('ERR_RULE_PARSE', 'a fact must be text like `approved(tx1)`');
    call(() => this.nat.assertFact(fact));
  }

  /** Retracts an asserted fact; true when it was there. */
  retractFact(fact: string): boolean {
    return call(() => this.nat.retractFact(requireString(fact, 'the fact')));
  }

  /**
   * Proves a goal from the rules, asserted facts, the knowledge graph's facts and the given
   * premises/rules. A proof is re-verified by the independent checker and stored as a theorem.
   */
  proveTheorem(goal: string, options: { premises?: string[]; rules?: string[] | string; maxDepth?: number } = {}): Theorem | ProofFailure {
    if (typeof goal !== 'string') throw new LeanAgenticError('ERR_RULE_PARSE', 'the goal must be text like `can_pay(alice, tx1)`');
    const o = optionsObject<{ premises?: string[]; rules?: string[] | string; maxDepth?: number }>(options, 'proveTheorem options');
    const opts = {
      premises: o.premises ?? [],
      rules: typeof o.rules === 'string' ? [o.rules] : o.rules ?? [],
      ...(o.maxDepth === undefined ? {} : { maxDepth: o.maxDepth }),
    };
    return JSON.parse(call(() => this.nat.proveTheorem(goal, toJsonText(opts, 'proveTheorem options'))));
  }

  /** The stored theorems, oldest first. */
  theorems(): Theorem[] {
    return (JSON.parse(call(() => this.nat.theorems())) as Omit<Theorem, 'proved'>[]).map((t) => ({ ...t, proved: true as const }));
  }

  /**
   * Re-verifies a proof with the independent checker against rules and facts (text, or arrays
   * of clauses). A tampered proof gives `{ valid: false, reason }`.
   */
  static checkProof(proof: Proof | string, rules: string | string[], facts: string | string[]): { valid: boolean; reason?: string } {
    const text = (v: string | string[], what: string) =>
      Array.isArray(v)
        ? v.map((c, i) => requireString(c, `${what}[${i}]`)).map((c) => (c.trim().endsWith('.') ? c : c + '.')).join('\n')
        : requireString(v, what);
    const p = typeof proof === 'string' ? proof : toJsonText(proof, 'the proof');
    return JSON.parse(call(() => native.checkProof(p, text(rules, 'the rules'), text(facts, 'the facts'))));
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

  /**
   * Off-policy evaluation: estimates what a learner with other settings would have earned on
   * the steps this system journaled, without running it. `settings` takes the learner keys of
   * `open()` (`learningRate`, `explorationRate`, `learner`), laid over this system's own;
   * `options.since` (a Date or ms since the epoch) and `options.sessions` select the steps.
   * Resolves to IPS, SNIPS and doubly robust estimates with 95% intervals, what the logging
   * policy earned on the same steps, and the effective sample size. Runs on a worker thread.
   */
  async evaluatePolicy(settings: EvaluatePolicySettings = {}, options: EvaluatePolicyOptions = {}): Promise<OffPolicyEstimate> {
    const opts: Record<string, unknown> = { ...options };
    if (options.since instanceof Date) opts.since = options.since.getTime();
    const s = toJsonText(settings, 'evaluatePolicy settings', 'ERR_INVALID_CONFIG');
    const o = toJsonText(opts, 'evaluatePolicy options');
    try {
      return JSON.parse(await this.nat.evaluatePolicyAsync(s, o));
    } catch (e) {
      throw toError(e);
    }
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

  /** Runs a pending step's handler and completes the step; the result comes in `detail`. */
  private runPending(p: PendingStep): Promise<StepResult>;
  private runPending(p: PendingStep, detail: ResultDetail): Promise<StepResult | StepSummary>;
  private async runPending(p: PendingStep, detail: ResultDetail = 'full'): Promise<StepResult | StepSummary> {
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
      // A result JSON cannot carry (a cycle, a BigInt) fails the step, not the call.
      try {
        toJsonText(outcome, `the result of handler ${p.action.actionType}`);
      } catch (e) {
        throw new LeanAgenticError('ERR_HANDLER_FAILED', e instanceof Error ? e.message : String(e));
      }
    } catch (e) {
      const err = e instanceof LeanAgenticError ? e : null;
      outcome = {
        success: false,
        result: null,
        error: e instanceof Error ? e.message : String(e),
        errorCode: err ? err.code : 'ERR_HANDLER_FAILED',
      };
    }
    return JSON.parse(call(() => this.nat.complete(p.actionId, toJsonText(outcome, 'handler outcome'), detail)));
  }
}

function verifyArgs(action: ActionToVerify, context: VerifyContext): [string, string] {
  let a: Record<string, unknown>;
  if (typeof action === 'string') a = { name: action };
  else if (action && typeof action === 'object') {
    const o = optionsObject<Exclude<ActionToVerify, string>>(action, 'the action to verify');
    const name = o.name ?? o.actionType;
    a = { name, params: o.params ?? o.parameters ?? {} };
    if (o.resource !== undefined) a.resource = o.resource;
  } else {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'verifyAction takes an action name or { name, params?, resource? }');
  }
  if (typeof a.name !== 'string' || a.name.length === 0) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'verifyAction needs the action name (`name` or `actionType`)');
  }
  let c: Record<string, unknown>;
  if (typeof context === 'string') c = { sessionId: context };
  else if (context && typeof context === 'object') {
    c = optionsObject<Record<string, unknown>>(context, 'the verification context');
    // A session handle carries preferences/environment natively; send only its id.
    if (Object.isFrozen(context) && typeof c.sessionId === 'string') c = { sessionId: c.sessionId };
  } else {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'verifyAction needs a context: a session handle, a session id or { agentId, ... }');
  }
  return [toJsonText(a, 'the action to verify'), toJsonText(c, 'the verification context')];
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

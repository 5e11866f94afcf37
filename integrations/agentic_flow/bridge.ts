/**
 * The agentic-flow bridge (`lean-agentic-native/agentic-flow`): runs agentic-flow-style agents
 * in verified workflows and voting swarms on a {@link LeanAgenticSystem}, records what happens
 * in the reasoning bank, syncs that bank with agentic-flow's `.swarm/memory.db`, and provides
 * Claude Agent SDK hooks that verify every tool call.
 *
 * agentic-flow is an optional peer dependency: this module never loads it (only
 * {@link openAgenticFlowMemory} does, on request).
 */

import { LeanAgenticError } from '../errors';
import { LeanAgenticSystem } from '../system';
import type { MemoryRecord, QueryHit } from '../bank';
import { parseUtc, toMs } from '../time';
import { agenticFlowDbPath, inProcessConnection } from './load';
import { exportThroughConnection, importThroughConnection, type SqliteConnection } from './connection';
import { createHooks } from './hooks';
import { BankRecorder } from './record';
import { ReliabilityBook } from './reliability';
import { runSwarm } from './swarm';
import { checkAgents, runWorkflow } from './workflow';
import type {
  AgenticFlowBridgeOptions,
  BridgeAgent,
  BridgeHooks,
  ExecuteWorkflowOptions,
  HookOptions,
  RunContext,
  SwarmOptions,
  SwarmResult,
  SwarmTask,
  WorkflowRunResult,
} from './types';
import type { Workflow } from '../types';

export { openAgenticFlowMemory, agenticFlowDbPath } from './load';
export type { AgenticFlowMemory } from './load';
export type { SqliteConnection } from './connection';
export { canonicalJson } from './json';
export { RELIABILITY_PATTERN } from './reliability';
export * from './types';

/** A memory of the bank's export document (agentic-flow `patterns` row shape). */
export interface ExportedMemory {
  id: string;
  type: string;
  patternData: Record<string, unknown>;
  confidence: number;
  usageCount: number;
  createdAt: string;
  lastUsed: string | null;
  embedding: { model: string; dims: number; vector: number[] } | null;
}

/** The result of {@link AgenticFlowBridge.syncWithAgenticFlow}. */
export interface SyncReport {
  path: string;
  direction: 'import' | 'export' | 'both';
  /** `'connection'`: through agentic-flow's own open connection; `'native'`: the engine opened the file. */
  via: 'connection' | 'native';
  exported?: { path: string; memories: number; embeddings: number; links: number };
  imported?: { memories: number; embeddings: number; learnings: number; links: number; skipped: number };
}

const KNOWN_OPTIONS = new Set(['system', 'path', 'systemConfig', 'agents', 'workflows', 'reasoningBank', 'memoryDbPath', 'embed', 'agentId', 'timeoutMs', 'onDeny']);

/** SQLite `YYYY-MM-DD HH:MM:SS` (UTC) or ISO → ms. */
function memoryTimeMs(m: ExportedMemory): number {
  const iso = typeof m.patternData?.created_at === 'string' ? parseUtc(m.patternData.created_at as string) : NaN;
  return Number.isFinite(iso) ? iso : parseUtc(m.createdAt);
}

/** Runs agentic-flow agents on the lean-agentic engine: verified workflows, swarms, memory, hooks. */
export class AgenticFlowBridge {
  private readonly agents = new Map<string, BridgeAgent>();
  private readonly workflows = new Map<string, Workflow>();
  private readonly reliabilityBook = new ReliabilityBook();
  private readonly recorder: BankRecorder;
  private readonly ownsSystem: boolean;
  private sysPromise: Promise<LeanAgenticSystem> | null = null;
  private readonly runNos = new Map<string, number>();
  /** Tells this bridge's run sessions apart from those of other bridges and processes. */
  private readonly instance = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  private swarmNo = 0;

  constructor(private readonly options: AgenticFlowBridgeOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new LeanAgenticError('ERR_INVALID_CONFIG', 'AgenticFlowBridge takes an options object { agents, workflows, system?, ... }');
    }
    for (const k of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(k)) {
        throw new LeanAgenticError('ERR_INVALID_CONFIG', `unknown AgenticFlowBridge option ${JSON.stringify(k)} (known: ${[...KNOWN_OPTIONS].join(', ')})`);
      }
    }
    if (options.system !== undefined && !(options.system instanceof LeanAgenticSystem)) {
      throw new LeanAgenticError('ERR_INVALID_CONFIG', '`system` must be a LeanAgenticSystem from LeanAgenticSystem.open()');
    }
    if (options.embed !== undefined && typeof options.embed !== 'function') {
      throw new LeanAgenticError('ERR_INVALID_CONFIG', '`embed` must be a function (text) => number[]');
    }
    if (options.onDeny !== undefined && options.onDeny !== 'stop' && options.onDeny !== 'skip') {
      throw new LeanAgenticError('ERR_INVALID_CONFIG', `onDeny must be 'stop' or 'skip', got ${JSON.stringify(options.onDeny)}`);
    }
    if (options.timeoutMs !== undefined && !(typeof options.timeoutMs === 'number' && options.timeoutMs > 0)) {
      throw new LeanAgenticError('ERR_INVALID_CONFIG', `timeoutMs must be a positive number, got ${String(options.timeoutMs)}`);
    }
    this.ownsSystem = options.system === undefined;
    this.recorder = new BankRecorder(options.reasoningBank !== false, options.embed);
    for (const a of options.agents ?? []) this.registerAgent(a);
    for (const w of options.workflows ?? []) this.registerWorkflow(w);
  }

  /** The engine (opened on first use when the bridge owns it). */
  system(): Promise<LeanAgenticSystem> {
    if (!this.sysPromise) {
      const given = this.options.system;
      const config = { path: this.options.path ?? ':memory:', ...(this.options.systemConfig ?? {}) };
      const opening = (given ? Promise.resolve(given) : LeanAgenticSystem.open(config)).then((sys) => this.prepare(sys));
      // A failed open is not cached: the next call tries again.
      opening.catch(() => {
        if (this.sysPromise === opening) this.sysPromise = null;
      });
      this.sysPromise = opening;
    }
    return this.sysPromise;
  }

  private async prepare(sys: LeanAgenticSystem): Promise<LeanAgenticSystem> {
    const bank = this.options.reasoningBank;
    if (bank !== undefined && typeof bank === 'object' && bank !== null) sys.bank.importJson(bank);
    return sys;
  }

  /** Adds (or replaces) an agent. */
  registerAgent(agent: BridgeAgent): void {
    if (agent === null || typeof agent !== 'object' || typeof agent.id !== 'string' || agent.id === '') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'an agent needs a non-empty string id: { id, name, type, capabilities, execute }');
    }
    if (agent.execute !== undefined && typeof agent.execute !== 'function') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `execute of agent ${JSON.stringify(agent.id)} must be a function (step, input, ctx) => result`);
    }
    this.agents.set(agent.id, agent);
  }

  /** Adds (or replaces) a workflow. */
  registerWorkflow(workflow: Workflow): void {
    if (workflow === null || typeof workflow !== 'object' || typeof workflow.id !== 'string' || !Array.isArray(workflow.steps)) {
      throw new LeanAgenticError('ERR_INVALID_WORKFLOW', 'a workflow needs { id, steps: [{ id, agentId, action, ... }] }');
    }
    this.workflows.set(workflow.id, workflow);
  }

  /** The registered agents. */
  listAgents(): BridgeAgent[] {
    return [...this.agents.values()];
  }

  /** The registered workflows. */
  listWorkflows(): Workflow[] {
    return [...this.workflows.values()];
  }

  /**
   * Verifies and runs a workflow. A workflow that cannot pass `verifyWorkflow` is refused before
   * any step runs (`refused: true`, with the counterexample). Throws `ERR_NOT_FOUND` for an
   * unknown workflow id and `ERR_INVALID_WORKFLOW` for a step naming an unknown agent.
   */
  async executeWorkflow(
    workflowId: string,
    inputs: Record<string, unknown> = {},
    context: RunContext = {},
    options: ExecuteWorkflowOptions = {},
  ): Promise<WorkflowRunResult> {
    const workflow = this.workflows.get(workflowId);
    if (!workflow) {
      const known = [...this.workflows.keys()].map((k) => JSON.stringify(k)).join(', ') || 'none';
      throw new LeanAgenticError('ERR_NOT_FOUND', `unknown workflow ${JSON.stringify(workflowId)} (registered: ${known})`);
    }
    if (inputs === null || typeof inputs !== 'object') throw new LeanAgenticError('ERR_INVALID_INPUT', 'workflow inputs must be an object');
    if (context === null || typeof context !== 'object') throw new LeanAgenticError('ERR_INVALID_INPUT', 'the run context must be an object');
    checkAgents(workflow, this.agents);
    const sys = await this.system();
    const runNo = (this.runNos.get(workflowId) ?? 0) + 1;
    this.runNos.set(workflowId, runNo);
    return runWorkflow(
      {
        sys,
        agents: this.agents,
        recorder: this.recorder,
        memoryAgentId: this.options.agentId ?? 'lean-agentic-bridge',
        timeoutMs: this.options.timeoutMs ?? 30_000,
        onDeny: this.options.onDeny ?? 'stop',
        instance: this.instance,
      },
      workflow,
      runNo,
      inputs,
      context,
      options,
    );
  }

  /** Runs the agents on a task in parallel and reaches a consensus on their votes. */
  async createSwarm(agentIds: string[], task: SwarmTask, context: RunContext = {}, options: SwarmOptions = {}): Promise<SwarmResult> {
    const sys = await this.system();
    this.swarmNo += 1;
    return runSwarm(
      { sys, agents: this.agents, reliability: this.reliabilityBook, timeoutMs: this.options.timeoutMs ?? 30_000 },
      this.swarmNo,
      agentIds,
      task,
      context ?? {},
      options ?? {},
    );
  }

  /** Learned reliability of swarm agents: one agent's, or all known (loaded from the bank). */
  async reliability(agentId?: string): Promise<number | Record<string, number>> {
    const sys = await this.system();
    this.reliabilityBook.load(sys);
    return agentId === undefined ? this.reliabilityBook.all() : this.reliabilityBook.get(agentId);
  }

  /** Full-text search over the bank's memories and learnings. */
  async queryReasoningBank(pattern: string, limit = 10): Promise<QueryHit[]> {
    const sys = await this.system();
    return sys.bank.query(pattern, { limit });
  }

  /** Memories created at or after `since` (a Date, ms since the epoch or an ISO string), oldest first. */
  async getMemories(since?: Date | number | string): Promise<ExportedMemory[]> {
    const sys = await this.system();
    const memories = (sys.bank.exportJson().memories ?? []) as ExportedMemory[];
    const sinceMs = since === undefined ? -Infinity : toMs(since);
    return memories.filter((m) => memoryTimeMs(m) >= sinceMs).sort((a, b) => memoryTimeMs(a) - memoryTimeMs(b));
  }

  /** The whole bank as a JSON document. */
  async exportReasoningBank(): Promise<ReturnType<LeanAgenticSystem['bank']['exportJson']>> {
    const sys = await this.system();
    return sys.bank.exportJson();
  }

  /** Imports a document from {@link exportReasoningBank} (idempotent). */
  async importReasoningBank(bank: unknown): Promise<ReturnType<LeanAgenticSystem['bank']['importJson']>> {
    const sys = await this.system();
    return sys.bank.importJson(bank);
  }

  /**
   * Copies memories between the bank and agentic-flow's `memory.db` (`dbPath`, else the
   * `memoryDbPath` option, else `CLAUDE_FLOW_DB_PATH`, else `./.swarm/memory.db`). `'both'`
   * exports, then imports.
   *
   * When agentic-flow has that database open in this process, pass its connection as
   * `database` (`db.getDb()` of `agentic-flow/reasoningbank`; found automatically when it was
   * loaded with {@link openAgenticFlowMemory}): the sync then goes through it. Otherwise the
   * engine opens the file itself, which is safe only when no connection of another SQLite copy
   * in this process has it open (see `bridge_af_connection.ts`).
   */
  async syncWithAgenticFlow(options: { dbPath?: string; direction: 'import' | 'export' | 'both'; database?: SqliteConnection }): Promise<SyncReport> {
    const direction = options?.direction;
    if (direction !== 'import' && direction !== 'export' && direction !== 'both') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `syncWithAgenticFlow needs direction 'import', 'export' or 'both', got ${JSON.stringify(direction)}`);
    }
    if (options.database !== undefined && (options.database === null || typeof options.database.prepare !== 'function')) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', '`database` must be an open better-sqlite3 Database (agentic-flow: db.getDb())');
    }
    const sys = await this.system();
    const explicit = options.dbPath ?? this.options.memoryDbPath;
    const conn = options.database ?? inProcessConnection(agenticFlowDbPath(explicit));
    const p = conn && explicit === undefined && conn.name ? conn.name : agenticFlowDbPath(explicit);
    const out: SyncReport = { path: p, direction, via: conn ? 'connection' : 'native' };
    if (direction !== 'import') out.exported = conn ? exportThroughConnection(sys, conn) : sys.bank.exportAgenticFlow(p);
    if (direction !== 'export') out.imported = conn ? importThroughConnection(sys, conn) : sys.bank.importAgenticFlow(p);
    if (out.exported && conn) out.exported.path = p;
    return out;
  }

  /** Claude Agent SDK hooks (`options.hooks`) that verify and learn from every tool call. */
  hooks(options: HookOptions = {}): BridgeHooks {
    return createHooks(() => this.system(), this.recorder, options);
  }

  /** Closes the engine when the bridge opened it (a given `system` stays open). */
  async close(): Promise<void> {
    if (!this.ownsSystem || !this.sysPromise) return;
    const sys = await this.sysPromise.catch(() => null);
    if (sys && !sys.closed) await sys.close();
  }
}

export type { MemoryRecord };

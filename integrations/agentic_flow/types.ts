/** Public types of the agentic-flow bridge (`lean-agentic-native/agentic-flow`). */

import type { LeanAgenticSystem } from '../system';
import type { ActionVerification, SystemConfig, Workflow, WorkflowReport, WorkflowStep } from '../types';

/** What an agent's `execute` receives as its third argument. */
export interface AgentContext {
  /** `'workflow'` for a workflow step, `'swarm'` for a swarm task. */
  kind: 'workflow' | 'swarm';
  /** The workflow id (workflows) or the swarm's run id (swarms). */
  workflowId?: string;
  /** Id of this run (`wf:<id>:<runNo>` or `swarm:<runNo>`). */
  runId: string;
  /** The agent executing. */
  agent: BridgeAgent;
  /** The caller's context object (as given to executeWorkflow / createSwarm). */
  context: Record<string, unknown>;
  /** The run-time verification that allowed this execution. */
  verification: ActionVerification;
  /** The engine. */
  system: LeanAgenticSystem;
  /** Aborted when the step times out. */
  signal: AbortSignal;
}

/** An agent: metadata plus the function that does its work. */
export interface BridgeAgent {
  id: string;
  name?: string;
  /** agentic-flow agent type, e.g. `'coder'`, `'researcher'`. */
  type?: string;
  capabilities?: string[];
  config?: Record<string, unknown>;
  /**
   * Executes a workflow step or a swarm task. Throwing, timing out or returning
   * `{ success: false }` is a failure; `reward` (a finite number) overrides the default +1/−1.
   */
  execute?: (step: WorkflowStep, input: Record<string, unknown>, ctx: AgentContext) => unknown;
}

/** Options of the bridge. */
export interface AgenticFlowBridgeOptions {
  /** The engine to use. Without it the bridge opens its own (see `path`, `systemConfig`). */
  system?: LeanAgenticSystem;
  /** Store of the bridge's own engine (default `':memory:'`). Ignored when `system` is given. */
  path?: string;
  /** Further config of the bridge's own engine (policies, entities, schema, seed, …). */
  systemConfig?: SystemConfig;
  agents?: BridgeAgent[];
  workflows?: Workflow[];
  /**
   * `false`: do not write memories and learnings of workflow runs and tool calls to the bank
   * (swarm reliability is still persisted). An object: a document from `exportReasoningBank()`
   * imported when the engine opens. Default `true`.
   */
  reasoningBank?: boolean | Record<string, unknown>;
  /** agentic-flow `memory.db` for `syncWithAgenticFlow` (default `CLAUDE_FLOW_DB_PATH`, else `./.swarm/memory.db`). */
  memoryDbPath?: string;
  /**
   * Embeds the text of every memory the bridge stores (`title description content`, as
   * agentic-flow's distiller does) — pass agentic-flow's `computeEmbedding` so that its
   * `retrieveMemories` compares like with like. Default: the engine's built-in 384-d hash embedding.
   */
  embed?: (text: string) => ArrayLike<number> | Promise<ArrayLike<number>>;
  /** The `agentId` recorded on workflow-run memories (default `'lean-agentic-bridge'`). */
  agentId?: string;
  /** Default timeout of an agent's `execute` in ms (default 30000). */
  timeoutMs?: number;
  /** Default of `executeWorkflow`'s `onDeny` (default `'stop'`). */
  onDeny?: 'stop' | 'skip';
}

/** The caller's context of a workflow run or swarm. */
export type RunContext = { approvals?: unknown[]; agentId?: string } & Record<string, unknown>;

/** Options of `executeWorkflow`. */
export interface ExecuteWorkflowOptions {
  /**
   * What a run-time deny does: `'stop'` (default) starts no further step (running ones finish);
   * `'skip'` skips the denied step and every step depending on it, and goes on with the rest.
   */
  onDeny?: 'stop' | 'skip';
  /** Timeout of each agent's `execute` in ms (default: the bridge's `timeoutMs`, 30000). */
  timeoutMs?: number;
}

/** One step's outcome in a workflow run. */
export interface StepRunResult {
  stepId: string;
  agentId: string;
  action: string;
  /** The run-time verification (absent when the step never came up for verification). */
  verification: ActionVerification | null;
  /** What the agent returned (null when it did not run or threw). */
  result: unknown;
  reward: number;
  success: boolean;
  /** True when the step did not run (denied, or a dependency did not complete, or the run stopped). */
  skipped?: boolean;
  /** True when the run-time verification denied the step. */
  denied?: boolean;
  /** Why the step failed or was skipped. */
  error?: string;
  latencyMs?: number;
}

/** The result of `executeWorkflow`. */
export interface WorkflowRunResult {
  workflowId: string;
  runId: string;
  results: StepRunResult[];
  success: boolean;
  totalReward: number;
  /** The pre-run `verifyWorkflow` report. */
  verification: WorkflowReport;
  /** True when the workflow was refused before any step ran. */
  refused?: boolean;
  /** Why it was refused. */
  reason?: string;
  /** The first violated property's counterexample path (step ids), when refused for one. */
  counterexample?: string[];
  /** Branch option chosen for every branch group. */
  branches: Record<string, string>;
  /** Ids of steps on branch options that were not chosen. */
  notTaken: string[];
  /** Ids of steps that finished running, in completion order. */
  completionOrder: string[];
  /** Id of the run's summary memory in the bank (when the bank is written). */
  memoryId?: string;
  /** Problems recording outcomes (the steps themselves ran as reported). */
  warnings?: string[];
}

/** A swarm task. */
export type SwarmTask = { action?: string; params?: Record<string, unknown>; resource?: string } & Record<string, unknown>;

/** Options of `createSwarm`. */
export interface SwarmOptions {
  /** `'majority'` (default): one agent, one vote; `'weighted'`: votes weighted by learned reliability; `'quorum'`. */
  consensus?: 'majority' | 'weighted' | 'quorum';
  /** For `'quorum'`: the share of voters, in (0, 1], that must agree (default 2/3). */
  quorum?: number;
  /** Timeout of each agent's `execute` in ms (default: the bridge's `timeoutMs`). */
  timeoutMs?: number;
}

/** One agent's part in a swarm. */
export interface SwarmVote {
  agentId: string;
  /** The vote (`result.vote ?? result.answer ?? result.result`, or the result itself when not an object). */
  vote: unknown;
  /** The vote's weight (1, or the reliability for `'weighted'`); 0 for agents that did not vote. */
  weight: number;
  /** Whether the vote equals the winner. */
  agreed: boolean;
  /** `'voted'`, `'denied'` (by policy), `'failed'` (threw, timed out, success false) or `'abstained'` (no vote). */
  status: 'voted' | 'denied' | 'failed' | 'abstained';
  /** The agent's reliability before this round. */
  reliability: number;
  verification: ActionVerification;
  result?: unknown;
  error?: string;
}

/** The result of `createSwarm`. */
export interface SwarmResult {
  success: boolean;
  consensus: 'majority' | 'weighted' | 'quorum';
  /** The winning vote value (null when no consensus). */
  winner: unknown;
  /** The full result of the heaviest agent that voted for the winner (null when no consensus). */
  result: unknown;
  /** Winning weight / total weight of the votes cast. */
  agreement: number;
  votes: SwarmVote[];
  /** True when the top weight was shared and the tie-breaking rule decided. */
  tie: boolean;
  /** Why there is no consensus. */
  reason?: string;
  /** The leading vote (also when there is no consensus). */
  leading?: unknown;
  runId: string;
}

/** Options of `hooks()`. */
export interface HookOptions {
  /** The Cedar principal (default: the hook input's `session_id`). */
  agentId?: string;
  /** Tool-name matcher of the returned hook matchers (default: every tool). */
  matcher?: string;
  /** Allow the call when verification itself fails (default false: deny). */
  failOpen?: boolean;
  /** Cedar resource of a tool call, e.g. `(input) => \`File::"${input.tool_input.file_path}"\`` (default none). */
  resource?: (input: HookInput) => string | undefined;
  /** `approvals` in the Cedar context (default `[]`). */
  approvals?: string[];
  /** Store a memory per tool call (default true; learnings and outcomes are always recorded). */
  memories?: boolean;
  /** Called with errors of the recording hooks (which never throw into the SDK). */
  onError?: (error: unknown) => void;
}

/**
 * The fields of a Claude Agent SDK hook input the bridge reads. The tool fields are optional
 * because the SDK types a hook callback for every event (`HookInput` is a union, and a
 * `Notification` input has no tool): a tool hook given an input without `tool_name` denies.
 */
export interface HookInput {
  hook_event_name: string;
  session_id: string;
  transcript_path?: string;
  cwd?: string;
  tool_name?: string;
  tool_input?: unknown;
  tool_use_id?: string;
  tool_response?: unknown;
  error?: unknown;
  [k: string]: unknown;
}

/** What a hook callback returns. */
export type HookOutput = Record<string, unknown>;

/** A Claude Agent SDK hook callback. */
export type HookCallback = (input: HookInput, toolUseId: string | undefined, options: { signal?: AbortSignal }) => Promise<HookOutput>;

/** Claude Agent SDK hook matchers (`options.hooks`). */
export interface BridgeHooks {
  PreToolUse: { matcher?: string; hooks: HookCallback[] }[];
  PostToolUse: { matcher?: string; hooks: HookCallback[] }[];
  PostToolUseFailure: { matcher?: string; hooks: HookCallback[] }[];
}

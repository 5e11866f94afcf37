/** Public types of the JS API. */

/** Options of {@link LeanAgenticSystem.open}. */
export interface SystemConfig {
  /** Store file; `':memory:'` keeps everything in memory. Default `./.lean-agentic/store.db`. */
  path?: string;
  /** Verify every action before it runs (default true). */
  enableFormalVerification?: boolean;
  /** Learner step size, in (0, 10] (default 0.1). */
  learningRate?: number;
  /** Longest precondition chain the planner builds, 1..32 (default 3). */
  maxPlanningDepth?: number;
  /** Minimum relevance in [0, 1] for an action to be considered (default 0.1). */
  actionThreshold?: number;
  /** Share of choices spent exploring, in [0, 1] (default 0.1). */
  explorationRate?: number;
  /** Steps of history each session keeps (default 20). */
  historyWindow?: number;
  /** Largest accepted chunk in bytes (default 1 MiB). */
  maxChunkBytes?: number;
  /** Default handler timeout in ms (default 30000). */
  handlerTimeoutMs?: number;
  /** Seed for exploration randomness, for reproducible runs. */
  seed?: number;
}

/** What a handler returns. */
export interface HandlerResult {
  success: boolean;
  result?: unknown;
  /** The handler's own reward; must be finite. Defaults to +1/−1 from `success`. */
  reward?: number;
  changes?: unknown;
}

/** The action passed to a handler. */
export interface HandlerAction extends ActionView {
  actionId: string;
  plan: string[];
  entities: Entity[];
  verification: VerificationResult;
}

/** The session context passed to a handler. */
export interface HandlerContext {
  sessionId: string;
  preferences: Record<string, unknown>;
  environment: Record<string, unknown>;
  agentId?: string;
  /** The session's history window (read on demand). */
  history(): HistoryEntry[];
}

/** Executes an action. May be sync or async; throwing counts as failure. */
export type ActionHandler = (
  action: HandlerAction,
  context: HandlerContext,
) => HandlerResult | Promise<HandlerResult>;

/** An action to register. */
export interface ActionDefinition {
  name: string;
  description: string;
  keywords?: string[];
  toolCalls?: string[];
  /** Atoms like `authenticated(user)` that must hold before the action runs. */
  preconditions?: string[];
  /** Atoms the action establishes when it succeeds. */
  effects?: string[];
  /** Prior reward estimate in [-1, 1]. */
  expectedReward?: number;
  /** Handler timeout in ms (overrides `handlerTimeoutMs`). */
  timeoutMs?: number;
  handler?: ActionHandler;
}

/** Context of a session, given to {@link LeanAgenticSystem.createContext}. */
export interface ContextOptions {
  preferences?: Record<string, unknown>;
  environment?: Record<string, unknown>;
  /** The agent acting in the session (verification principal); defaults to the session id. */
  agentId?: string;
}

/** A session handle. */
export interface SessionHandle {
  readonly sessionId: string;
  readonly preferences: Record<string, unknown>;
  readonly environment: Record<string, unknown>;
  readonly agentId?: string;
}

/** An extracted entity. */
export interface Entity {
  id: string;
  name: string;
  type: string;
  start: number;
  end: number;
  confidence: number;
}

/** The chosen action. */
export interface ActionView {
  actionType: string;
  description: string;
  parameters: { text: string; entities: Record<string, string[]> } & Record<string, unknown>;
  toolCalls: string[];
  expectedReward: number;
}

/** The verification stage's answer. */
export interface VerificationResult {
  decision: 'allow' | 'deny' | 'skipped';
  reasons: string[];
  [detail: string]: unknown;
}

/** What executing the action produced. */
export interface Observation {
  success: boolean;
  result: unknown;
  changes: unknown;
  timestamp: number;
  error?: string;
  errorCode?: string;
}

/** The result of processing one chunk. */
export interface StepResult {
  actionId: string;
  sessionId: string;
  action: ActionView;
  plan: string[];
  observation: Observation;
  reward: number;
  verified: boolean;
  verification: VerificationResult;
  entities: Entity[];
  propensity: number;
  explored: boolean;
  learned: boolean;
  latencyUs: number;
}

/** One history entry. */
export interface HistoryEntry {
  stepId: string;
  input: string;
  action: string;
  success: boolean;
  reward: number;
  timestamp: number;
}

/** Aggregate statistics. */
export interface SystemStats {
  totalEntities: number;
  totalRelations: number;
  totalTheorems: number;
  learningIterations: number;
  totalActions: number;
  averageReward: number;
  sessions: number;
  successfulActions: number;
  deniedActions: number;
}

/** The answer to {@link LeanAgenticSystem.feedback}. */
export interface FeedbackResult {
  actionId: string;
  action: string;
  predictedBefore: number;
  predictedAfter: number;
}

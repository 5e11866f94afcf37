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
  /**
   * Advanced learner options: `exploration` (`{strategy: 'epsilonGreedy'|'softmax'|'ucb', ...}`),
   * `driftDetection`, `drift`, `adaptation` (`{mode: 'immediate'|'miniBatch'|'experienceReplay', ...}`),
   * `priorWeight`, `hashBits`, `sessionHashBits`, `sessionModels`, `maxImportanceWeight`.
   */
  learner?: Record<string, unknown>;
  /** Cedar policies loaded at open (see {@link LeanAgenticSystem.loadPolicies}). */
  policies?: string;
  /** Cedar schema (human or JSON syntax); policies are validated in strict mode against it. */
  schema?: string;
  /** Cedar entities (array or JSON text): agents, roles, resources and their hierarchy. */
  entities?: unknown[] | string;
  /**
   * Reasoning-bank options: `maxMemories` (10000), `maxLearnings` (5000), `evictToFraction`,
   * `evictionHalfLifeDays`, `recordUsage`, `logMetrics`, `duplicateThreshold`,
   * `contradictionThreshold`, `pruneMaxAgeDays`, `pruneBelowConfidence`, `annThreshold`
   * (200000: from this many memories on, retrieval uses the approximate sketch index saved as
   * `<path>.ann`; 0 never), `annCandidates` (1000 rows re-scored exactly per approximate query).
   */
  bank?: Record<string, unknown>;
  /**
   * What a denied step does: `'enforce'` (default: it does not run) or `'observe'` (it runs,
   * and its result, summary and journal row say `wouldDeny` with the deciding policies) — how
   * guardrails are rolled out without breaking running agents. Sessions may override it.
   */
  enforcement?: Enforcement;
  /**
   * What `context.runs` carries: `windows` (name → seconds; default `{ LastHour: 3600,
   * LastDay: 86400 }`, giving `countLastHour`, `sumLastHour`, ...) and `sum` (numeric
   * parameters whose running sums are kept per window, e.g. `['amount']`).
   */
  runs?: { windows?: Record<string, number>; sum?: string[] };
}

/** Whether verification refuses denied steps or only records them. */
export type Enforcement = 'enforce' | 'observe';

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
  /** Overrides the system's `enforcement` for this session. */
  enforcement?: Enforcement;
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
  /** The chunk's entities: at most the first 1,000 (the knowledge graph receives them all). */
  entities: Entity[];
  /** Present (`true`) when the chunk had more than 1,000 entities and `entities` holds the first 1,000. */
  entitiesTruncated?: true;
  propensity: number;
  explored: boolean;
  learned: boolean;
  /** Present (true) when verification denied the step and it ran anyway (`enforcement: 'observe'`). */
  wouldDeny?: true;
  latencyUs: number;
}

/** How much of each finished step `processBatch` / `processStream` return. */
export type ResultDetail = 'full' | 'summary';

/** Options of `processBatch`. */
export interface BatchOptions {
  /**
   * `'full'` (default): a {@link StepResult} per chunk. `'summary'`: a {@link StepSummary} per
   * chunk — the outcome and the verdict with its certificate digest, about a seventh of the
   * JSON, for high-throughput callers that keep only outcomes.
   */
  detail?: ResultDetail;
}

/**
 * The summary of a finished step (`detail: 'summary'`). The decision certificate is issued
 * as for a full result; the summary carries its digest, not the certificate itself.
 */
export interface StepSummary {
  actionId: string;
  sessionId: string;
  /** The action that ran (or was denied); `none` when nothing could run. */
  action: string;
  success: boolean;
  reward: number;
  verified: boolean;
  decision: 'allow' | 'deny' | 'skipped';
  /** Ids of the policies that determined the decision. */
  determiningPolicies: string[];
  /** Digest of the decision certificate, when policies were consulted. */
  certificateDigest?: string;
  propensity: number;
  explored: boolean;
  learned: boolean;
  /** Present (true) when verification denied the step and it ran anyway (`enforcement: 'observe'`). */
  wouldDeny?: true;
  latencyUs: number;
  error?: string;
  errorCode?: string;
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
  /** Steps verification denied (they did not run). */
  deniedActions: number;
  /** Steps verification denied that ran anyway under `enforcement: 'observe'`. */
  wouldDenyActions: number;
}

/** The answer to {@link LeanAgenticSystem.feedback}. */
export interface FeedbackResult {
  actionId: string;
  action: string;
  predictedBefore: number;
  predictedAfter: number;
}

/** A policy that determined a decision. */
export interface PolicyRef {
  id: string;
  annotations: Record<string, string>;
}

/** A permit policy that nearly matched a default-denied request. */
export interface NearMiss {
  policyId: string;
  satisfied: string[];
  failed: string[];
}

/** A replayable record of a Cedar decision. */
export interface Certificate {
  request: { principal: { entityType: string; id: string }; action: { entityType: string; id: string }; resource: { entityType: string; id: string }; context: Record<string, unknown> };
  policySetHash: string;
  schemaHash: string | null;
  entitiesHash: string;
  cedarVersion: string;
  decision: 'allow' | 'deny';
  determiningPolicyIds: string[];
  issuedAtMs: number;
  digest: string;
}

/** The answer of {@link LeanAgenticSystem.verifyAction}. */
export interface ActionVerification {
  decision: 'allow' | 'deny' | 'skipped';
  reasons: string[];
  determiningPolicies?: PolicyRef[];
  errors?: string[];
  nearMiss?: NearMiss[];
  certificate?: Certificate;
}

/** What was loaded by {@link LeanAgenticSystem.loadPolicies}. */
export interface PolicySetInfo {
  policyIds: string[];
  permitCount: number;
  forbidCount: number;
  policySetHash: string;
  schemaHash: string | null;
  validated: boolean;
  warnings: string[];
}

/** An action to verify: a name, or an object (a step result's `action` works too). */
export type ActionToVerify =
  | string
  | { name?: string; actionType?: string; params?: unknown; parameters?: unknown; resource?: string };

/** Context of a verification: a session, or explicit fields (extra fields go to Cedar's context). */
export type VerifyContext =
  | SessionHandle
  | string
  | ({ sessionId?: string; agentId?: string; priorSteps?: string[]; approvals?: unknown; stepIndex?: number } & Record<string, unknown>);

/** A step of a workflow. */
export interface WorkflowStep {
  id: string;
  agentId: string;
  action: string;
  inputs?: Record<string, unknown>;
  dependsOn?: string[];
  resource?: string;
  /** Steps with the same group and different options are alternatives: exactly one runs. */
  branch?: { group: string; option: string };
}

/** A step selector: a step id (or else an action name), or explicit. */
export type Selector = string | { step: string } | { action: string };

/** A temporal property of a workflow. */
export type WorkflowProperty =
  | { type: 'precedes'; before: Selector; after: Selector }
  | { type: 'neverAfter'; first: Selector; then: Selector }
  | { type: 'atMost'; action: Selector; count: number }
  | { type: 'noCycles' }
  | { type: 'allReachable' };

/** A workflow to verify or run. */
export interface Workflow {
  id: string;
  name?: string;
  steps: WorkflowStep[];
  properties?: WorkflowProperty[];
}

/** The result of {@link LeanAgenticSystem.verifyWorkflow}. */
export interface WorkflowReport {
  ok: boolean;
  /**
   * `kind`: `'violated'` (the counterexample is an execution order that breaks the property),
   * `'absent'` (a selector matches no step: never a vacuous pass; the message suggests the
   * closest step id or action) or `'denied'` (a step the policies deny).
   */
  violations: { property: unknown; kind: 'violated' | 'absent' | 'denied'; message: string; counterexample: string[] }[];
  stepChecks: { stepId: string; decision: string; determiningPolicies: string[]; reasons: string[]; priorSteps: string[] }[];
  warnings: string[];
  pathsChecked: number;
}

/** A derivation tree: a rule application (or fact/premise) with bindings and sub-proofs. */
export interface Proof {
  conclusion: string;
  /** `'fact'`, `'premise'` or a rule id. */
  rule: string;
  bindings: Record<string, string>;
  premises: Proof[];
  /** Negated literals checked to be underivable. */
  absent: string[];
}

/** A proved, checked and stored theorem. */
export interface Theorem {
  proved: true;
  id: string;
  statement: string;
  proof: Proof;
  tags: string[];
}

/** A goal that could not be proved. */
export interface ProofFailure {
  proved: false;
  goal: string;
  reason: string;
  failedSubgoals: string[];
}

/** What {@link LeanAgenticSystem.recordOutcome} is told about a step executed elsewhere. */
export interface RecordedOutcome {
  action: string;
  text: string;
  success: boolean;
  result?: unknown;
  reward?: number;
  error?: string;
  latencyMs?: number;
  /** The action's parameters (numeric ones feed `context.runs` sums). */
  params?: Record<string, unknown>;
  /** The decision of the caller's `verifyAction` before it ran (journaled; `'skipped'` when absent). */
  decision?: 'allow' | 'deny' | 'skipped';
  /** The probability with which the caller chose this action (default 1). */
  propensity?: number;
}

/** Public types of the JS API. */

// The shapes of the engine's results are generated from the Rust types (`src/ts_types.rs`):
// they cannot drift from what the engine returns. So are the nested config objects (`bank`,
// `learner`, `runs`). The other inputs (the top-level config, actions, workflows) are declared
// here, with their optional fields.
export type { ActionView } from './generated/ActionView';
export type { AdaptationStrategy } from './generated/AdaptationStrategy';
export type { BankConfig } from './generated/BankConfig';
export type { DriftConfig } from './generated/DriftConfig';
export type { EvictMode } from './generated/EvictMode';
export type { Exploration } from './generated/Exploration';
export type { LearnerConfig } from './generated/LearnerConfig';
export type { RunsConfig } from './generated/RunsConfig';
export type { Certificate } from './generated/Certificate';
export type { CertifiedRequest } from './generated/CertifiedRequest';
export type { DecisionKind } from './generated/DecisionKind';
export type { Enforcement } from './generated/Enforcement';
export type { Entity } from './generated/Entity';
export type { EntityRef } from './generated/EntityRef';
export type { FeedbackResult } from './generated/FeedbackResult';
export type { HistoryEntry } from './generated/HistoryEntry';
export type { NearMiss } from './generated/NearMiss';
export type { Observation } from './generated/Observation';
export type { PolicyRef } from './generated/PolicyRef';
export type { PolicySetInfo } from './generated/PolicySetInfo';
export type { PolicyEvaluation } from './generated/PolicyEvaluation';
export type { EvaluationMode } from './generated/EvaluationMode';
export type { EvaluationStats } from './generated/EvaluationStats';
export type { CacheStats } from './generated/CacheStats';
export type { StepCheck } from './generated/StepCheck';
export type { StepResult } from './generated/StepResult';
export type { Ranking } from './generated/Ranking';
export type { RankedAction } from './generated/RankedAction';
export type { BlockedAction } from './generated/BlockedAction';
export type { StepSummary } from './generated/StepSummary';
export type { SystemStats } from './generated/SystemStats';
export type { LearnerStats } from './generated/LearnerStats';
export type { OffPolicyEstimate } from './generated/OffPolicyEstimate';
export type { Estimate } from './generated/Estimate';
export type { Verdict } from './generated/Verdict';
export type { Verification, Verification as ActionVerification, Verification as VerificationResult } from './generated/Verification';
export type { Violation } from './generated/Violation';
export type { ViolationKind } from './generated/ViolationKind';
export type { WorkflowReport } from './generated/WorkflowReport';
export type { JsonValue } from './generated/serde_json/JsonValue';
import type { ActionView } from './generated/ActionView';
import type { BankConfig } from './generated/BankConfig';
import type { LearnerConfig } from './generated/LearnerConfig';
import type { RunsConfig } from './generated/RunsConfig';
import type { Enforcement } from './generated/Enforcement';
import type { EvaluationMode } from './generated/EvaluationMode';
import type { Entity } from './generated/Entity';
import type { HistoryEntry } from './generated/HistoryEntry';
import type { Verification as VerificationResult } from './generated/Verification';

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
  /**
   * What a step does when no action reaches `actionThreshold`: `'choose'` (default) lets the
   * learner pick among all registered actions; `'skip'` runs no action (`action.actionType` is
   * `'none'`, the observation's error names the closest action and its relevance).
   */
  noRelevantAction?: 'choose' | 'skip';
  /** Share of choices spent exploring, in [0, 1] (default 0.02). */
  explorationRate?: number;
  /**
   * Safe exploration (default true): with policies loaded, each candidate is verified before the
   * learner draws, so exploration is never spent on an action the verifier would deny; a
   * forbidden best choice is still reported as a denied step.
   */
  safeExploration?: boolean;
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
  learner?: LearnerConfig;
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
  bank?: BankConfig;
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
  runs?: RunsConfig;
  /**
   * How policies are evaluated: `'compiled'` (default: each policy in the supported Cedar
   * subset runs on the compiled evaluator; `policyInfo().evaluation` names any that stay on
   * the interpreter) or `'interpreted'` (Cedar's interpreter for every decision). Decisions,
   * determining policies and errors are the same either way.
   */
  policyEvaluation?: EvaluationMode;
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

/** The learner settings `evaluatePolicy` estimates: the learner keys of `open()`, laid over the system's own. */
export interface EvaluatePolicySettings {
  learningRate?: number;
  explorationRate?: number;
  learner?: LearnerConfig;
}

/** Which journaled steps `evaluatePolicy` replays. */
export interface EvaluatePolicyOptions {
  /** Only steps completed at or after this time (a Date or ms since the epoch). */
  since?: Date | number;
  /** Only these sessions. */
  sessions?: string[];
}

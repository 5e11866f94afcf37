/**
 * Running a workflow: refuse it when `verifyWorkflow` finds a violation, else run its steps in
 * dependency order (independent steps concurrently), verifying each one with Cedar when it is
 * about to start, executing it with its agent, and learning from the outcome.
 *
 * Branches: steps sharing `branch.group` are alternatives. The option run is
 * `inputs.branches[group]` when given, else the group's first option in step order. Which steps
 * run, and what each waits for, is the engine's path model (`planRun`, native
 * `workflowRunPlan`): exactly a path `verifyWorkflow` checked.
 *
 * Run-time verification: `verifyAction({ name: step.action, params: {...step.inputs}, resource },
 * { sessionId, agentId, approvals, workflowId })` on the run's own engine session, whose ledger
 * holds what this run did so far (`priorSteps`: steps that succeeded; `deniedSteps`,
 * `failedSteps`, `runs`), and `approvals` is `inputs.approvals ?? context.approvals ?? []`.
 * Each outcome is recorded on that session with its verification decision and parameters. The
 * session id is the run id plus this bridge's instance id, so a run never inherits the ledger
 * of an earlier process's run with the same number. A verification that throws counts as a
 * deny.
 *
 * A step whose dependency failed, was denied or was skipped is skipped. A denied step has reward
 * −0.5 (as the engine gives denied steps) and is learned from as a failure.
 */

import { LeanAgenticError } from '../errors';
import { native } from '../native';
import { call } from '../errors';
import { toJsonText } from '../json_input';
import type { BankRecorder } from './record';
import { executeAgent, type Execution } from './execute';
import { errorMessage, jsonSafe, shortJson } from './json';
import type { BridgeAgent, ExecuteWorkflowOptions, RunContext, StepRunResult, WorkflowRunResult } from './types';
import type { LeanAgenticSystem } from '../system';
import type { ActionVerification, SessionHandle, Workflow, WorkflowStep } from '../types';

/** Reward of a step denied at run time: the engine's rule (`src/agent/reward.rs`). */
export const DENIED_REWARD: number = JSON.parse(native.rewardConstants()).denied;

/** What the runner needs from the bridge. */
export interface WorkflowDeps {
  sys: LeanAgenticSystem;
  agents: Map<string, BridgeAgent>;
  recorder: BankRecorder;
  /** `agentId` of the run's summary memory. */
  memoryAgentId: string;
  timeoutMs: number;
  onDeny: 'stop' | 'skip';
  /** Unique per bridge instance: keeps run sessions of different processes apart. */
  instance: string;
}

/** Checks that every step names a known agent; throws `ERR_INVALID_WORKFLOW` otherwise. */
export function checkAgents(workflow: Workflow, agents: Map<string, BridgeAgent>): void {
  if (!Array.isArray(workflow.steps)) {
    throw new LeanAgenticError('ERR_INVALID_WORKFLOW', `workflow ${JSON.stringify(workflow.id)} has no steps array`);
  }
  for (const s of workflow.steps) {
    if (!agents.has(s.agentId)) {
      const known = [...agents.keys()].map((k) => JSON.stringify(k)).join(', ') || 'none';
      throw new LeanAgenticError(
        'ERR_INVALID_WORKFLOW',
        `step ${JSON.stringify(s.id)} of workflow ${JSON.stringify(workflow.id)} names unknown agent ${JSON.stringify(s.agentId)} (known agents: ${known})`,
      );
    }
  }
}

/** The engine's plan of a run (`workflowRunPlan` in `src/reasoning/workflow/paths.rs`). */
interface RunPlan {
  branches: Record<string, string>;
  running: string[];
  notTaken: string[];
  dependencies: Record<string, string[]>;
}

/**
 * How the workflow runs for `inputs.branches`: the engine's path model, the one
 * `verifyWorkflow` checked — a step runs when its branch option is chosen and it has no
 * dependency or one that runs; it waits for its dependencies that run.
 */
export function planRun(workflow: Workflow, inputs: Record<string, unknown>): RunPlan {
  const wanted = inputs.branches ?? {};
  if (wanted === null || typeof wanted !== 'object' || Array.isArray(wanted)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `inputs.branches must be an object of { group: option }, got ${JSON.stringify(wanted)}`);
  }
  for (const [group, option] of Object.entries(wanted)) {
    if (typeof option !== 'string') {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `inputs.branches.${group} must be an option name (a string), got ${JSON.stringify(option)}`);
    }
  }
  const { properties: _properties, ...wf } = workflow;
  return JSON.parse(call(() => native.workflowRunPlan(toJsonText(wf, 'the workflow'), toJsonText(wanted, 'inputs.branches'))));
}

function describeStep(step: WorkflowStep): string {
  return `step ${step.id}: ${step.action} by ${step.agentId} with ${shortJson(step.inputs ?? {}, 200)}`;
}

function denyReason(v: ActionVerification): string {
  const ids = (v.determiningPolicies ?? []).map((p) => p.id);
  const by = ids.length ? `denied by policy ${ids.join(', ')}` : 'denied (no policy permits it)';
  return `${by}: ${v.reasons.join('; ')}`;
}

/** Runs a workflow (already checked by `checkAgents`). */
export async function runWorkflow(
  deps: WorkflowDeps,
  workflow: Workflow,
  runNo: number,
  inputs: Record<string, unknown>,
  context: RunContext,
  options: ExecuteWorkflowOptions,
): Promise<WorkflowRunResult> {
  const { sys } = deps;
  const onDeny = options.onDeny ?? deps.onDeny;
  if (onDeny !== 'stop' && onDeny !== 'skip') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `onDeny must be 'stop' or 'skip', got ${JSON.stringify(onDeny)}`);
  }
  const timeoutMs = options.timeoutMs ?? deps.timeoutMs;
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  }
  const runId = `wf:${workflow.id}:${runNo}`;
  const plan = planRun(workflow, inputs);
  const { branches } = plan;
  const notTaken = new Set(plan.notTaken);

  const report = sys.verifyWorkflow(workflow, workflow.properties);
  if (!report.ok) {
    const v = report.violations[0];
    const deniedStep = report.stepChecks.find((c) => c.decision === 'deny');
    const reason = v
      ? `workflow ${JSON.stringify(workflow.id)} violates a property: ${v.message}`
      : deniedStep
        ? `step ${JSON.stringify(deniedStep.stepId)} would be denied${deniedStep.determiningPolicies.length ? ` by policy ${deniedStep.determiningPolicies.map((p) => p.id).join(', ')}` : ''}: ${deniedStep.reasons.join('; ')}`
        : `workflow ${JSON.stringify(workflow.id)} failed verification`;
    const out: WorkflowRunResult = {
      workflowId: workflow.id,
      runId,
      results: [],
      success: false,
      totalReward: 0,
      verification: report,
      refused: true,
      reason,
      branches,
      notTaken: [...notTaken],
      completionOrder: [],
    };
    if (v) out.counterexample = v.counterexample;
    else if (deniedStep) out.counterexample = [...deniedStep.priorSteps, deniedStep.stepId];
    return out;
  }

  const byId = new Map(workflow.steps.map((s) => [s.id, s]));
  const steps = plan.running.map((id) => byId.get(id)!);
  const deps_ = (s: WorkflowStep) => plan.dependencies[s.id] ?? [];
  const approvals = (inputs.approvals ?? context.approvals ?? []) as unknown;
  const session: SessionHandle = sys.createContext(`${runId}@${deps.instance}`, { agentId: context.agentId ?? deps.memoryAgentId });
  const workflowInputs: Record<string, unknown> = { ...inputs };
  delete workflowInputs.branches;

  const results = new Map<string, StepRunResult>();
  const completionOrder: string[] = [];
  const running = new Map<string, Promise<void>>();
  let stopped = false;

  const warnings: string[] = [];
  const learn = (step: WorkflowStep, r: StepRunResult, verification: ActionVerification | null) => {
    const text = describeStep(step);
    try {
      sys.recordOutcome(session, {
        action: step.action,
        text,
        success: r.success,
        reward: r.reward,
        result: jsonSafe(r.result),
        ...(r.error !== undefined ? { error: r.error } : {}),
        latencyMs: r.latencyMs ?? 0,
        params: (jsonSafe(step.inputs ?? {}) ?? {}) as Record<string, unknown>,
        ...(verification ? { decision: verification.decision } : {}),
      });
    } catch (e) {
      warnings.push(`recording the outcome of step ${step.id} failed: ${errorMessage(e)}`);
    }
    try {
      deps.recorder.learning(sys, {
      pattern: `${workflow.name ?? workflow.id}/${step.action}`,
      outcome: r.success ? 'Success' : 'Failure',
      reward: r.reward,
      context: {
        workflowId: workflow.id,
        runId,
        stepId: step.id,
        agentId: step.agentId,
        inputs: jsonSafe(step.inputs ?? {}),
        decision: verification?.decision ?? null,
        ...(r.error !== undefined ? { error: r.error } : {}),
        latencyMs: r.latencyMs ?? 0,
      },
      session: runId,
      action: step.action,
      });
    } catch (e) {
      warnings.push(`storing the learning of step ${step.id} failed: ${errorMessage(e)}`);
    }
  };

  const skip = (step: WorkflowStep, why: string) => {
    results.set(step.id, { stepId: step.id, agentId: step.agentId, action: step.action, verification: null, result: null, reward: 0, success: false, skipped: true, error: why });
  };

  const start = (step: WorkflowStep) => {
    let verification: ActionVerification;
    try {
      verification = sys.verifyAction(
        { name: step.action, params: { ...(step.inputs ?? {}) }, ...(step.resource !== undefined ? { resource: step.resource } : {}) },
        { sessionId: session.sessionId, agentId: step.agentId, approvals, workflowId: workflow.id },
      );
    } catch (e) {
      verification = { decision: 'deny', reasons: [`verification failed: ${errorMessage(e)}`] };
    }
    if (verification.decision === 'deny') {
      const r: StepRunResult = {
        stepId: step.id,
        agentId: step.agentId,
        action: step.action,
        verification,
        result: null,
        reward: DENIED_REWARD,
        success: false,
        skipped: true,
        denied: true,
        error: denyReason(verification),
      };
      results.set(step.id, r);
      learn(step, r, verification);
      if (onDeny === 'stop') stopped = true;
      return;
    }
    const agent = deps.agents.get(step.agentId)!;
    const input: Record<string, unknown> = { ...workflowInputs, ...(step.inputs ?? {}), dependencies: Object.fromEntries(deps_(step).map((d) => [d, results.get(d)?.result ?? null])) };
    const p = executeAgent(agent, step, input, { kind: 'workflow', workflowId: workflow.id, runId, agent, context, verification, system: sys }, timeoutMs).then((x: Execution) => {
      const r: StepRunResult = {
        stepId: step.id,
        agentId: step.agentId,
        action: step.action,
        verification,
        result: x.result,
        reward: x.reward,
        success: x.success,
        latencyMs: x.latencyMs,
      };
      if (x.error !== undefined) r.error = x.error;
      results.set(step.id, r);
      completionOrder.push(step.id);
      running.delete(step.id);
      learn(step, r, verification);
    });
    running.set(step.id, p);
  };

  try {
    for (;;) {
      // Skip steps that can no longer run (fixpoint: skips propagate along dependencies).
      let changed = true;
      while (changed) {
        changed = false;
        for (const s of steps) {
          if (results.has(s.id) || running.has(s.id)) continue;
          const bad = deps_(s).find((d) => {
            const r = results.get(d);
            return r !== undefined && !r.success;
          });
          if (bad !== undefined) {
            const r = results.get(bad)!;
            skip(s, `dependency ${JSON.stringify(bad)} ${r.denied ? 'was denied' : r.skipped ? 'was skipped' : 'failed'}`);
            changed = true;
          }
        }
      }
      if (!stopped) {
        for (const s of steps) {
          if (stopped) break;
          if (results.has(s.id) || running.has(s.id)) continue;
          if (deps_(s).every((d) => results.get(d)?.success === true)) start(s);
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    for (const s of steps) if (!results.has(s.id)) skip(s, 'the workflow stopped after a step was denied');
  } finally {
    try {
      sys.endSession(session);
    } catch {
      /* already gone */
    }
  }

  const ordered = steps.map((s) => results.get(s.id)!);
  const success = ordered.every((r) => r.success);
  const totalReward = ordered.reduce((a, r) => a + r.reward, 0);
  const out: WorkflowRunResult = {
    workflowId: workflow.id,
    runId,
    results: ordered,
    success,
    totalReward,
    verification: report,
    branches,
    notTaken: [...notTaken],
    completionOrder,
  };
  if (warnings.length) out.warnings = warnings;

  const name = workflow.name ?? workflow.id;
  const lines = ordered.map((r) => {
    const state = r.denied ? 'denied' : r.skipped ? 'skipped' : r.success ? 'succeeded' : 'failed';
    return `- ${r.stepId} (${r.action} by ${r.agentId}): ${state}, reward ${r.reward}${r.error ? ` — ${r.error}` : ''}`;
  });
  const ok = ordered.filter((r) => r.success).length;
  const memory = await deps.recorder.memory(sys, {
    title: `Workflow ${name} ${success ? 'succeeded' : 'failed'}`,
    description: `Run ${runId} of workflow ${workflow.id}: ${ok} of ${ordered.length} steps succeeded, total reward ${totalReward}.`,
    content: `Inputs: ${shortJson(workflowInputs, 300)}\nSteps (completion order ${completionOrder.join(' → ') || 'none'}):\n${lines.join('\n')}`,
    outcome: success ? 'Success' : 'Failure',
    taskId: workflow.id,
    agentId: context.agentId ?? deps.memoryAgentId,
    tags: ['workflow', workflow.id, ...new Set(steps.map((s) => s.action))],
    domain: 'workflow',
  });
  if (memory) out.memoryId = memory.id;
  return out;
}

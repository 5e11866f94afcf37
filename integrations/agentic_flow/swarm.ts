/**
 * Swarms: several agents work on one task in parallel and vote.
 *
 * Each agent's participation is verified first (`verifyAction({ name: task.action ??
 * 'swarm_task', params: task.params ?? {}, resource: task.resource }, { agentId, priorSteps: [],
 * approvals: context.approvals ?? [] })`); denied agents do not run or vote. An agent's vote is
 * `result.vote ?? result.answer ?? result.result` (or the result itself when it is not an
 * object); agents that throw, time out, return `{ success: false }` or give no vote do not vote.
 * Counting and tie-breaking: see `bridge_consensus.ts`; reliability: `bridge_reliability.ts`.
 */

import { LeanAgenticError } from '../errors';
import { tally, type Ballot } from './consensus';
import { executeAgent } from './execute';
import { canonicalJson, errorMessage } from './json';
import type { ReliabilityBook } from './reliability';
import type { BridgeAgent, RunContext, SwarmOptions, SwarmResult, SwarmTask, SwarmVote } from './types';
import type { LeanAgenticSystem } from '../system';
import type { ActionVerification, WorkflowStep } from '../types';

/** What the swarm runner needs from the bridge. */
export interface SwarmDeps {
  sys: LeanAgenticSystem;
  agents: Map<string, BridgeAgent>;
  reliability: ReliabilityBook;
  timeoutMs: number;
}

function voteOf(result: unknown): unknown {
  if (result === null || typeof result !== 'object') return result;
  const r = result as Record<string, unknown>;
  return r.vote ?? r.answer ?? r.result;
}

/** Runs a swarm round. */
export async function runSwarm(
  deps: SwarmDeps,
  runNo: number,
  agentIds: string[],
  task: SwarmTask,
  context: RunContext,
  options: SwarmOptions,
): Promise<SwarmResult> {
  const { sys } = deps;
  if (!Array.isArray(agentIds) || agentIds.length === 0) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'createSwarm needs a non-empty array of agent ids');
  }
  if (new Set(agentIds).size !== agentIds.length) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'createSwarm: an agent may appear only once in a swarm');
  }
  for (const id of agentIds) {
    if (!deps.agents.has(id)) throw new LeanAgenticError('ERR_NOT_FOUND', `createSwarm: unknown agent ${JSON.stringify(id)}`);
  }
  if (task === null || typeof task !== 'object') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'createSwarm: the task must be an object such as { action, description, params }');
  }
  const mode = options.consensus ?? 'majority';
  if (mode !== 'majority' && mode !== 'weighted' && mode !== 'quorum') {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `consensus must be 'majority', 'weighted' or 'quorum', got ${JSON.stringify(mode)}`);
  }
  const quorum = options.quorum ?? 2 / 3;
  if (!(typeof quorum === 'number' && quorum > 0 && quorum <= 1)) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', `quorum must be a number in (0, 1], got ${String(quorum)}`);
  }
  const timeoutMs = options.timeoutMs ?? deps.timeoutMs;
  deps.reliability.load(sys);

  const runId = `swarm:${runNo}`;
  const action = typeof task.action === 'string' && task.action ? task.action : 'swarm_task';
  const approvals = context.approvals ?? [];

  const votes: SwarmVote[] = await Promise.all(
    agentIds.map(async (agentId): Promise<SwarmVote> => {
      const agent = deps.agents.get(agentId)!;
      const reliability = deps.reliability.get(agentId);
      let verification: ActionVerification;
      try {
        verification = sys.verifyAction(
          { name: action, params: { ...(task.params ?? {}) }, ...(typeof task.resource === 'string' ? { resource: task.resource } : {}) },
          { agentId, priorSteps: [], approvals },
        );
      } catch (e) {
        verification = { decision: 'deny', reasons: [`verification failed: ${errorMessage(e)}`] };
      }
      const base = { agentId, weight: 0, agreed: false, reliability, verification };
      if (verification.decision === 'deny') {
        const ids = (verification.determiningPolicies ?? []).map((p) => p.id);
        return { ...base, vote: null, status: 'denied', error: `denied${ids.length ? ` by policy ${ids.join(', ')}` : ''}: ${verification.reasons.join('; ')}` };
      }
      const step: WorkflowStep = { id: 'swarm', agentId, action, inputs: { ...task } };
      if (typeof task.resource === 'string') step.resource = task.resource;
      const x = await executeAgent(agent, step, { ...task }, { kind: 'swarm', workflowId: runId, runId, agent, context, verification, system: sys }, timeoutMs);
      if (!x.success) return { ...base, vote: null, status: 'failed', result: x.result, error: x.error };
      const vote = voteOf(x.result);
      if (vote === undefined) return { ...base, vote: null, status: 'abstained', result: x.result, error: 'the result has no vote, answer or result field' };
      // A vote is compared by its canonical JSON; one JSON cannot carry (NaN, a BigInt, a cycle)
      // cannot be compared with anything, so it does not count.
      try {
        canonicalJson(vote);
      } catch (e) {
        return { ...base, vote: null, status: 'failed', result: x.result, error: `the vote cannot be compared: ${errorMessage(e)}` };
      }
      return { ...base, vote, status: 'voted', result: x.result, weight: mode === 'weighted' ? reliability : 1 };
    }),
  );

  const voters = votes.filter((v) => v.status === 'voted');
  const keys = new Map(voters.map((v) => [v.agentId, canonicalJson(v.vote)]));
  const ballots: Ballot[] = voters.map((v) => ({ agentId: v.agentId, key: keys.get(v.agentId)!, vote: v.vote, weight: v.weight, reliability: v.reliability }));
  const t = tally(ballots);
  for (const v of voters) v.agreed = keys.get(v.agentId) === t.winnerKey;
  const agreement = t.totalWeight > 0 ? t.winnerWeight / t.totalWeight : 0;

  let success = t.winnerKey !== null;
  let reason: string | undefined;
  if (!success) reason = `no agent voted (${votes.map((v) => `${v.agentId}: ${v.status}`).join(', ')})`;
  else if (mode === 'quorum') {
    const share = t.winnerVoters / t.voters;
    if (share + 1e-12 < quorum) {
      success = false;
      reason = `quorum not reached: the leading vote has ${t.winnerVoters} of ${t.voters} voters (${share.toFixed(2)}), below the quorum of ${quorum.toFixed(2)}`;
    }
  }

  let result: unknown = null;
  if (success) {
    const supporters = voters.filter((v) => v.agreed).sort((a, b) => b.reliability - a.reliability || (a.agentId < b.agentId ? -1 : 1));
    result = supporters[0]?.result ?? null;
    for (const v of voters) deps.reliability.update(sys, v.agentId, v.agreed, runId);
  } else {
    for (const v of voters) v.agreed = false;
  }
  const out: SwarmResult = {
    success,
    consensus: mode,
    winner: success ? t.winnerVote : null,
    result,
    agreement,
    votes,
    tie: t.tie,
    runId,
  };
  if (t.winnerKey !== null) out.leading = t.winnerVote;
  if (reason !== undefined) out.reason = reason;
  return out;
}

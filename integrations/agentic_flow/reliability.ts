/**
 * Swarm agents' learned reliability: `(agreements + 1) / (rounds + 2)` (Laplace's rule of
 * succession: 0.5 for an agent never seen), counted over the swarm rounds that reached
 * consensus, where an agent "agrees" when its vote equals the winner.
 *
 * Persistence: each agent's counts live in one bank learning with the fixed id
 * `swarm-reliability:<agentId>` and pattern `swarm-reliability/<agentId>` (upserted every
 * round; `reward` = the reliability, `context` = `{agentId, agreements, rounds, reliability,
 * lastRunId}`), so a new bridge over the same store reloads them on its first swarm.
 */

import type { LeanAgenticSystem } from '../system';

/** The learning pattern prefix of reliability records. */
export const RELIABILITY_PATTERN = 'swarm-reliability/';

interface Counts {
  agreements: number;
  rounds: number;
}

/** Reliability of swarm agents, in memory and in the bank. */
export class ReliabilityBook {
  private readonly counts = new Map<string, Counts>();
  private loaded = false;

  /** Loads the persisted counts once (later calls do nothing). */
  load(sys: LeanAgenticSystem): void {
    if (this.loaded) return;
    this.loaded = true;
    const learnings = sys.bank.exportJson().learnings ?? [];
    for (const l of learnings) {
      if (typeof l?.pattern !== 'string' || !l.pattern.startsWith(RELIABILITY_PATTERN)) continue;
      const c = (l.context ?? {}) as Record<string, unknown>;
      const agentId = typeof c.agentId === 'string' ? c.agentId : l.pattern.slice(RELIABILITY_PATTERN.length);
      const agreements = Number(c.agreements);
      const rounds = Number(c.rounds);
      if (!Number.isInteger(agreements) || !Number.isInteger(rounds) || rounds < 0 || agreements < 0 || agreements > rounds) continue;
      const known = this.counts.get(agentId);
      if (!known || known.rounds < rounds) this.counts.set(agentId, { agreements, rounds });
    }
  }

  /** The reliability of an agent (0.5 when never seen). */
  get(agentId: string): number {
    const c = this.counts.get(agentId) ?? { agreements: 0, rounds: 0 };
    return (c.agreements + 1) / (c.rounds + 2);
  }

  /** Counts of an agent. */
  stats(agentId: string): Counts & { reliability: number } {
    const c = this.counts.get(agentId) ?? { agreements: 0, rounds: 0 };
    return { ...c, reliability: this.get(agentId) };
  }

  /** Every known agent's reliability. */
  all(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const id of [...this.counts.keys()].sort()) out[id] = this.get(id);
    return out;
  }

  /** Counts one consensus round for an agent and persists it. */
  update(sys: LeanAgenticSystem, agentId: string, agreed: boolean, runId: string): number {
    const c = this.counts.get(agentId) ?? { agreements: 0, rounds: 0 };
    const next = { agreements: c.agreements + (agreed ? 1 : 0), rounds: c.rounds + 1 };
    this.counts.set(agentId, next);
    const reliability = this.get(agentId);
    sys.bank.storeLearning({
      id: `swarm-reliability:${agentId}`,
      pattern: `${RELIABILITY_PATTERN}${agentId}`,
      outcome: agreed ? 'Success' : 'Failure',
      reward: reliability,
      context: { agentId, ...next, reliability, lastRunId: runId },
      session: runId,
      action: 'swarm_vote',
    });
    return reliability;
  }
}

/**
 * Swarm agents' learned reliability: `(agreements + 1) / (rounds + 2)` (Laplace's rule of
 * succession: 0.5 for an agent never seen), counted over the swarm rounds that reached
 * consensus, where an agent "agrees" when its vote equals the winner.
 *
 * The counts live in the bank (`sys.bank.recordVote` / `voteCounts`): one learning per agent
 * with the fixed id `swarm-reliability:<agentId>` and pattern `swarm-reliability/<agentId>`
 * (`reward` = the reliability, `context` = `{agentId, agreements, rounds, reliability,
 * lastRunId}`), counted by the store in one transaction per round. Every swarm round reads them
 * afresh, so bridges in several processes — or on several machines sharing a PostgreSQL bank —
 * vote with one record and no round is counted twice or lost.
 */

import type { LeanAgenticSystem } from '../system';

/** The learning pattern prefix of reliability records. */
export const RELIABILITY_PATTERN = 'swarm-reliability/';

interface Counts {
  agreements: number;
  rounds: number;
}

/** Reliability of swarm agents: the bank's counts, as last read or written. */
export class ReliabilityBook {
  private readonly counts = new Map<string, Counts>();

  /** Reads every agent's counts from the bank (each swarm round, before it votes). */
  load(sys: LeanAgenticSystem): void {
    this.counts.clear();
    for (const c of sys.bank.voteCounts()) this.counts.set(c.agentId, { agreements: c.agreements, rounds: c.rounds });
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

  /** Counts one consensus round for an agent in the bank; returns its new reliability. */
  update(sys: LeanAgenticSystem, agentId: string, agreed: boolean, runId: string): number {
    const c = sys.bank.recordVote(agentId, agreed, runId);
    this.counts.set(agentId, { agreements: c.agreements, rounds: c.rounds });
    return c.reliability;
  }
}

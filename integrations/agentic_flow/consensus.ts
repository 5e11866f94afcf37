/**
 * Swarm consensus: counting votes and breaking ties, deterministically.
 *
 * Votes are compared by canonical JSON (object keys sorted), so `{a: 1, b: 2}` and
 * `{b: 2, a: 1}` are the same vote. The winner is the vote with the largest total weight.
 * Ties on weight (within 1e-9) are broken by, in order:
 *   1. the larger summed reliability of its voters,
 *   2. the larger number of voters,
 *   3. the lexicographically smallest canonical JSON of the vote;
 * and `tie: true` is reported.
 */

/** One counted vote. */
export interface Ballot {
  agentId: string;
  /** Canonical JSON of the vote. */
  key: string;
  vote: unknown;
  weight: number;
  reliability: number;
}

/** The count. */
export interface Tally {
  winnerKey: string | null;
  winnerVote: unknown;
  winnerWeight: number;
  totalWeight: number;
  /** Voters of the winning vote. */
  winnerVoters: number;
  voters: number;
  tie: boolean;
}

const EPS = 1e-9;

interface Group {
  key: string;
  vote: unknown;
  weight: number;
  reliability: number;
  count: number;
}

/** Counts `ballots` by weight with the tie-breaking rule of this module. */
export function tally(ballots: Ballot[]): Tally {
  const groups = new Map<string, Group>();
  let totalWeight = 0;
  for (const b of ballots) {
    const g = groups.get(b.key) ?? { key: b.key, vote: b.vote, weight: 0, reliability: 0, count: 0 };
    g.weight += b.weight;
    g.reliability += b.reliability;
    g.count += 1;
    groups.set(b.key, g);
    totalWeight += b.weight;
  }
  if (groups.size === 0) {
    return { winnerKey: null, winnerVote: null, winnerWeight: 0, totalWeight: 0, winnerVoters: 0, voters: 0, tie: false };
  }
  const all = [...groups.values()];
  const top = Math.max(...all.map((g) => g.weight));
  const leaders = all.filter((g) => g.weight >= top - EPS);
  leaders.sort(
    (a, b) =>
      b.reliability - a.reliability > EPS
        ? 1
        : a.reliability - b.reliability > EPS
          ? -1
          : b.count !== a.count
            ? b.count - a.count
            : a.key < b.key
              ? -1
              : a.key > b.key
                ? 1
                : 0,
  );
  const w = leaders[0];
  return {
    winnerKey: w.key,
    winnerVote: w.vote,
    winnerWeight: w.weight,
    totalWeight,
    winnerVoters: w.count,
    voters: ballots.length,
    tie: leaders.length > 1,
  };
}

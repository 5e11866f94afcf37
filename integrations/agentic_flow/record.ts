/**
 * Writing what the bridge observed to the reasoning bank: learnings (pattern, outcome, reward)
 * and memories (agentic-flow `reasoning_memory` records), optionally embedded with the
 * caller's embedder so agentic-flow's own retrieval compares vectors of one model.
 */

import type { LearningInput, LearningRecord, MemoryInput, MemoryRecord } from '../bank';
import { LeanAgenticError } from '../errors';
import type { LeanAgenticSystem } from '../system';

/** Writes learnings and memories, or nothing when the bank is disabled. */
export class BankRecorder {
  constructor(
    private readonly enabled: boolean,
    private readonly embed?: (text: string) => ArrayLike<number> | Promise<ArrayLike<number>>,
  ) {}

  /** Stores a learning (when enabled). */
  learning(sys: LeanAgenticSystem, l: LearningInput): LearningRecord | null {
    if (!this.enabled) return null;
    return sys.bank.storeLearning(l);
  }

  /** Stores a memory (when enabled), embedding `title description content` with `embed`. */
  async memory(sys: LeanAgenticSystem, m: MemoryInput): Promise<MemoryRecord | null> {
    if (!this.enabled) return null;
    let embedding = m.embedding;
    if (embedding === undefined && this.embed) {
      const text = `${m.title} ${m.description ?? ''} ${m.content ?? ''}`;
      const v = await this.embed(text);
      if (!v || typeof v.length !== 'number' || v.length === 0) {
        throw new LeanAgenticError('ERR_INVALID_INPUT', 'the `embed` option must return a non-empty array of numbers');
      }
      embedding = Array.from(v, Number);
    }
    return sys.bank.store(embedding === undefined ? m : { ...m, embedding });
  }
}

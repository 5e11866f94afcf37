/**
 * `processStream`: chunks from any (async) iterable in, step results out, in order.
 *
 * A pump reads the source into a bounded queue (at most `highWaterMark` chunks); when the
 * queue is full the pump stops pulling, so a slow consumer slows the source down instead of
 * growing memory. The consumer side takes whatever is queued (up to `batchSize`) and sends it
 * through one `processBatch` call, so a fast source costs one boundary crossing per batch while a
 * trickling one is answered chunk by chunk without waiting for a batch to fill.
 */

import { integerOption } from './json_input';
import { LeanAgenticError } from './errors';
import { checkDetail } from './result_detail';
import type { BatchOptions, ResultDetail, SessionHandle, StepResult, StepSummary } from './types';

/** Options of `processStream`. */
export interface StreamOptions {
  /** Most chunks per native call (default 256). */
  batchSize?: number;
  /** Most chunks read ahead of the consumer (default 1024). */
  highWaterMark?: number;
  /** `'full'` (default) yields a `StepResult` per chunk, `'summary'` a `StepSummary`. */
  detail?: ResultDetail;
}

/** What `processStream` needs from the system. */
export interface BatchProcessor {
  processBatch(
    chunks: string[],
    ctx: SessionHandle | string,
    options?: BatchOptions,
  ): Promise<StepResult[] | StepSummary[]>;
}

/** Processes a stream of chunks; yields one result per chunk, in order. */
export async function* processStream(
  sys: BatchProcessor,
  source: AsyncIterable<string> | Iterable<string>,
  ctx: SessionHandle | string,
  options: StreamOptions = {},
): AsyncGenerator<StepResult | StepSummary, void, undefined> {
  const detail = checkDetail(options.detail);
  const batchSize = integerOption('batchSize', options.batchSize, 256);
  const highWaterMark = Math.max(batchSize, integerOption('highWaterMark', options.highWaterMark, 1024));
  if (source == null || (typeof (source as AsyncIterable<string>)[Symbol.asyncIterator] !== 'function' &&
      typeof (source as Iterable<string>)[Symbol.iterator] !== 'function')) {
    throw new LeanAgenticError('ERR_INVALID_INPUT', 'processStream takes an iterable or async iterable of strings');
  }

  const queue: string[] = [];
  let done = false;
  let failure: unknown = null;
  let wakeConsumer: (() => void) | null = null;
  let wakePump: (() => void) | null = null;
  let stopped = false;

  const notifyConsumer = () => {
    const w = wakeConsumer;
    wakeConsumer = null;
    w?.();
  };

  const pump = (async () => {
    try {
      for await (const chunk of source as AsyncIterable<string>) {
        if (stopped) break;
        queue.push(chunk);
        notifyConsumer();
        while (queue.length >= highWaterMark && !stopped) {
          await new Promise<void>((r) => (wakePump = r));
        }
      }
    } catch (e) {
      failure = e;
    } finally {
      done = true;
      notifyConsumer();
    }
  })();

  try {
    for (;;) {
      if (queue.length === 0) {
        if (done) break;
        await new Promise<void>((r) => (wakeConsumer = r));
        continue;
      }
      const batch = queue.splice(0, batchSize);
      const w = wakePump as (() => void) | null;
      wakePump = null;
      w?.();
      const results = await sys.processBatch(batch, ctx, { detail });
      for (const r of results) yield r;
    }
    if (failure) throw failure;
  } finally {
    stopped = true;
    const w = wakePump as (() => void) | null;
    w?.();
    await pump;
  }
}

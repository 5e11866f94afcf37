/**
 * Running one agent's `execute` with a timeout and judging the outcome: success is "did not
 * throw and did not return `{ success: false }`"; the reward is the result's finite `reward`,
 * else +1 / −1.
 */

import { LeanAgenticError } from '../errors';
import type { AgentContext, BridgeAgent } from './types';
import { errorMessage } from './json';
import type { WorkflowStep } from '../types';

/** What one execution produced. */
export interface Execution {
  success: boolean;
  result: unknown;
  reward: number;
  error?: string;
  errorCode?: string;
  latencyMs: number;
}

/** Runs `agent.execute(step, input, ctx)`; never throws. */
export async function executeAgent(
  agent: BridgeAgent,
  step: WorkflowStep,
  input: Record<string, unknown>,
  ctx: Omit<AgentContext, 'signal'>,
  timeoutMs: number,
): Promise<Execution> {
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 1000) / 1000;
  if (typeof agent.execute !== 'function') {
    return {
      success: false,
      result: null,
      reward: -1,
      error: `agent ${JSON.stringify(agent.id)} has no execute(step, input, ctx) function, so it cannot run step ${JSON.stringify(step.id)}`,
      errorCode: 'ERR_HANDLER_FAILED',
      latencyMs: 0,
    };
  }
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new LeanAgenticError(
        'ERR_HANDLER_TIMEOUT',
        `agent ${JSON.stringify(agent.id)} did not finish step ${JSON.stringify(step.id)} within ${timeoutMs} ms`,
      );
      controller.abort(e);
      reject(e);
    }, timeoutMs);
  });
  try {
    const run = Promise.resolve().then(() => agent.execute!(step, input, { ...ctx, signal: controller.signal }));
    const result = await Promise.race([run, timeout]);
    const r = result as { success?: unknown; reward?: unknown; error?: unknown } | null | undefined;
    const failed = r !== null && typeof r === 'object' && r.success === false;
    const reward = r !== null && typeof r === 'object' && typeof r.reward === 'number' && Number.isFinite(r.reward) ? r.reward : failed ? -1 : 1;
    const out: Execution = { success: !failed, result, reward, latencyMs: latency() };
    if (failed) {
      out.error = r && r.error !== undefined ? String(r.error) : `agent ${JSON.stringify(agent.id)} reported success: false`;
      out.errorCode = 'ERR_HANDLER_FAILED';
    }
    return out;
  } catch (e) {
    return {
      success: false,
      result: null,
      reward: -1,
      error: errorMessage(e),
      errorCode: e instanceof LeanAgenticError ? e.code : 'ERR_HANDLER_FAILED',
      latencyMs: latency(),
    };
  } finally {
    clearTimeout(timer);
  }
}

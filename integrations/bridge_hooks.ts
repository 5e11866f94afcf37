/**
 * Claude Agent SDK hooks for agentic-flow agents: every tool call is verified with Cedar before
 * it runs (`PreToolUse`), and its outcome is learned from and remembered afterwards
 * (`PostToolUse`, `PostToolUseFailure`).
 *
 * `PreToolUse` verifies `{ name: tool_name, params: tool_input, resource: options.resource?.(input) }`
 * for the principal `options.agentId ?? session_id`, with `priorSteps` = the tools of this
 * session's earlier calls that were not denied and completed successfully (in completion order).
 * Deny → `permissionDecision: 'deny'` with the determining policy ids and reasons; allow →
 * `'allow'` naming the permitting policies; no policies loaded (`'skipped'`) → `{}` (no
 * opinion: the SDK's own permission flow decides). A verification error denies, unless
 * `failOpen` (then `{}`).
 */

import { errorMessage, jsonSafe, shortJson } from './bridge_json';
import type { BankRecorder } from './bridge_record';
import type { BridgeHooks, HookCallback, HookInput, HookOptions, HookOutput } from './bridge_types';
import type { LeanAgenticSystem } from './system';
import type { ActionVerification, SessionHandle } from './types';

interface HookSession {
  handle: SessionHandle | null;
  completed: string[];
  pending: Map<string, { tool: string; startedAt: number }>;
}

/** Builds the hook matchers. */
export function createHooks(getSys: () => Promise<LeanAgenticSystem>, recorder: BankRecorder, options: HookOptions = {}): BridgeHooks {
  const sessions = new Map<string, HookSession>();
  const sessionOf = (id: string): HookSession => {
    let s = sessions.get(id);
    if (!s) {
      s = { handle: null, completed: [], pending: new Map() };
      sessions.set(id, s);
    }
    return s;
  };
  const principal = (input: HookInput) => options.agentId ?? String(input.session_id);
  const useId = (input: HookInput, toolUseId: string | undefined) => toolUseId ?? input.tool_use_id ?? `${input.tool_name}@${Date.now()}`;
  const report = (e: unknown) => {
    try {
      options.onError?.(e);
    } catch {
      /* the reporter's own failure must not reach the SDK */
    }
  };

  const pre: HookCallback = async (input, toolUseId) => {
    const ask = (decision: 'allow' | 'deny', reason: string): HookOutput => ({
      hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: decision, permissionDecisionReason: reason },
    });
    let v: ActionVerification;
    try {
      const sys = await getSys();
      const s = sessionOf(String(input.session_id));
      const resource = options.resource?.(input);
      v = sys.verifyAction(
        { name: String(input.tool_name), params: (jsonSafe(input.tool_input ?? {}) ?? {}) as Record<string, unknown>, ...(resource !== undefined ? { resource } : {}) },
        { agentId: principal(input), priorSteps: [...s.completed], approvals: options.approvals ?? [] },
      );
      if (v.decision !== 'deny') s.pending.set(useId(input, toolUseId), { tool: String(input.tool_name), startedAt: Date.now() });
    } catch (e) {
      report(e);
      if (options.failOpen) return {};
      return ask('deny', `lean-agentic could not verify ${input.tool_name} (failing closed): ${errorMessage(e)}`);
    }
    const ids = (v.determiningPolicies ?? []).map((p) => p.id);
    if (v.decision === 'skipped') return {};
    if (v.decision === 'deny') {
      const by = ids.length ? `Denied by policy ${ids.join(', ')}` : 'Denied: no policy permits it';
      return ask('deny', `${by} (principal ${principal(input)}, tool ${input.tool_name}): ${v.reasons.join('; ')}`);
    }
    return ask('allow', `Allowed by policy ${ids.join(', ') || '(none named)'}: ${v.reasons.join('; ')}`);
  };

  const post = (success: boolean): HookCallback => async (input, toolUseId) => {
    try {
      const sys = await getSys();
      const sid = String(input.session_id);
      const s = sessionOf(sid);
      const key = useId(input, toolUseId);
      const p = s.pending.get(key);
      s.pending.delete(key);
      if (success && p) s.completed.push(p.tool);
      const tool = String(input.tool_name);
      const agentId = principal(input);
      if (!s.handle) s.handle = sys.createContext(`hook:${sid}`, { agentId });
      const latencyMs = p ? Date.now() - p.startedAt : 0;
      const reward = success ? 1 : -1;
      const error = success ? undefined : shortJson(input.error ?? 'the tool call failed', 300);
      const inputJson = shortJson(input.tool_input ?? {}, 300);
      sys.recordOutcome(s.handle, {
        action: tool,
        text: `tool ${tool} by ${agentId} with ${inputJson}`,
        success,
        reward,
        result: success ? jsonSafe(input.tool_response ?? null) : null,
        ...(error !== undefined ? { error } : {}),
        latencyMs,
      });
      recorder.learning(sys, {
        pattern: `tool/${tool}`,
        outcome: success ? 'Success' : 'Failure',
        reward,
        context: { sessionId: sid, agentId, toolUseId: key, input: inputJson, ...(error !== undefined ? { error } : {}), latencyMs },
        session: sid,
        action: tool,
      });
      if (options.memories !== false) {
        await recorder.memory(sys, {
          title: `Tool ${tool} ${success ? 'succeeded' : 'failed'}`,
          description: `${agentId} called ${tool} in session ${sid}.`,
          content: `Input: ${inputJson}\n${success ? `Response: ${shortJson(input.tool_response ?? null, 500)}` : `Error: ${error}`}`,
          outcome: success ? 'Success' : 'Failure',
          taskId: sid,
          agentId,
          tags: ['tool', tool],
          domain: 'tools',
        });
      }
    } catch (e) {
      report(e);
    }
    return {};
  };

  const m = (cb: HookCallback) => [options.matcher !== undefined ? { matcher: options.matcher, hooks: [cb] } : { hooks: [cb] }];
  return { PreToolUse: m(pre), PostToolUse: m(post(true)), PostToolUseFailure: m(post(false)) };
}

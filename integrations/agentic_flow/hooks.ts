/**
 * Claude Agent SDK hooks for agentic-flow agents: every tool call is verified with Cedar before
 * it runs (`PreToolUse`), and its outcome is learned from and remembered afterwards
 * (`PostToolUse`, `PostToolUseFailure`).
 *
 * `PreToolUse` verifies `{ name: tool_name, params: tool_input, resource: options.resource?.(input) }`
 * for the principal `options.agentId ?? session_id` on the engine session `hook:<session_id>`,
 * whose ledger is the SDK session's record (kept in the store, so a resumed SDK session keeps
 * it): `priorSteps` are the tools whose calls were allowed and completed successfully,
 * `deniedSteps` the tools refused, `failedSteps` those whose calls failed, `runs` their counts.
 * Deny → `permissionDecision: 'deny'` with the determining policy ids and reasons, and the
 * refused call is recorded as a denied step; allow → `'allow'` naming the permitting policies;
 * no policies loaded (`'skipped'`) → `{}` (no opinion: the SDK's own permission flow decides).
 * A verification error denies, unless `failOpen` (then `{}`). A tool input carrying Cedar's JSON
 * escape keys (`__entity`, `__extn`, `__expr`) is denied always: the model must not forge entity
 * or extension values that policies compare against. `PostToolUse` /
 * `PostToolUseFailure` record the outcome with the decision `PreToolUse` gave.
 */

import { errorMessage, jsonSafe, shortJson } from './json';
import { LeanAgenticError } from '../errors';
import type { BankRecorder } from './record';
import type { BridgeHooks, HookCallback, HookInput, HookOptions, HookOutput } from './types';
import type { LeanAgenticSystem } from '../system';
import type { ActionVerification, SessionHandle } from '../types';

interface HookSession {
  handle: SessionHandle | null;
  pending: Map<string, { tool: string; startedAt: number; decision: ActionVerification['decision'] }>;
}

/**
 * Keys Cedar's JSON format reads as escapes rather than data: `{"__entity": {type, id}}` is an
 * entity reference, `{"__extn": …}` an extension value (`decimal`, `ip`), `__expr` the old
 * expression escape. A tool's input comes from the model: were such a key let through, the
 * model could forge `context.params.approver == Agent::"cfo"`. Trusted callers of
 * `verifyAction` may use the escapes on purpose; tool inputs may not.
 */
const CEDAR_ESCAPES = new Set(['__entity', '__extn', '__expr']);

/**
 * The path of the first Cedar escape key in `value`, or null. The scan stops at 64 levels: the
 * input guard (`toJsonText`) refuses anything nested deeper, so such an input is denied anyway.
 */
function cedarEscapePath(value: unknown, path = 'tool_input', depth = 0): string | null {
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = cedarEscapePath(value[i], `${path}[${i}]`, depth + 1);
      if (hit) return hit;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    if (CEDAR_ESCAPES.has(k)) return `${path}.${k}`;
    const hit = cedarEscapePath(v, `${path}.${k}`, depth + 1);
    if (hit) return hit;
  }
  return null;
}

/** The input's tool name; an input without one (another event's) is refused. */
function toolName(input: HookInput): string {
  if (typeof input.tool_name !== 'string' || input.tool_name === '') {
    throw new LeanAgenticError(
      'ERR_INVALID_INPUT',
      `a ${String(input.hook_event_name)} hook input has no tool_name: register bridge.hooks() only under PreToolUse, PostToolUse and PostToolUseFailure`,
    );
  }
  return input.tool_name;
}

/** Builds the hook matchers. */
export function createHooks(getSys: () => Promise<LeanAgenticSystem>, recorder: BankRecorder, options: HookOptions = {}): BridgeHooks {
  const sessions = new Map<string, HookSession>();
  const sessionOf = (id: string): HookSession => {
    let s = sessions.get(id);
    if (!s) {
      s = { handle: null, pending: new Map() };
      sessions.set(id, s);
    }
    return s;
  };
  const principal = (input: HookInput) => options.agentId ?? String(input.session_id);
  /** The engine session of an SDK session (created on first use). */
  const sessionHandle = (sys: LeanAgenticSystem, s: HookSession, input: HookInput): SessionHandle => {
    if (!s.handle) s.handle = sys.createContext(`hook:${String(input.session_id)}`, { agentId: principal(input) });
    return s.handle;
  };
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
      const handle = sessionHandle(sys, s, input);
      const tool = toolName(input);
      const resource = options.resource?.(input);
      const params = (jsonSafe(input.tool_input ?? {}) ?? {}) as Record<string, unknown>;
      const escape = cedarEscapePath(params);
      if (escape) {
        // Refused input, not a failed verification: denied even with failOpen, and recorded.
        const why = `${escape} is a Cedar JSON escape key: a tool input may not carry entity or extension values (it could forge what a policy compares against)`;
        sys.recordOutcome(handle, { action: tool, text: `tool ${tool} by ${principal(input)} (denied: ${why})`, success: false, decision: 'deny' });
        return ask('deny', `lean-agentic refused ${tool}: ${why}`);
      }
      v = sys.verifyAction(
        { name: tool, params, ...(resource !== undefined ? { resource } : {}) },
        { sessionId: handle.sessionId, agentId: principal(input), approvals: options.approvals ?? [] },
      );
      if (v.decision === 'deny') {
        // The refused call is part of the session's record (`deniedSteps`).
        sys.recordOutcome(handle, {
          action: tool,
          text: `tool ${tool} by ${principal(input)} with ${shortJson(input.tool_input ?? {}, 300)} (denied)`,
          success: false,
          params,
          decision: 'deny',
        });
      } else {
        s.pending.set(useId(input, toolUseId), { tool, startedAt: Date.now(), decision: v.decision });
      }
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
      const tool = toolName(input);
      const agentId = principal(input);
      const handle = sessionHandle(sys, s, input);
      const latencyMs = p ? Date.now() - p.startedAt : 0;
      const reward = success ? 1 : -1;
      const error = success ? undefined : shortJson(input.error ?? 'the tool call failed', 300);
      const inputJson = shortJson(input.tool_input ?? {}, 300);
      sys.recordOutcome(handle, {
        action: tool,
        text: `tool ${tool} by ${agentId} with ${inputJson}`,
        success,
        reward,
        result: success ? jsonSafe(input.tool_response ?? null) : null,
        ...(error !== undefined ? { error } : {}),
        latencyMs,
        params: (jsonSafe(input.tool_input ?? {}) ?? {}) as Record<string, unknown>,
        ...(p ? { decision: p.decision } : {}),
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

// The documented request mapping, written independently of the engine, for differential tests
// against Cedar's reference implementation (@cedar-policy/cedar-wasm): how a `verifyAction`
// call becomes a Cedar request, and how a Cedar response becomes the engine's answer under
// its fail-closed rule.
//
// principal `Agent::"<agentId>"`, action `Action::"<name>"`, resource `Type::"id"` (a bare id is
// `Resource::"<id>"`; no resource is `Resource::"<agentId>"`), context
// `{ ...extra, params, priorSteps, deniedSteps, failedSteps, approvals, stepIndex }` with
// non-integer numbers as Cedar decimals when they have at most four fractional digits (else as
// strings) and nulls as empty strings.

export const uid = (type, id) => ({ type, id });

/** A fraction as a Cedar decimal when its shortest text has at most four fractional digits. */
export function decimalOrString(v) {
  const text = String(v);
  const m = /^-?\d+\.(\d+)$/.exec(text);
  if (m && m[1].length <= 4 && Math.abs(v) < 922337203685476) return { __extn: { fn: 'decimal', arg: text } };
  return text;
}

/** Non-integer numbers become decimals or strings, nulls empty strings (the documented mapping). */
export function cedarSafe(v) {
  if (typeof v === 'number') return Number.isInteger(v) ? v : decimalOrString(v);
  if (v === null) return '';
  if (Array.isArray(v)) return v.map(cedarSafe);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cedarSafe(x)]));
  return v;
}

/** `Type::"id"` (or a bare id, or nothing) as a uid. */
export function parseRef(text, agentId) {
  if (text === undefined) return uid('Resource', agentId);
  const m = /^(.*?)::"(.*)"$/s.exec(text);
  if (!m) return uid('Resource', text);
  return uid(m[1], m[2].replace(/\\"/g, '"').replace(/\\\\/g, '\\'));
}

/** The reference request of `verifyAction(action, ctx)` (no session). */
export function referenceRequest(action, ctx) {
  const { agentId, approvals, priorSteps, stepIndex, ...extra } = ctx;
  return {
    principal: uid('Agent', agentId),
    action: uid('Action', action.name),
    resource: parseRef(action.resource, agentId),
    context: cedarSafe({
      ...extra,
      params: action.params ?? {},
      priorSteps: priorSteps ?? [],
      deniedSteps: [],
      failedSteps: [],
      approvals: approvals ?? [],
      stepIndex: stepIndex ?? 0,
    }),
  };
}

export const sortedSet = (xs) => [...new Set(xs)].sort();
export const errorPolicyId = (msg) => /^policy "([^"]*)"/.exec(msg)?.[1] ?? `<unparsed: ${msg}>`;

/** Cedar's answer with fail closed on top: an erroring policy denies, the erroring ones decide. */
export function failClosed(response) {
  const erroring = sortedSet(response.diagnostics.errors.map((e) => e.policyId));
  return erroring.length
    ? { decision: 'deny', determining: erroring, erroring }
    : { decision: response.decision, determining: sortedSet(response.diagnostics.reason), erroring };
}

/** The same three fields of one of our verifications. */
export function ourAnswer(v) {
  return {
    decision: v.decision,
    determining: sortedSet((v.determiningPolicies ?? []).map((p) => p.id)),
    erroring: sortedSet((v.errors ?? []).map(errorPolicyId)),
  };
}

/**
 * The summary form of a step result (`detail: 'summary'`). The engine writes summaries itself
 * for the steps it finishes natively; this gives the same shape for a step finished by a JS
 * handler, so a summary batch is summaries throughout.
 */

import type { PolicyRef, StepResult, StepSummary } from './types';

/** The summary of a full step result (the fields of `StepSummary` in `src/system/step.rs`). */
export function summarize(r: StepResult): StepSummary {
  const v = r.verification;
  const policies = Array.isArray(v.determiningPolicies) ? (v.determiningPolicies as PolicyRef[]) : [];
  const certificate = v.certificate as { digest?: unknown } | undefined;
  const s: StepSummary = {
    actionId: r.actionId,
    sessionId: r.sessionId,
    action: r.action.actionType,
    success: r.observation.success,
    reward: r.reward,
    verified: r.verified,
    decision: v.decision,
    determiningPolicies: policies.map((p) => p.id),
    propensity: r.propensity,
    explored: r.explored,
    learned: r.learned,
    latencyUs: r.latencyUs,
  };
  if (certificate && typeof certificate.digest === 'string') s.certificateDigest = certificate.digest;
  if (r.observation.error !== undefined) s.error = r.observation.error;
  if (r.observation.errorCode !== undefined) s.errorCode = r.observation.errorCode;
  return s;
}

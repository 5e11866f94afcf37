/**
 * What the console remembers of the steps the service published: a bounded timeline (reward,
 * action, session, exploration, drift alarms — the learning charts) and per-policy hit counts
 * (allow / deny / error — the policies tab). Both are fed by the event stream, so they count
 * every step served over any endpoint, and nothing the process ran outside the service.
 */

import type { StepResult } from '../../types';

/** One step on the timeline. */
export interface TimelinePoint {
  /** Position in the timeline (1 = first step the console saw). */
  n: number;
  /** When the step was observed, ms since the epoch. */
  t: number;
  sessionId: string;
  action: string;
  reward: number;
  explored: boolean;
  /** The learner's drift detector fired on this step's reward. */
  driftAlarm: boolean;
  decision: string;
  latencyUs: number;
}

/** How often a policy decided. */
export interface PolicyHits {
  allow: number;
  deny: number;
  errors: number;
}

const ERROR_ID = /^policy "((?:[^"\\]|\\.)*)":/;

/** The console's record of steps (see the module docs). */
export class Timeline {
  private readonly points: TimelinePoint[] = [];
  private seen = 0;
  readonly hits = new Map<string, PolicyHits>();
  /** Steps denied with no determining policy (default deny). */
  defaultDenies = 0;

  constructor(private readonly capacity: number) {}

  private hit(id: string): PolicyHits {
    let h = this.hits.get(id);
    if (!h) {
      h = { allow: 0, deny: 0, errors: 0 };
      this.hits.set(id, h);
    }
    return h;
  }

  /** Records one published step result. */
  add(r: StepResult): void {
    this.seen++;
    const v = r.verification;
    this.points.push({
      n: this.seen,
      t: r.observation.timestamp,
      sessionId: r.sessionId,
      action: r.action.actionType,
      reward: r.reward,
      explored: r.explored,
      driftAlarm: r.driftAlarm === true,
      decision: v.decision,
      latencyUs: r.latencyUs,
    });
    if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
    const erroring = new Set<string>();
    for (const e of v.errors ?? []) {
      const m = ERROR_ID.exec(e);
      if (m) erroring.add(m[1].replace(/\\(.)/g, '$1'));
    }
    for (const id of erroring) this.hit(id).errors++;
    const determining = v.determiningPolicies ?? [];
    for (const p of determining) {
      if (v.decision === 'allow') this.hit(p.id).allow++;
      else if (v.decision === 'deny' && !erroring.has(p.id)) this.hit(p.id).deny++;
    }
    if (v.decision === 'deny' && determining.length === 0 && v.certificate !== undefined) this.defaultDenies++;
  }

  /** The retained points after position `after` (all when 0), oldest first. */
  since(after: number): TimelinePoint[] {
    if (after <= 0) return this.points.slice();
    const first = this.points.findIndex((p) => p.n > after);
    return first < 0 ? [] : this.points.slice(first);
  }

  /** Steps seen so far. */
  get count(): number {
    return this.seen;
  }
}

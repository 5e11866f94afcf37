/**
 * The policies tab's engine side: the policy text the console knows, validation as the user
 * types (the engine's own parser and validator, on a scratch system, so nothing loaded changes),
 * atomic hot reload, and the `line`/`column` of an error pulled out of the engine's message.
 *
 * The engine keeps compiled policies, not their text: the console shows the text it was given
 * (`serve --policies FILE`) or last loaded itself; policies loaded by other code show their ids
 * only.
 */

import { LeanAgenticError } from '../../errors';
import { LeanAgenticSystem } from '../../system';
import type { PolicySetInfo } from '../../types';
import { errorBody } from '../http';

/** A policy error with its position, when the engine named one. */
export interface PolicyProblem {
  code: string;
  message: string;
  line?: number;
  column?: number;
}

/** The result of validating or loading a policy text. */
export type PolicyCheck = { ok: true; info: PolicySetInfo } | { ok: false; error: PolicyProblem };

const POSITION = /\bline (\d+), column (\d+)/;

/** The engine's error with the first `line N, column M` of its message as numbers. */
export function problemOf(e: unknown): PolicyProblem {
  const body = errorBody(e);
  const out: PolicyProblem = { code: body.code, message: body.message };
  const m = POSITION.exec(body.message);
  if (m) {
    out.line = Number(m[1]);
    out.column = Number(m[2]);
  }
  return out;
}

/** A request's policy text (`ERR_INVALID_INPUT` unless a string). */
function checkText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw new LeanAgenticError('ERR_INVALID_INPUT', '"text" must be a string of Cedar policies');
}

/** The live system's policies as the console edits them. */
export class PolicyDesk {
  private scratch: Promise<LeanAgenticSystem> | null = null;
  /** The text of the loaded policies, when the console knows it. */
  text: string | null;
  /** Where `text` came from. */
  source: 'options' | 'console' | 'unknown';

  constructor(
    private readonly sys: LeanAgenticSystem,
    text: string | undefined,
  ) {
    this.text = text ?? null;
    this.source = text === undefined ? 'unknown' : 'options';
  }

  /** The loaded policy set's summary, or null when none is loaded. */
  info(): PolicySetInfo | null {
    try {
      return this.sys.policyInfo();
    } catch {
      return null;
    }
  }

  private scratchSystem(): Promise<LeanAgenticSystem> {
    if (!this.scratch) this.scratch = LeanAgenticSystem.open({ path: ':memory:' });
    return this.scratch;
  }

  /** Parses and validates `text` without touching the live system. */
  async validate(text: unknown): Promise<PolicyCheck> {
    checkText(text);
    const scratch = await this.scratchSystem();
    try {
      return { ok: true, info: scratch.loadPolicies(text) };
    } catch (e) {
      return { ok: false, error: problemOf(e) };
    }
  }

  /**
   * Loads `text` into the live system. The engine swaps the whole set at once: a text that does
   * not load leaves the previous policies in force (and its error is returned).
   */
  reload(text: unknown): PolicyCheck {
    checkText(text);
    try {
      const info = this.sys.loadPolicies(text);
      this.text = text;
      this.source = 'console';
      return { ok: true, info };
    } catch (e) {
      return { ok: false, error: problemOf(e) };
    }
  }

  /** The scratch system (benchmarks reuse it), opened on first use. */
  system(): Promise<LeanAgenticSystem> {
    return this.scratchSystem();
  }

  async close(): Promise<void> {
    if (this.scratch) await (await this.scratch).close();
  }
}

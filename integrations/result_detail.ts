/**
 * The `detail` option of `processBatch` and `processStream`, checked before any step runs.
 */

import { LeanAgenticError } from './errors';
import type { ResultDetail } from './types';

/** `detail` as given (`undefined` means `'full'`); anything else is `ERR_INVALID_CONFIG`. */
export function checkDetail(detail: unknown): ResultDetail {
  if (detail === undefined) return 'full';
  if (detail !== 'full' && detail !== 'summary') {
    throw new LeanAgenticError('ERR_INVALID_CONFIG', `detail must be "full" or "summary", got ${JSON.stringify(detail)}`);
  }
  return detail;
}

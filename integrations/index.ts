/**
 * lean-agentic-native: formally verified, online-learning agents with a persistent reasoning bank.
 */
export { LeanAgenticSystem } from './system';
export { LeanAgenticError, toError } from './errors';
export type { ErrorCode } from './errors';
export * from './types';

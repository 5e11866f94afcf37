/**
 * lean-agentic-native: formally verified, online-learning agents with a persistent reasoning bank.
 */
export { LeanAgenticSystem } from './system';
export { LeanAgenticError, toError } from './errors';
export type { ErrorCode } from './errors';
export * from './types';
export { processStream } from './stream';
export type { StreamOptions } from './stream';
export { fromWebSocket, fromSSE, fromHttpStream, fromByteStream } from './transports';
export type {
  StreamSource,
  SSESource,
  SourceStats,
  TransportError,
  TransportErrorCode,
  WebSocketSourceOptions,
  WebSocketLike,
  SSESourceOptions,
  HttpStreamOptions,
  LineStreamOptions,
} from './transports';
export { createServer } from './server';
export type { ServerOptions, ConsoleOptions, LeanAgenticService, WebSocketServerLike, LogTarget, LogKind, LogFunction } from './server';
export { ReasoningBank } from './bank';
export { migrateBank } from './migrate';
export type { BankEndpoint, MigrateOptions, MigrationProgress } from './migrate';
export type { Vector, MemoryInput, MemoryRecord, LearningInput, LearningRecord, RetrieveOptions, Retrieved, QueryHit, SearchInfo, VoteCounts, EvictMode, EvictionEvent, BankStats, ImportReport, ReasoningBankEvents } from './bank';
export { KnowledgeGraph } from './knowledge';
export type { EntityRecord, Related, Fact } from './knowledge';

/**
 * `lean-agentic-native/agentic-flow`: the agentic-flow bridge (its modules live in
 * `agentic_flow/`; this file is the package entry point).
 */

export * from './agentic_flow/bridge';

// The drop-in for `agentic-flow/reasoningbank` (retrieval and the `db` functions, natively).
export { db, retrieveMemories, formatMemoriesForPrompt, setQueryEmbedder } from './agentic_flow/reasoningbank';
export type {
  ReasoningMemory,
  PatternEmbedding,
  PatternLink,
  TaskTrajectory,
  MattsRun,
  ConsolidationRun,
  RetrievedMemory,
  RetrieveMemoriesOptions,
  QueryEmbedder,
} from './agentic_flow/reasoningbank';

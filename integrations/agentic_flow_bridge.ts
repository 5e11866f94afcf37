/**
 * `lean-agentic-native/agentic-flow`: the agentic-flow bridge (its modules live in
 * `agentic_flow/`; this file is the package entry point).
 */

export * from './agentic_flow/bridge';

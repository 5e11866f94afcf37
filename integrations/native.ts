/**
 * Loads the native addon (built by `napi build --platform`, loaded by its generated `index.js`).
 */

/** The native engine handle's surface (see `src/binding/system.rs`). */
export interface NativeSystemHandle {
  config(): string;
  registerAction(specJson: string): void;
  actionNames(): string[];
  createSession(sessionId: string, contextJson?: string | null): void;
  endSession(sessionId: string): void;
  history(sessionId: string): string;
  begin(sessionId: string, chunk: string): string;
  complete(actionId: string, outcomeJson: string): string;
  processBatch(sessionId: string, chunks: string[]): string;
  processBatchAsync(sessionId: string, chunks: string[]): Promise<string>;
  loadPolicies(policies: string, schema?: string | null): string;
  setEntities(entitiesJson: string): number;
  verifyAction(actionJson: string, contextJson: string): string;
  verifyActionAsync(actionJson: string, contextJson: string): Promise<string>;
  verifyWorkflow(workflowJson: string, propertiesJson: string): string;
  feedback(actionId: string, reward: number): string;
  stats(): string;
  flush(): void;
  journalCount(): number;
  close(): void;
  readonly closed: boolean;
}

interface NativeModule {
  NativeSystem: { open(configJson?: string | null): NativeSystemHandle };
  checkCertificate(certificateJson: string, policies: string, schema?: string | null, entitiesJson?: string | null): string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: NativeModule = require('../index.js');

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
  beginAsync(sessionId: string, chunk: string): Promise<string>;
  complete(actionId: string, outcomeJson: string, detail?: string | null): string;
  processBatch(sessionId: string, chunks: string[], detail?: string | null): string;
  processBatchAsync(
    sessionId: string,
    chunks: string[],
    detail?: string | null,
    sliceBatch?: number | null,
    sliceSeq?: number | null,
  ): Promise<string>;
  loadPolicies(policies: string, schema?: string | null): string;
  setEntities(entitiesJson: string): number;
  verifyAction(actionJson: string, contextJson: string): string;
  verifyActionAsync(actionJson: string, contextJson: string): Promise<string>;
  verifyWorkflow(workflowJson: string, propertiesJson: string): string;
  recordOutcome(sessionId: string, action: string, text: string, outcomeJson: string, latencyMs: number): string;
  feedback(actionId: string, reward: number): string;
  addRules(text: string): string[];
  assertFact(text: string): void;
  retractFact(text: string): boolean;
  proveTheorem(goal: string, optionsJson?: string | null): string;
  theorems(): string;
  bankStore(memoryJson: string): string;
  bankStoreLearning(learningJson: string): string;
  bankGet(id: string): string;
  bankDelete(id: string): boolean;
  bankCount(): string;
  bankStats(): string;
  bankTakeEvictions(): string;
  bankRetrieve(query: string, optionsJson?: string | null): string;
  bankSearchInfo(): string;
  checkChunks(chunks: string[]): void;
  bankQuery(pattern: string, optionsJson?: string | null): string;
  bankExportJson(): string;
  bankImportJson(documentJson: string): string;
  bankImportAgenticFlow(dbPath?: string | null): string;
  bankExportAgenticFlow(dbPath?: string | null): string;
  bankConsolidate(): string;
  kgEntities(queryJson: string): string;
  kgEntity(id: string): string;
  kgRelated(id: string, depth: number, relation?: string | null): string;
  kgPath(from: string, to: string): string;
  kgFactsAt(atMs: number): string;
  kgAddFact(subject: string, relation: string, object: string, validFromMs?: number | null, validUntilMs?: number | null): boolean;
  kgStats(): string;
  kgAddDictionary(entityType: string, names: string[]): number;
  kgExtract(text: string): string;
  stats(): string;
  flush(): void;
  journalCount(): number;
  close(): void;
  readonly closed: boolean;
}

interface NativeModule {
  NativeSystem: { open(configJson?: string | null): NativeSystemHandle };
  checkProof(proofJson: string, rulesText: string, factsText: string): string;
  checkCertificate(certificateJson: string, policies: string, schema?: string | null, entitiesJson?: string | null): string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: NativeModule = require('../index.js');

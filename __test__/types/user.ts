// A user's file, compiled by `__test__/typescript-user.test.mjs` with strict `tsc` and without
// `skipLibCheck`, in a project that has `lean-agentic-native` and `@types/node` but not `ws`'s
// types. Every `@ts-expect-error` line must fail to compile: if a type became too loose, the
// directive itself becomes the error (TS2578).
import {
  LeanAgenticSystem,
  createServer,
  migrateBank,
  type MigrationProgress,
  type VoteCounts,
  fromWebSocket,
  type PolicyRef,
  type Ranking,
  type StepResult,
  type StepSummary,
  type SystemConfig,
} from 'lean-agentic-native';

const config: SystemConfig = {
  path: ':memory:',
  bank: { maxMemories: 1000, evict: 'own' },
  learner: { exploration: { strategy: 'softmax', temperature: 0.2 }, adaptation: { mode: 'miniBatch', size: 8 } },
  runs: { windows: { LastHour: 3600 }, sum: ['amount'] },
  noRelevantAction: 'skip',
  policyEvaluation: 'compiled',
};

// @ts-expect-error maxMemories is a number
const badBank: SystemConfig = { bank: { maxMemories: 'ten' } };
// @ts-expect-error unknown bank option (a typo)
const typoBank: SystemConfig = { bank: { maxMemorys: 10 } };
// @ts-expect-error unknown exploration strategy
const badLearner: SystemConfig = { learner: { exploration: { strategy: 'greedy' } } };
// @ts-expect-error miniBatch needs its size
const noSize: SystemConfig = { learner: { adaptation: { mode: 'miniBatch' } } };
// @ts-expect-error noRelevantAction is 'choose' or 'skip'
const badMode: SystemConfig = { noRelevantAction: 'drop' };
// @ts-expect-error policyEvaluation is 'compiled' or 'interpreted'
const badEvaluation: SystemConfig = { policyEvaluation: 'fast' };
// @ts-expect-error safeExploration is a boolean
const badSafe: SystemConfig = { safeExploration: 'yes' };

export async function main(): Promise<void> {
  void [badBank, typoBank, badLearner, noSize, badMode, badEvaluation, badSafe];
  const sys = await LeanAgenticSystem.open(config);
  const interpretedPolicies: string[] = sys
    .policyInfo()
    .evaluation.filter((p) => p.mode === 'interpreted')
    .map((p) => `${p.id}: ${p.reason ?? ''}`);
  const stats = await sys.stats();
  const compiledDecisions: number = stats.policyEvaluation.compiled;
  const driftAlarms: number = stats.learner.driftEvents;
  void [interpretedPolicies, compiledDecisions, driftAlarms];
  // off-policy evaluation: settings are the learner keys of open(); the estimate has intervals
  const estimate = await sys.evaluatePolicy({ explorationRate: 0.2, learner: { optimism: 0.5 } }, { since: new Date(0), sessions: ['s'] });
  const interval: [number, number] = [estimate.doublyRobust.low, estimate.doublyRobust.high];
  void interval;
  // @ts-expect-error evaluatePolicy takes learner settings only
  void sys.evaluatePolicy({ path: 'x.db' });
  sys.registerAction({ name: 'note', description: 'Take a note', keywords: ['note'] });
  const ctx = sys.createContext('s');
  const full: StepResult = await sys.processChunk('note this', ctx);
  const summaries: StepSummary[] = await sys.processBatch(['note that'], ctx, { detail: 'summary' });
  // determiningPolicies: one type everywhere
  const fromStep: PolicyRef[] | undefined = full.verification.determiningPolicies;
  const fromSummary: PolicyRef[] = summaries[0].determiningPolicies;
  const fromCheck: PolicyRef[] = sys.verifyAction({ name: 'note' }, { agentId: 'a' }).determiningPolicies ?? [];
  const ids: string[] = [...(fromStep ?? []), ...fromSummary, ...fromCheck].map((p) => p.id);
  void ids;
  // the console's reads: a ranking, drift alarms, recent memories
  const ranking: Ranking = sys.rankActions('note this', ctx);
  const verdicts: ('allow' | 'deny' | 'skipped')[] = ranking.candidates.map((c) => c.decision);
  const drifted: boolean = full.driftAlarm === true;
  const titles: string[] = sys.bank.recent(5).map((m) => m.title);
  void verdicts, drifted, titles;
  // @ts-expect-error -- rankActions needs a session
  sys.rankActions('note this');
  // vectors may be typed arrays
  sys.bank.store({ title: 't', content: 'c', embedding: new Float32Array(8) });
  // the PostgreSQL bank: one option; swarm votes; migration
  const shared: SystemConfig = { path: ':memory:', bank: { url: 'postgres://u@h/db', pgSchema: 'team_a', poolSize: 8, hnswCandidates: 200 } };
  // @ts-expect-error -- poolSize is a number
  const badShared: SystemConfig = { bank: { url: 'postgres://u@h/db', poolSize: '8' } };
  void shared, badShared;
  const votes: VoteCounts = sys.bank.recordVote('agent-a', true, 'run-1');
  const rounds: number[] = sys.bank.voteCounts().map((v) => v.rounds);
  const backend: 'sqlite' | 'postgres' = sys.bank.searchInfo().backend;
  const buildMs: number = sys.bank.bulkLoad(() => sys.bank.importJson({ memories: [] }));
  void votes, rounds, backend, buildMs;
  const migrate = (): MigrationProgress => migrateBank({ from: 'a.db', to: { url: 'postgres://u@h/db', pgSchema: 's' }, onProgress: (p) => void p.memories });
  void migrate;
  // the service and the WebSocket transport type-check without @types/ws
  const service = createServer(sys, { token: 'x'.repeat(16), console: { policyText: '' } });
  const guarded: boolean = service.requiresToken;
  void guarded;
  for (const client of service.wss.clients) client.terminate();
  const source = fromWebSocket('ws://127.0.0.1:1/');
  void source;
  await service.close();
}

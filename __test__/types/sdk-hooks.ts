// `bridge.hooks()` where the Claude Agent SDK expects its hooks (`options.hooks` of `query`),
// compiled by `__test__/typescript-user.test.mjs` against the SDK version agentic-flow installs.
import { query, type Options } from '@anthropic-ai/claude-agent-sdk';
import { AgenticFlowBridge } from 'lean-agentic-native/agentic-flow';

export async function run(prompt: string): Promise<void> {
  const bridge = new AgenticFlowBridge({ systemConfig: { policies: 'permit(principal, action, resource);' } });
  const options: Options = {
    hooks: bridge.hooks({ agentId: 'coder', resource: (input) => `File::"${String((input.tool_input as { file_path?: string }).file_path)}"` }),
  };
  // the hooks object also fits where only some events are given
  const pre: Options['hooks'] = { PreToolUse: bridge.hooks().PreToolUse };
  void pre;
  for await (const message of query({ prompt, options })) void message;
  await bridge.close();
}

import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../core/policy/compile.ts';
import { evaluatePolicy } from '../core/policy/evaluate.ts';
import { makeFacts, EMPTY_MCP_FACTS } from '../core/facts.ts';
import { builtinRules } from './builtin-rules.ts';
import { parseConfig } from './load.ts';

const config = (pinning = '') =>
  parseConfig(
    `connections:
  - name: fs
    kind: mcp
    command: mcp-server-filesystem
    ${pinning}
  - name: api
    kind: http
    url: http://127.0.0.1:9000
policy:
  default: allow`,
    'countersign.yaml',
    {},
  );

function decisionFor(rules: ReturnType<typeof builtinRules>, toolChanged: boolean, connection = 'fs') {
  const policy = compilePolicy({ default: 'allow', defaultTtlSeconds: 3600, rules });
  const facts = makeFacts('mcp', { writes: false, mcp: { ...EMPTY_MCP_FACTS, tool: 'greet', toolChanged } });
  return evaluatePolicy(policy, {
    principal: { id: 'bot', kind: 'agent', actsFor: null, groups: [] },
    action: { connection, operation: 'tools/call', input: {}, reason: '' },
    connection: { name: connection, kind: 'mcp', tags: {} },
    facts,
    context: { time: new Date(), request: {} },
  });
}

describe('built-in rules for MCP connections', () => {
  it('by default hold calls of a changed tool for one human, and leave unchanged ones to the policy', () => {
    const rules = builtinRules(config());
    expect(rules.map((r) => r.id)).toEqual(['mcp-tool-changed:fs']);
    expect(decisionFor(rules, true)).toMatchObject({ effect: 'approve', rules: ['mcp-tool-changed:fs'], approvers: [{ groups: [], principals: [], count: 1 }] });
    expect(decisionFor(rules, false).effect).toBe('allow');
    expect(decisionFor(rules, true, 'other').effect).toBe('allow');
  });

  it('deny, with its own approvers, or nothing, as the connection says', () => {
    expect(decisionFor(builtinRules(config('pinning: { onChange: deny }')), true).effect).toBe('deny');
    const approvers = decisionFor(builtinRules(config('pinning: { approvers: [{ groups: [sec], count: 2 }] }')), true).approvers;
    expect(approvers).toEqual([{ rule: 'mcp-tool-changed:fs', groups: ['sec'], principals: [], count: 2 }]);
    expect(builtinRules(config('pinning: { onChange: allow }'))).toEqual([]);
  });
});

describe('mcp connection config', () => {
  const refused = (body: string) => expect(() => parseConfig(`connections:\n  - name: fs\n    kind: mcp\n${body}`, 'countersign.yaml', { TOKEN: 'secret-value' })).toThrow();

  it('takes a command (stdio) with secrets from the environment, or a url with headers', () => {
    const c = parseConfig(
      `connections:
  - { name: gh, kind: mcp, command: npx, args: [-y, server-github], env: { GITHUB_TOKEN: "\${TOKEN}" }, tags: { env: prod } }
  - { name: remote, kind: mcp, url: "https://mcp.example.com/mcp", headers: { Authorization: "Bearer \${TOKEN}" }, waitSeconds: 20 }`,
      'countersign.yaml',
      { TOKEN: 'secret-value' },
    );
    expect(c.connections[0]).toMatchObject({ kind: 'mcp', command: 'npx', env: { GITHUB_TOKEN: 'secret-value' }, waitSeconds: 45, timeoutMs: 60_000, pinning: { onChange: 'approve' } });
    expect(c.connections[1]).toMatchObject({ url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer secret-value' }, waitSeconds: 20 });
  });

  it('refuses both or neither of command and url, mixed settings, and __ in the name', () => {
    refused('    command: x\n    url: http://127.0.0.1:1/mcp');
    refused('    tags: {}');
    refused('    url: http://127.0.0.1:1/mcp\n    env: { A: b }');
    refused('    command: x\n    headers: { A: b }');
    expect(() => parseConfig('connections:\n  - { name: my__fs, kind: mcp, command: x }', 'countersign.yaml', {})).toThrow(/no "__"/);
  });
});

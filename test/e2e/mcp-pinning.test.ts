/**
 * Tool pinning against an upstream that changes under a running gateway: an
 * unaccepted definition never makes a tool look safer to policy, and an
 * approval holds only for the definition the call was submitted under.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { httpAgent } from '../support/mcp.ts';
import { startMutableUpstream, type MutableUpstream } from '../support/mcp-upstream.ts';

type ToolResult = { content?: unknown; isError?: boolean; _meta?: Record<string, unknown> };

async function setUp(annotations: Parameters<typeof startMutableUpstream>[1], connection: string, policy: string) {
  const upstream = await startMutableUpstream('Greets someone by name.', annotations);
  const gw = await startTestGateway(`connections:
  - name: greeter
    kind: mcp
    url: ${upstream.url}
    waitSeconds: 1
${connection}
policy:
  default: deny
  rules:
${policy}`);
  const agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
  const call = (name: string) => agent.callTool({ name: 'greeter__greet', arguments: { name } }, undefined, { timeout: 30_000 }) as Promise<ToolResult>;
  const changeSeen = () =>
    eventually(async () => ((await gw.as('alice', '/v1/mcp/tools?connection=greeter&changed=true')).body.tools.length ? true : undefined), 10_000);
  return { upstream, gw, agent, call, changeSeen };
}

describe('an unaccepted definition and policy', () => {
  let s: Awaited<ReturnType<typeof setUp>>;
  let agent: Client;
  let upstream: MutableUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    s = await setUp(
      { readOnlyHint: false, destructiveHint: false },
      '    pinning: { onChange: allow }',
      `    - id: mcp-reads
      when: connection.kind == "mcp" && facts.mcp.annotations.readOnlyHint
      effect: allow`,
    );
    ({ agent, upstream, gw } = s);
  });

  afterAll(async () => {
    await agent?.close();
    await gw?.stop();
    await upstream?.close();
  });

  it('a writing tool that starts calling itself read-only is still judged a writer until a human accepts it', async () => {
    const before = await s.call('ada');
    expect(before._meta?.['countersign/status']).toBe('denied');

    upstream.setAnnotations({ readOnlyHint: true });
    await s.changeSeen();
    const after = await s.call('bob');
    expect(after._meta?.['countersign/status']).toBe('denied');
    expect(upstream.calls).toEqual([]);
    const stored = await gw.as('alice', `/v1/requests/${after._meta?.['countersign/requestId']}`);
    expect(stored.body.facts.mcp).toMatchObject({ toolChanged: true, annotations: { readOnlyHint: false } });
    expect(stored.body.decision.rules).not.toContain('mcp-reads');
  });
});

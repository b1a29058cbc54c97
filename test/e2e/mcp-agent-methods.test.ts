/**
 * What an agent can send the MCP gateway besides a plain tools/call, and what
 * an upstream can send back. The gateway serves tools/list and tools/call
 * only: every other method that would act upstream (resources/read,
 * prompts/get, completion/complete, logging/setLevel, resources/subscribe)
 * is no method here; a tools/call sent as a notification (no id) is dropped;
 * the upstream's requests to its client (sampling/createMessage,
 * elicitation/create, roots/list) are refused by the gateway's own client and
 * never relayed to an agent; and a held call the agent cancels and sends
 * again resumes its one request, which runs once when approved. Real
 * processes: the gateway, a stdio MCP server built on the SDK, agents on /mcp.
 */
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { textOf } from '../support/mcp.ts';

/** The text of a tool result (the SDK's type of a call's answer also covers a task's). */
const text = (r: unknown) => textOf(r as { content?: unknown });

const SERVER = fileURLToPath(new URL('../support/asking-mcp.js', import.meta.url));

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(`connections:
  - name: asker
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}]
    waitSeconds: 1
policy:
  default: deny
  rules:
    - id: ask-ok
      when: facts.mcp.tool == "ask"
      effect: allow
    - id: greet-held
      when: facts.mcp.tool == "greet"
      effect: approve
      approvers: [{ count: 1 }]
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

/** One JSON-RPC POST to /mcp as deploy-bot, the body sent exactly as written. */
async function rpc(text: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: text,
  });
  const raw = await res.text();
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    /* a stream or nothing */
  }
  return { status: res.status, body };
}

const requests = async () => (await gw.as('deploy-bot', '/v1/requests?limit=1000')).body.requests as { id: string; status: string; action: { input: { tool: string } } }[];

describe('methods other than tools/list and tools/call', () => {
  it('are no method at the gateway: nothing is recorded, nothing reaches the upstream', async () => {
    const before = (await requests()).length;
    const methods = [
      ['resources/list', {}],
      ['resources/read', { uri: 'file:///etc/passwd' }],
      ['resources/subscribe', { uri: 'file:///etc/passwd' }],
      ['prompts/list', {}],
      ['prompts/get', { name: 'asker__greet' }],
      ['completion/complete', { ref: { type: 'ref/prompt', name: 'asker__greet' }, argument: { name: 'name', value: 'x' } }],
      ['logging/setLevel', { level: 'debug' }],
      ['sampling/createMessage', { messages: [], maxTokens: 1 }],
    ] as const;
    for (const [i, [method, params]] of methods.entries()) {
      const res = await rpc(JSON.stringify({ jsonrpc: '2.0', id: 100 + i, method, params }));
      expect(res.body?.error?.code, method).toBe(-32601);
    }
    expect((await requests()).length).toBe(before);
  });

  it('a tools/call sent as a notification (no id) is dropped: no request, no run', async () => {
    const before = (await requests()).length;
    const res = await rpc(JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'asker__ask', arguments: {} } }));
    expect(res.status).toBe(202);
    // The same call with an id, sent after: recorded and run. Had the notification been taken, it would be there first.
    const answered = await rpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'asker__ask', arguments: {} } }));
    expect(answered.body.result._meta['countersign/status']).toBe('succeeded');
    expect((await requests()).length).toBe(before + 1);
  });
});

describe('an upstream that asks its client back', () => {
  it('is refused by the gateway: no agent is asked to sample, elicit or list its roots', async () => {
    const asked: string[] = [];
    const agent = new Client({ name: 'test-agent', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: false } } });
    agent.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked.push('sampling');
      return { role: 'assistant', content: { type: 'text', text: 'approved' }, model: 'x' };
    });
    agent.setRequestHandler(ElicitRequestSchema, async () => {
      asked.push('elicitation');
      return { action: 'accept', content: { p: 'hunter2' } };
    });
    agent.setRequestHandler(ListRootsRequestSchema, async () => {
      asked.push('roots');
      return { roots: [{ uri: 'file:///home/agent' }] };
    });
    await agent.connect(new StreamableHTTPClientTransport(new URL('/mcp', gw.url), { requestInit: { headers: { authorization: `Bearer ${gw.keys['deploy-bot']}` } } }));
    try {
      const r = await agent.callTool({ name: 'asker__ask', arguments: {}, _meta: { progressToken: 7 } });
      const answer = text(r);
      for (const m of ['sampling/createMessage', 'elicitation/create', 'roots/list']) expect(answer).toContain(`${m}: refused`);
      expect(answer).not.toContain('answered');
      expect(asked).toEqual([]);
    } finally {
      await agent.close();
    }
  });
});

describe('a held call cancelled by its agent and sent again', () => {
  it('resumes the one request, which runs once when approved; the same call after it ran is held anew', async () => {
    const agent = new Client({ name: 'test-agent', version: '1.0.0' });
    await agent.connect(new StreamableHTTPClientTransport(new URL('/mcp', gw.url), { requestInit: { headers: { authorization: `Bearer ${gw.keys['deploy-bot']}` } } }));
    try {
      const call = { name: 'asker__greet', arguments: { name: 'ada' } };
      const aborting = new AbortController();
      const first = agent.callTool(call, undefined, { signal: aborting.signal });
      const held = await eventually(async () => (await requests()).find((r) => r.action.input.tool === 'greet' && r.status === 'pending'), 10_000);
      aborting.abort();
      await expect(first).rejects.toThrow();
      const again = await agent.callTool(call);
      expect(again._meta?.['countersign/requestId']).toBe(held.id);
      expect(again._meta?.['countersign/status']).toBe('pending');
      const digest = (await gw.as('alice', `/v1/requests/${held.id}`)).body.digest;
      expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve', digest } })).status).toBe(200);
      const done = await agent.callTool({ name: 'countersign_wait', arguments: { requestId: held.id } });
      expect(text(done)).toBe('hello, ada (call 1)');
      // Sent again once it ran: another request, held; nothing ran meanwhile.
      const later = await agent.callTool(call);
      expect(later._meta?.['countersign/requestId']).not.toBe(held.id);
      expect(later._meta?.['countersign/status']).toBe('pending');
      const next = later._meta?.['countersign/requestId'] as string;
      const nextDigest = (await gw.as('alice', `/v1/requests/${next}`)).body.digest;
      expect((await gw.as('alice', `/v1/requests/${next}/reviews`, { body: { verdict: 'approve', digest: nextDigest } })).status).toBe(200);
      expect(text(await agent.callTool({ name: 'countersign_wait', arguments: { requestId: next } }))).toBe('hello, ada (call 2)');
    } finally {
      await agent.close();
    }
  });
});

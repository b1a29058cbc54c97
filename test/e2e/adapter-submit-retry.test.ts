/**
 * A tool call whose submission reached the gateway but whose answer was lost on the network, then tried again by the
 * framework or the agent (the AI SDK's approval hook and `execute`, the OpenAI Agents tool's `needsApproval`, a Claude
 * agent's guarded tool): it must stay one action at the gateway (an allowed write run once, a held one held once), and
 * a different action must stay a different one. And `applyDecisions` must approve only the tool call its request is
 * for: never another tool's call under the same call id. Real gateway, real upstream.
 */
import { Agent, RunContext, RunState, setTracingDisabled } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countersignTools } from '../../src/surfaces/sdk/adapters/ai-sdk.ts';
import { applyDecisions, countersignTool } from '../../src/surfaces/sdk/adapters/openai-agents.ts';
import { createClient } from '../../src/surfaces/sdk/client.ts';
import type { TestGateway } from '../support/gateway.ts';
import { startBillingGateway } from '../support/billing-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  setTracingDisabled(true);
  upstream = await startUpstream((call) => ({ body: { echo: `${call.method} ${call.url}` } }));
  gw = await startBillingGateway(upstream.url, 'tok-submit-retry');
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** The agent's client: the answer to its first submission is lost (the gateway got it and acted; the agent never hears). */
function answerLosingClient() {
  let submissions = 0;
  return createClient({
    url: gw.url,
    key: gw.keys['deploy-bot']!,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).endsWith('/v1/actions') && init?.method === 'POST' && ++submissions === 1) {
        await res.arrayBuffer();
        throw new TypeError('fetch failed');
      }
      return res;
    },
  });
}

const requestsTagged = async (tag: string) =>
  ((await gw.as('alice', '/v1/requests?reviewable=false&limit=1000')).body.requests as { id: string; status: string; action: { reason: string } }[]).filter((r) =>
    r.action.reason.includes(tag),
  );
const upstreamHits = (path: string) => upstream.calls.filter((c) => c.url === path).length;

describe('a tool call tried again after its submission answer was lost', { timeout: 90_000 }, () => {
  it('AI SDK: an allowed read retried by execute runs once; another call stays another action', async () => {
    const { tools } = countersignTools(answerLosingClient(), {
      connection: 'billing-api',
      tools: { lookup: { description: 'Look an invoice up', inputSchema: z.object({ id: z.string() }) } },
      toInput: (_n, a) => ({ method: 'GET', path: `/invoices/${(a as { id: string }).id}` }),
      reason: (_n, a, id) => `sr-ai ${(a as { id: string }).id} ${id}`,
    });
    const exec = (args: unknown, id: string) => (tools.lookup as unknown as { execute: (a: unknown, o: unknown) => Promise<unknown> }).execute(args, { toolCallId: id, messages: [] });
    await expect(exec({ id: 'inv-sr1' }, 'call_sr1')).rejects.toThrow();
    await exec({ id: 'inv-sr1' }, 'call_sr1');
    expect(upstreamHits('/api/invoices/inv-sr1')).toBe(1);
    expect(await requestsTagged('sr-ai inv-sr1')).toHaveLength(1);
    // The same arguments under another call id are another call: it runs.
    await exec({ id: 'inv-sr1' }, 'call_sr1b');
    expect(upstreamHits('/api/invoices/inv-sr1')).toBe(2);
  });

  it('AI SDK: a held write retried by the approval hook is held once', async () => {
    const { toolApproval } = countersignTools(answerLosingClient(), {
      connection: 'billing-api',
      tools: { refund: { description: 'Refund', inputSchema: z.object({ order: z.string() }) } },
      toInput: (_n, a) => ({ method: 'POST', path: `/refunds/${(a as { order: string }).order}` }),
      reason: (_n, _a, id) => `sr-ai-held ${id}`,
      timeoutMs: 1_000,
    });
    const call = { toolCall: { toolName: 'refund', toolCallId: 'call_sr2', input: { order: 'o-sr2' } } };
    await expect(toolApproval(call)).rejects.toThrow();
    await toolApproval(call);
    // The one request, withdrawn when the hook stopped waiting: none left pending for a reviewer to approve unseen.
    expect((await requestsTagged('sr-ai-held call_sr2')).map((r) => r.status)).toEqual(['cancelled']);
  });

  it('OpenAI Agents: needsApproval tried again finds the held request instead of holding a second one', async () => {
    const refund = countersignTool(answerLosingClient(), {
      name: 'refund',
      description: 'Refund',
      parameters: z.object({ order: z.string() }),
      connection: 'billing-api',
      toInput: (a) => ({ method: 'POST', path: `/refunds/${a.order}` }),
      reason: (_a, id) => `sr-oa ${id}`,
    });
    const ctx = new RunContext<Record<string, unknown>>({});
    await expect(refund.needsApproval(ctx, { order: 'o-sr3' }, 'call_sr3')).rejects.toThrow();
    expect(await refund.needsApproval(ctx, { order: 'o-sr3' }, 'call_sr3')).toBe(true);
    expect((await requestsTagged('sr-oa call_sr3')).map((r) => r.status)).toEqual(['pending']);
  });

  it('OpenAI Agents: applyDecisions approves only the call its request is for, not another tool under the same call id', async () => {
    const cs = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
    const lookup = countersignTool(cs, {
      name: 'lookup',
      description: 'Look up',
      parameters: z.object({ id: z.string() }),
      connection: 'billing-api',
      toInput: (a) => ({ method: 'GET', path: `/invoices/${a.id}` }),
      reason: (_a, id) => `sr-bind ${id}`,
    });
    const agent = new Agent({ name: 'b', tools: [lookup] });
    const ctx = new RunContext<Record<string, unknown>>({});
    // The Countersign call ran (allowed); another tool's call, which the model gave the same id, awaits its own approval.
    expect(await lookup.needsApproval(ctx, { id: 'inv-sr4' }, 'call_sr4')).toBe(false);
    const state = new RunState(ctx, 'x', agent, 10);
    const wipe = { type: 'function_call', callId: 'call_sr4', name: 'wipe_disk', arguments: '{}', status: 'completed' } as const;
    const other = { type: 'function_call', callId: 'call_sr4', name: 'lookup', arguments: '{"id":"inv-other"}', status: 'completed' } as const;
    const { RunToolApprovalItem } = await import('@openai/agents');
    const items = [new RunToolApprovalItem(wipe, agent), new RunToolApprovalItem(other, agent)];
    (state as unknown as { getInterruptions: () => unknown[] }).getInterruptions = () => items;
    const out = await applyDecisions(cs, state);
    expect(out.approved).toHaveLength(0);
    expect(out.others.map((i) => (i.rawItem as { name: string }).name)).toEqual(['wipe_disk', 'lookup']);
    expect(ctx.isToolApproved({ toolName: 'wipe_disk', callId: 'call_sr4' })).not.toBe(true);
  });
});

describe('a Claude agent tool call tried again after its submission answer was lost', { timeout: 90_000 }, () => {
  it('canUseTool asked again for the same tool use finds the held request instead of holding a second one', async () => {
    const { countersignCanUseTool } = await import('../../src/surfaces/sdk/adapters/claude-agent-sdk.ts');
    const canUseTool = countersignCanUseTool(answerLosingClient(), {
      tools: ['mcp__billing__refund'],
      connection: 'billing-api',
      toInput: (_n, a) => ({ method: 'POST', path: `/refunds/${String(a.order)}` }),
      reason: () => 'sr-claude tu_sr5',
      timeoutMs: 1_000,
    });
    const ask = () => canUseTool('mcp__billing__refund', { order: 'o-sr5' }, { signal: new AbortController().signal, toolUseID: 'tu_sr5' } as Parameters<typeof canUseTool>[2]);
    await expect(ask()).rejects.toThrow();
    expect(await ask()).toMatchObject({ behavior: 'deny' });
    expect((await requestsTagged('sr-claude tu_sr5')).map((r) => r.status)).toEqual(['cancelled']);
  });
});

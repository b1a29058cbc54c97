/**
 * LangGraph's submitting node, run again after it failed half-way: the model made two tool calls, the first was
 * submitted, the second's submission was lost on the network, and the graph is invoked again from its checkpoint
 * (LangGraph re-runs a failed node from its start). The first call must not become a second request: an allowed
 * write would run twice, and a held one would wait twice, its first request left for a reviewer to approve and run
 * with nobody waiting for its result. Real gateway, real upstream, the packages' own fake chat models.
 */
import { AIMessageChunk, HumanMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ToolCall } from '@langchain/core/messages/tool';
import { FakeListChatModel, FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { END, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countersignToolNodes, CountersignState } from '../../src/surfaces/sdk/adapters/langchain.ts';
import { createClient } from '../../src/surfaces/sdk/client.ts';
import type { TestGateway } from '../support/gateway.ts';
import { billingTools, startBillingGateway } from '../support/billing-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ body: { echo: `${call.method} ${call.url}` } }));
  gw = await startBillingGateway(upstream.url, 'tok-retry-secret');
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** The agent's client: its `lose`-th submission is lost on the way (the network drops it; the gateway never sees it). */
function flakyClient(lose: number) {
  let submissions = 0;
  return createClient({
    url: gw.url,
    key: gw.keys['deploy-bot']!,
    fetch: async (input, init) => {
      if (String(input).endsWith('/v1/actions') && init?.method === 'POST' && ++submissions === lose) throw new TypeError('fetch failed');
      return fetch(input, init);
    },
  });
}

const hasToolCalls = (s: { messages: BaseMessage[] }) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? 'submit' : END);

function build(tag: string, calls: ToolCall[]) {
  const { lookup, refund } = billingTools(tag);
  const nodes = countersignToolNodes(flakyClient(2), [refund, lookup]);
  const bound = [refund, lookup] as unknown as Parameters<FakeListChatModel['bindTools']>[0];
  const turns = [new FakeStreamingChatModel({ chunks: [new AIMessageChunk({ content: '', tool_calls: calls })] }).bindTools(bound), new FakeListChatModel({ responses: ['done'] }).bindTools(bound)];
  let turn = 0;
  const agent = async (state: { messages: BaseMessage[] }) => ({ messages: [await turns[Math.min(turn++, 1)]!.invoke(state.messages)] });
  return new StateGraph(CountersignState)
    .addNode('agent', agent)
    .addNode('submit', nodes.submit)
    .addNode('decide', nodes.decide)
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', hasToolCalls, ['submit', END])
    .addEdge('submit', 'decide')
    .addEdge('decide', 'agent')
    .compile({ checkpointer: new MemorySaver() });
}

const requestsTagged = async (tag: string) =>
  ((await gw.as('alice', '/v1/requests?reviewable=false&limit=1000')).body.requests as { id: string; status: string; action: { reason: string } }[]).filter((r) => r.action.reason.startsWith(`${tag}:`));

describe('a LangGraph submitting node run again after a failure', { timeout: 90_000 }, () => {
  it('submits each tool call once: an allowed read runs once, not once per attempt', async () => {
    const config = { configurable: { thread_id: 'retry-allowed' } };
    const graph = build('lr-allow', [
      { id: 'call_lr1', name: 'lookup_invoice', args: { id: 'inv-lr1' }, type: 'tool_call' },
      { id: 'call_lr2', name: 'lookup_invoice', args: { id: 'inv-lr2' }, type: 'tool_call' },
    ]);
    await expect(graph.invoke({ messages: [new HumanMessage('look both up')] }, config)).rejects.toThrow();
    // Invoked again from the checkpoint: the failed node runs again, from its start.
    const out = await graph.invoke(null, config);
    expect(out.messages.at(-1)!.content).toBe('done');
    expect(upstream.calls.filter((c) => c.url === '/api/invoices/inv-lr1')).toHaveLength(1);
    expect(upstream.calls.filter((c) => c.url === '/api/invoices/inv-lr2')).toHaveLength(1);
    expect(await requestsTagged('lr-allow')).toHaveLength(2);
  });

  it('submits a held call once: no second request for a reviewer to approve, nor a first one left behind', async () => {
    const config = { configurable: { thread_id: 'retry-held' } };
    const graph = build('lr-held', [
      { id: 'call_lr3', name: 'refund', args: { order: 'o-lr3', amount: 5 }, type: 'tool_call' },
      { id: 'call_lr4', name: 'lookup_invoice', args: { id: 'inv-lr4' }, type: 'tool_call' },
    ]);
    await expect(graph.invoke({ messages: [new HumanMessage('refund o-lr3 and look inv-lr4 up')] }, config)).rejects.toThrow();
    await graph.invoke(null, config);
    const held = (await requestsTagged('lr-held')).filter((r) => r.action.reason.includes('refund'));
    expect(held.map((r) => r.status)).toEqual(['pending']);
  });
});

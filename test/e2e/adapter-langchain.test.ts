/**
 * @countersign/client/langchain end to end: the real @langchain/core tool and
 * @langchain/langgraph graph (MemorySaver checkpointer), the packages' own fake
 * chat models (FakeStreamingChatModel scripted with a tool call, then
 * FakeListChatModel for the final answer, both through bindTools), against a
 * real gateway in front of a real HTTP upstream that records its calls. The
 * agent holds only its Countersign key; a human approves or denies over REST.
 */
import { AIMessageChunk, HumanMessage, ToolMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ToolCall } from '@langchain/core/messages/tool';
import { FakeListChatModel, FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { Command, END, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { ToolNode } from '@langchain/langgraph/prebuilt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countersignTool, countersignToolNodes, CountersignState, resumeWhenDecided, type CountersignToolSpec } from '../../src/surfaces/sdk/adapters/langchain.ts';
import { createClient, type CountersignClient, type RequestView } from '../../src/surfaces/sdk/client.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { billingTools, startBillingGateway } from '../support/billing-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;
let cs: CountersignClient;

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ body: { echo: `${call.method} ${call.url}`, body: call.body } }));
  gw = await startBillingGateway(upstream.url, 'tok-billing-secret-42');
  cs = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const callsTo = (method: string, path: string) => upstream.calls.filter((c) => c.method === method && c.url === `/api${path}`);

/** Tools by test: each call's reason carries a tag so a test finds its own requests. */
function specs(tag: string) {
  const { lookup, refund } = billingTools(tag);
  const remove: CountersignToolSpec<{ id: string }> = {
    name: 'delete_customer',
    description: 'Delete a customer',
    schema: z.object({ id: z.string() }),
    connection: 'billing-api',
    toInput: (a) => ({ method: 'DELETE', path: `/customers/${a.id}` }),
    reason: (a) => `${tag}: delete ${a.id}`,
  };
  // As the gateway shows it, this input reads GET, and the header's value [redacted].
  const tagged: CountersignToolSpec<{ id: string }> = {
    name: 'lookup_tagged',
    description: 'Look an invoice up, saying who asks',
    schema: z.object({ id: z.string() }),
    connection: 'billing-api',
    toInput: (a) => ({ method: 'get', path: `/invoices/${a.id}`, headers: { 'X-Asked-By': 'graph-agent' } }),
    reason: (a) => `${tag}: look up ${a.id}, tagged`,
  };
  return { lookup, refund, remove, tagged };
}

/**
 * The model: first turn a scripted tool call, second turn a plain answer.
 * `seen` keeps what the model was given on each turn.
 */
function scriptedModel(tools: { name: string; description: string; schema: unknown }[], call: ToolCall | ToolCall[]) {
  const seen: BaseMessage[][] = [];
  const bound = tools as unknown as Parameters<FakeListChatModel['bindTools']>[0];
  const turns = [
    new FakeStreamingChatModel({ chunks: [new AIMessageChunk({ content: '', tool_calls: [call].flat() })] }).bindTools(bound),
    new FakeListChatModel({ responses: ['done'] }).bindTools(bound),
  ];
  const node = async (state: { messages: BaseMessage[] }) => {
    seen.push([...state.messages]);
    const model = turns[Math.min(seen.length - 1, 1)]!;
    return { messages: [await model.invoke(state.messages)] };
  };
  return { node, seen };
}

const hasToolCalls = (s: { messages: BaseMessage[] }) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? 'tools' : END);

async function myRequests(tag: string): Promise<RequestView[]> {
  return (await cs.list({ limit: 100 })).filter((r) => r.action.reason.startsWith(`${tag}:`));
}

/** Waits until the tagged request is pending, as a reviewer sees it over REST. */
async function pendingOver(tag: string): Promise<RequestView> {
  return eventually(async () => {
    const r = await gw.as('alice', '/v1/requests?status=pending&limit=100');
    return (r.body.requests as RequestView[]).find((x) => x.action.reason.startsWith(`${tag}:`));
  }, 60_000);
}

describe('countersignTool in a LangGraph agent with ToolNode', () => {
  function agent(tag: string, call: ToolCall) {
    const { lookup, refund, remove } = specs(tag);
    const tools = [countersignTool(cs, lookup), countersignTool(cs, refund), countersignTool(cs, remove)];
    const model = scriptedModel([lookup, refund, remove], call);
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('agent', model.node)
      .addNode('tools', new ToolNode(tools))
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', hasToolCalls, ['tools', END])
      .addEdge('tools', 'agent')
      .compile();
    return { graph, seen: model.seen };
  }

  it('runs an allowed tool through the gateway and the model sees the result', async () => {
    const { graph, seen } = agent('t-allow', { id: 'call_1', name: 'lookup_invoice', args: { id: 'inv-1' }, type: 'tool_call' });
    const out = await graph.invoke({ messages: [new HumanMessage('what is invoice inv-1?')] });
    const toolMsg = out.messages.find((m) => m instanceof ToolMessage) as ToolMessage;
    expect(JSON.parse(String(toolMsg.content))).toMatchObject({ status: 200, body: { echo: 'GET /api/invoices/inv-1' } });
    expect(seen[1]!.some((m) => m instanceof ToolMessage && String(m.content).includes('GET /api/invoices/inv-1'))).toBe(true);
    expect(callsTo('GET', '/invoices/inv-1')).toHaveLength(1);
    // The credential is the gateway's: it reached the upstream, never the agent's messages.
    expect(callsTo('GET', '/invoices/inv-1')[0]!.headers['authorization']).toBe('Bearer tok-billing-secret-42');
    expect(JSON.stringify(out.messages)).not.toContain('tok-billing-secret-42');
  }, 60_000);

  it('waits on a held tool until a human approves over REST, then runs it once', async () => {
    const { graph, seen } = agent('t-held', { id: 'call_2', name: 'refund', args: { order: 'o-2', amount: 5 }, type: 'tool_call' });
    const run = graph.invoke({ messages: [new HumanMessage('refund o-2')] });
    const held = await pendingOver('t-held');
    expect(held.status).toBe('pending');
    expect(callsTo('POST', '/refunds/o-2')).toHaveLength(0);
    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const out = await run;
    const toolMsg = out.messages.find((m) => m instanceof ToolMessage) as ToolMessage;
    expect(JSON.parse(String(toolMsg.content))).toMatchObject({ status: 200, body: { echo: 'POST /api/refunds/o-2' } });
    expect(seen[1]!.some((m) => m instanceof ToolMessage && String(m.content).includes('POST /api/refunds/o-2'))).toBe(true);
    expect(callsTo('POST', '/refunds/o-2')).toHaveLength(1);
  }, 90_000);

  it('reports a denied tool to the model as a refusal naming the request, and the upstream is never called', async () => {
    const { graph, seen } = agent('t-deny', { id: 'call_3', name: 'delete_customer', args: { id: 'c-3' }, type: 'tool_call' });
    const out = await graph.invoke({ messages: [new HumanMessage('delete c-3')] });
    const [req] = await myRequests('t-deny');
    expect(req).toMatchObject({ status: 'denied' });
    const refusal = seen[1]!.find((m) => m instanceof ToolMessage) as ToolMessage;
    expect(String(refusal.content)).toContain(`request ${req!.id}`);
    expect(String(refusal.content)).toContain('deletes are never allowed from agents');
    expect(out.messages.at(-1)!.content).toBe('done');
    expect(callsTo('DELETE', '/customers/c-3')).toHaveLength(0);
  }, 60_000);
});

describe('countersignTool that stops waiting', () => {
  it('withdraws a held request it gives up on, so a later approval runs nothing', async () => {
    const { refund } = specs('t-giveup');
    const impatient = countersignTool(cs, { ...refund, timeoutMs: 1500 });
    const answer = await impatient.invoke({ order: 'o-5', amount: 3 });
    const [req] = await myRequests('t-giveup');
    expect(req).toMatchObject({ status: 'cancelled' });
    expect(answer).toContain(`request ${req!.id}, cancelled`);
    const late = await gw.as('alice', `/v1/requests/${req!.id}/reviews`, { body: { verdict: 'approve' } });
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect((await gw.as('alice', `/v1/requests/${req!.id}`)).body.status).toBe('cancelled');
    expect(callsTo('POST', '/refunds/o-5')).toHaveLength(0);
  }, 60_000);
});

describe('LangGraph nodes that interrupt while Countersign holds a tool call', () => {
  const saver = new MemorySaver();

  /** Builds the graph afresh: a second call is the agent's process after a restart, on the same checkpointer. */
  function build(tag: string, call: ToolCall | ToolCall[]) {
    const { lookup, refund, remove, tagged } = specs(tag);
    const nodes = countersignToolNodes(cs, [lookup, refund, remove, tagged]);
    const model = scriptedModel([lookup, refund, remove, tagged], call);
    const graph = new StateGraph(CountersignState)
      .addNode('agent', model.node)
      .addNode('submit', nodes.submit)
      .addNode('decide', nodes.decide)
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', (s) => (hasToolCalls(s) === END ? END : 'submit'), ['submit', END])
      .addEdge('submit', 'decide')
      .addEdge('decide', 'agent')
      .compile({ checkpointer: saver });
    return { graph, seen: model.seen };
  }

  const pausedOn = async (graph: ReturnType<typeof build>['graph'], config: { configurable: { thread_id: string } }) =>
    (await graph.getState(config)).tasks.flatMap((t) => t.interrupts.map((i) => (i.value as { requestId?: string }).requestId));

  it('pauses on a held call; a forged resume runs nothing; after a restart it resumes on the human approval and runs once', async () => {
    const config = { configurable: { thread_id: 'held-1' } };
    const call: ToolCall = { id: 'call_g1', name: 'refund', args: { order: 'o-g1', amount: 7 }, type: 'tool_call' };
    const first = build('g-held', call);
    await first.graph.invoke({ messages: [new HumanMessage('refund o-g1')] }, config);
    const held = await pendingOver('g-held');
    expect(await pausedOn(first.graph, config)).toEqual([held.id]);

    // The agent's own process claims an approval nobody gave: the node re-reads the request and pauses again.
    await first.graph.invoke(new Command({ resume: { approved: true } }), config);
    expect(await pausedOn(first.graph, config)).toEqual([held.id]);
    expect((await gw.as('alice', `/v1/requests/${held.id}`)).body.status).toBe('pending');
    expect(callsTo('POST', '/refunds/o-g1')).toHaveLength(0);
    expect(first.seen).toHaveLength(1);
    // Re-running the node on resume submitted nothing new.
    expect(await myRequests('g-held')).toHaveLength(1);

    // A restart: a new graph object over the same checkpointer waits for the decision and resumes.
    const second = build('g-held', call);
    second.seen.push([]); // the model already had its first turn before the restart
    const resumed = resumeWhenDecided(cs, second.graph, config, { timeoutMs: 60_000 });
    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const { resumed: did, result } = await resumed;
    expect(did).toBe(true);
    const messages = (result as { messages: BaseMessage[] }).messages;
    const toolMsg = messages.find((m) => m instanceof ToolMessage) as ToolMessage;
    expect(JSON.parse(String(toolMsg.content))).toMatchObject({ status: 200, body: { echo: 'POST /api/refunds/o-g1' } });
    expect(second.seen[1]!.some((m) => m instanceof ToolMessage && String(m.content).includes('POST /api/refunds/o-g1'))).toBe(true);
    expect(messages.at(-1)!.content).toBe('done');
    expect(callsTo('POST', '/refunds/o-g1')).toHaveLength(1);
    expect(await myRequests('g-held')).toHaveLength(1);
    expect(await pausedOn(second.graph, config)).toEqual([]);
  }, 120_000);

  it('tells the model of a human denial, with the request id, and never calls the upstream', async () => {
    const config = { configurable: { thread_id: 'denied-1' } };
    const { graph, seen } = build('g-deny', { id: 'call_g2', name: 'refund', args: { order: 'o-g2', amount: 9 }, type: 'tool_call' });
    await graph.invoke({ messages: [new HumanMessage('refund o-g2')] }, config);
    const held = await pendingOver('g-deny');
    const resumed = resumeWhenDecided(cs, graph, config, { timeoutMs: 60_000 });
    expect((await gw.as('bob', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'deny', comment: 'not this one' } })).status).toBe(200);
    await resumed;
    const refusal = seen[1]!.find((m) => m instanceof ToolMessage) as ToolMessage;
    expect(refusal.status).toBe('error');
    expect(String(refusal.content)).toContain(`request ${held.id}, denied`);
    expect(callsTo('POST', '/refunds/o-g2')).toHaveLength(0);
  }, 120_000);

  it('runs an allowed call without pausing', async () => {
    const config = { configurable: { thread_id: 'allowed-1' } };
    const { graph, seen } = build('g-allow', { id: 'call_g3', name: 'lookup_invoice', args: { id: 'inv-g3' }, type: 'tool_call' });
    const out = await graph.invoke({ messages: [new HumanMessage('look inv-g3 up')] }, config);
    expect(await pausedOn(graph, config)).toEqual([]);
    expect(seen[1]!.some((m) => m instanceof ToolMessage && String(m.content).includes('GET /api/invoices/inv-g3'))).toBe(true);
    expect(out.messages.at(-1)!.content).toBe('done');
    expect(callsTo('GET', '/invoices/inv-g3')).toHaveLength(1);
  }, 60_000);

  it('submits one request per tool call id: a second call under the same id is refused, not submitted, and the first is answered with its own result', async () => {
    const config = { configurable: { thread_id: 'twin-1' } };
    const calls: ToolCall[] = ['inv-t1', 'inv-t2'].map((id) => ({ id: 'call_twin', name: 'lookup_invoice', args: { id }, type: 'tool_call' }));
    const { graph, seen } = build('g-twin', calls);
    const out = await graph.invoke({ messages: [new HumanMessage('look inv-t1 and inv-t2 up')] }, config);
    expect(out.messages.at(-1)!.content).toBe('done');
    const told = seen[1]!.filter((m): m is ToolMessage => m instanceof ToolMessage).map((m) => String(m.content));
    expect(told).toHaveLength(2);
    expect(told[0]).toContain('GET /api/invoices/inv-t1');
    expect(told[1]).toContain('call_twin');
    expect(told[1]).not.toContain('GET /api');
    expect(callsTo('GET', '/invoices/inv-t1')).toHaveLength(1);
    expect(callsTo('GET', '/invoices/inv-t2')).toHaveLength(0);
    expect(await myRequests('g-twin')).toHaveLength(1);
  }, 60_000);

  it('keeps a tool call id that names an object property (__proto__, constructor) as any other id', async () => {
    for (const [n, id] of ['__proto__', 'constructor'].entries()) {
      const config = { configurable: { thread_id: `odd-id-${n}` } };
      const { graph, seen } = build(`g-odd-${n}`, { id, name: 'lookup_invoice', args: { id: `inv-odd-${n}` }, type: 'tool_call' });
      const out = await graph.invoke({ messages: [new HumanMessage('look it up')] }, config);
      expect(out.messages.at(-1)!.content, id).toBe('done');
      expect(seen[1]!.some((m) => m instanceof ToolMessage && String(m.content).includes(`GET /api/invoices/inv-odd-${n}`)), id).toBe(true);
      expect(callsTo('GET', `/invoices/inv-odd-${n}`), id).toHaveLength(1);
      expect(await myRequests(`g-odd-${n}`), id).toHaveLength(1);
    }
  }, 60_000);

  it('knows its own request although the gateway shows the input normalized (method in capitals, a header’s value redacted)', async () => {
    const config = { configurable: { thread_id: 'tagged-1' } };
    const { graph, seen } = build('g-tagged', { id: 'call_g9', name: 'lookup_tagged', args: { id: 'inv-g9' }, type: 'tool_call' });
    const out = await graph.invoke({ messages: [new HumanMessage('look inv-g9 up')] }, config);
    expect(out.messages.at(-1)!.content).toBe('done');
    expect(seen[1]!.some((m) => m instanceof ToolMessage && m.status === 'success' && String(m.content).includes('GET /api/invoices/inv-g9'))).toBe(true);
    expect(callsTo('GET', '/invoices/inv-g9')).toHaveLength(1);
  }, 60_000);
});

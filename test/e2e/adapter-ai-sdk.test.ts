/**
 * The Vercel AI SDK adapter end to end: `generateText` with the SDK's own mock
 * model (`ai/test`), tools from `countersignTools`, a real gateway and a real
 * HTTP upstream. The model sees what the gateway ran, a held call waits for a
 * human's approval over REST, a denial reaches the model as a refusal, and an
 * approval the agent's process gives itself runs nothing.
 */
import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createClient, type CountersignClient } from '../../src/surfaces/sdk/client.ts';
import { countersignTools } from '../../src/surfaces/sdk/adapters/ai-sdk.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { startBillingGateway } from '../support/billing-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const SECRET = 'tok-billing-secret-7731';
let upstream: Upstream;
let gw: TestGateway;
let cs: CountersignClient;

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ body: { echo: `${call.method} ${call.url}`, got: call.body ? JSON.parse(call.body) : null } }));
  gw = await startBillingGateway(upstream.url, SECRET);
  cs = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** The billing tools as the model sees them; their actions are HTTP calls on billing-api. */
function billingTools(timeoutMs?: number) {
  return countersignTools(cs, {
    connection: 'billing-api',
    ...(timeoutMs ? { timeoutMs } : {}),
    tools: {
      listInvoices: tool({ description: 'List the invoices', inputSchema: z.object({ limit: z.number() }) }),
      refund: tool({ description: 'Refund an invoice', inputSchema: z.object({ invoice: z.string(), amount: z.number() }) }),
      deleteInvoice: tool({ description: 'Delete an invoice', inputSchema: z.object({ invoice: z.string() }) }),
    },
    toInput: (name, args) => {
      const a = args as { limit?: number; invoice?: string; amount?: number };
      if (name === 'listInvoices') return { method: 'GET', path: '/invoices', query: { limit: String(a.limit) } };
      if (name === 'refund') return { method: 'POST', path: '/refunds', body: { invoice: a.invoice, amount: a.amount } };
      return { method: 'DELETE', path: `/invoices/${a.invoice}` };
    },
  });
}

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };

/** A mock model that calls one tool, then answers; it keeps every prompt it was given. */
function scriptedModel(toolName: string, input: unknown, toolCallId: string) {
  return scriptedCalls([{ toolName, input, toolCallId }]);
}

/** A mock model that makes these tool calls in one step, then answers. */
function scriptedCalls(toolCalls: { toolName: string; input: unknown; toolCallId: string }[]) {
  const prompts: unknown[][] = [];
  const model = new MockLanguageModelV3({
    doGenerate: async ({ prompt }) => {
      prompts.push(prompt);
      if (prompts.length === 1) {
        const content = toolCalls.map((c) => ({ type: 'tool-call' as const, toolCallId: c.toolCallId, toolName: c.toolName, input: JSON.stringify(c.input) }));
        return { content, finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] };
      }
      return { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
    },
  });
  return { model, prompts };
}

/** The tool's output as the model read it in its second prompt. */
function toolOutputSeen(prompts: unknown[][], toolCallId: string): { type: string; value?: unknown; reason?: string } {
  expect(prompts).toHaveLength(2);
  const parts = prompts[1]!.flatMap((m) => ((m as { role: string }).role === 'tool' ? ((m as { content: unknown[] }).content as { type: string; toolCallId: string; output: never }[]) : []));
  const part = parts.find((p) => p.type === 'tool-result' && p.toolCallId === toolCallId);
  expect(part, JSON.stringify(prompts[1])).toBeDefined();
  return part!.output;
}

/** The pending request a tool call made, as a reviewer lists it. */
async function pendingFor(toolCallId: string): Promise<{ id: string; status: string }> {
  return eventually(async () => {
    const r = await gw.as('alice', '/v1/requests?status=pending');
    return (r.body.requests as { id: string; status: string; action: { reason: string } }[]).find((q) => q.action.reason.includes(toolCallId));
  }, 30_000);
}

const calls = (method: string) => upstream.calls.filter((c) => c.method === method);

describe('Vercel AI SDK adapter', { timeout: 90_000 }, () => {
  it('runs an allowed tool call through the gateway, and the model reads its result', async () => {
    const { tools, toolApproval } = billingTools();
    const { model, prompts } = scriptedModel('listInvoices', { limit: 5 }, 'call-list-1');
    const before = calls('GET').length;
    const out = await generateText({ model, tools, toolApproval, prompt: 'list my invoices', stopWhen: stepCountIs(3) });
    expect(out.text).toBe('done');
    expect(toolOutputSeen(prompts, 'call-list-1')).toMatchObject({ type: 'json', value: { status: 200, body: { echo: 'GET /api/invoices?limit=5' } } });
    expect(calls('GET').length).toBe(before + 1);
    // The gateway used its credential; the agent's side never saw it.
    expect(calls('GET').at(-1)!.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(JSON.stringify(prompts)).not.toContain(SECRET);
    expect(JSON.stringify(out.steps)).not.toContain(SECRET);
  });

  it('holds a write until a human approves it over REST, then runs it once', async () => {
    const { tools, toolApproval } = billingTools();
    const { model, prompts } = scriptedModel('refund', { invoice: 'inv_1', amount: 42 }, 'call-refund-approve');
    const before = calls('POST').length;
    const run = generateText({ model, tools, toolApproval, prompt: 'refund inv_1', stopWhen: stepCountIs(3) });

    const held = await pendingFor('call-refund-approve');
    expect(held.status).toBe('pending');
    // Held: the model has not been answered and nothing reached the upstream.
    expect(prompts).toHaveLength(1);
    expect(calls('POST').length).toBe(before);

    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const out = await run;
    expect(out.text).toBe('done');
    expect(toolOutputSeen(prompts, 'call-refund-approve')).toMatchObject({ type: 'json', value: { status: 200, body: { echo: 'POST /api/refunds', got: { invoice: 'inv_1', amount: 42 } } } });
    expect(calls('POST').length).toBe(before + 1);
    expect((await gw.as('alice', `/v1/requests/${held.id}`)).body.status).toBe('succeeded');
  });

  it('reports a human’s denial to the model as a refusal naming the request, and never calls the upstream', async () => {
    const { tools, toolApproval } = billingTools();
    const { model, prompts } = scriptedModel('refund', { invoice: 'inv_2', amount: 9000 }, 'call-refund-deny');
    const before = calls('POST').length;
    const run = generateText({ model, tools, toolApproval, prompt: 'refund inv_2', stopWhen: stepCountIs(3) });

    const held = await pendingFor('call-refund-deny');
    expect((await gw.as('bob', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'deny', comment: 'too large' } })).status).toBe(200);
    await run;
    const seen = toolOutputSeen(prompts, 'call-refund-deny');
    expect(seen.type).toBe('execution-denied');
    expect(seen.reason).toContain(`Countersign denied this action (request ${held.id})`);
    expect(calls('POST').length).toBe(before);
  });

  it('reports a policy denial to the model at once, with the policy’s message', async () => {
    const { tools, toolApproval } = billingTools();
    const { model, prompts } = scriptedModel('deleteInvoice', { invoice: 'inv_3' }, 'call-delete');
    await generateText({ model, tools, toolApproval, prompt: 'delete inv_3', stopWhen: stepCountIs(3) });
    const seen = toolOutputSeen(prompts, 'call-delete');
    expect(seen.type).toBe('execution-denied');
    expect(seen.reason).toMatch(/^Countersign denied this action \(request [^)]+\): deletes are never allowed from agents/);
    expect(calls('DELETE')).toHaveLength(0);
  });

  it('runs nothing on an approval the agent’s process gives itself: the call still waits for Countersign', async () => {
    const { tools } = billingTools();
    const { model, prompts } = scriptedModel('refund', { invoice: 'inv_4', amount: 7 }, 'call-refund-forged');
    const before = calls('POST').length;
    // The agent answers the SDK's approval question itself: "approved".
    const run = generateText({ model, tools, toolApproval: () => 'approved', prompt: 'refund inv_4', stopWhen: stepCountIs(3) });

    const held = await pendingFor('call-refund-forged');
    expect(calls('POST').length).toBe(before);
    // Nor can the agent approve in Countersign with its own key.
    const self = await gw.as('deploy-bot', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('AGENT_CANNOT_REVIEW');
    expect((await gw.as('alice', `/v1/requests/${held.id}`)).body.status).toBe('pending');
    expect(prompts).toHaveLength(1);

    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'deny' } })).status).toBe(200);
    await run;
    const seen = toolOutputSeen(prompts, 'call-refund-forged');
    expect(seen.type).toBe('error-text');
    expect(String(seen.value)).toContain(`Countersign denied this action (request ${held.id})`);
    expect(calls('POST').length).toBe(before);
  });

  it('cancels a held call nobody decided in time and refuses it, so it can never run later unseen', async () => {
    const { tools, toolApproval } = billingTools(1000);
    const { model, prompts } = scriptedModel('refund', { invoice: 'inv_5', amount: 11 }, 'call-refund-timeout');
    const before = calls('POST').length;
    await generateText({ model, tools, toolApproval, prompt: 'refund inv_5', stopWhen: stepCountIs(3) });
    const seen = toolOutputSeen(prompts, 'call-refund-timeout');
    expect(seen.type).toBe('execution-denied');
    const id = /request (\S+) was cancelled/.exec(seen.reason ?? '')?.[1];
    expect(id, seen.reason).toBeDefined();
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('cancelled');
    const late = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
    expect(late.status).toBe(409);
    expect(calls('POST').length).toBe(before);
  });

  it('gives each of two calls the model named with one id its own request: the second is not answered by the first’s', async () => {
    const { tools, toolApproval } = billingTools();
    // A model (or whoever writes its output) may reuse a tool call id: an allowed read first, then a write that needs a human.
    const { model, prompts } = scriptedCalls([
      { toolName: 'listInvoices', input: { limit: 3 }, toolCallId: 'call-dup' },
      { toolName: 'refund', input: { invoice: 'inv_dup', amount: 13 }, toolCallId: 'call-dup' },
    ]);
    const posts = calls('POST').length;
    const gets = calls('GET').length;
    const run = generateText({ model, tools, toolApproval, prompt: 'list, then refund inv_dup', stopWhen: stepCountIs(3) });

    // The refund is held for a human like any other, not approved on the strength of the read's request.
    const held = await pendingFor('call-dup');
    expect((await gw.as('alice', `/v1/requests/${held.id}`)).body.action.input.body).toEqual({ invoice: 'inv_dup', amount: 13 });
    expect(calls('POST').length).toBe(posts);
    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await run;
    expect(calls('GET').length).toBe(gets + 1);
    expect(calls('POST').length).toBe(posts + 1);
    expect(calls('POST').at(-1)!.body).toContain('inv_dup');
    // The model read each call's own result.
    const outputs = JSON.stringify(prompts[1]);
    expect(outputs).toContain('GET /api/invoices?limit=3');
    expect(outputs).toContain('POST /api/refunds');
  });
});

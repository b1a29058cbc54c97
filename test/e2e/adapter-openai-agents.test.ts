/**
 * The OpenAI Agents SDK adapter end to end: a `Runner` with the SDK's own
 * scripted model (`@openai/agents/testing`), tools from `countersignTool`, a
 * real gateway and a real HTTP upstream. An allowed call runs, a held one
 * interrupts the run until a human approves over REST and `resumeRun`
 * continues it (also from `state.toString()` with every object built anew, as
 * after a restart), a denial reaches the model as a refusal, and an approval
 * the agent's process gives itself (`state.approve`) runs nothing.
 */
import { Agent, Runner, setTracingDisabled } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countersignTool, resumeRun } from '../../src/surfaces/sdk/adapters/openai-agents.ts';
import { createClient } from '../../src/surfaces/sdk/client.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { startBillingGateway } from '../support/billing-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const SECRET = 'tok-billing-secret-5519';
let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  setTracingDisabled(true);
  upstream = await startUpstream((call) => ({ body: { echo: `${call.method} ${call.url}`, got: call.body ? JSON.parse(call.body) : null } }));
  gw = await startBillingGateway(upstream.url, SECRET);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** The agent as its process builds it at start: a client with the agent's key, the tools, a model. */
function buildAgent(model: ScriptedModel) {
  const cs = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
  const tools = [
    countersignTool(cs, {
      name: 'listInvoices',
      description: 'List the invoices',
      parameters: z.object({ limit: z.number() }),
      connection: 'billing-api',
      toInput: (a) => ({ method: 'GET', path: '/invoices', query: { limit: String(a.limit) } }),
    }),
    countersignTool(cs, {
      name: 'refund',
      description: 'Refund an invoice',
      parameters: z.object({ invoice: z.string(), amount: z.number() }),
      connection: 'billing-api',
      toInput: (a) => ({ method: 'POST', path: '/refunds', body: a }),
    }),
    countersignTool(cs, {
      name: 'listTagged',
      description: 'List the invoices, saying who asks',
      parameters: z.object({ limit: z.number() }),
      connection: 'billing-api',
      // As the gateway shows it, this input reads GET, and the header's value [redacted].
      toInput: (a) => ({ method: 'get', path: '/invoices', query: { limit: String(a.limit) }, headers: { 'X-Asked-By': 'billing-agent' } }),
    }),
    countersignTool(cs, {
      name: 'deleteInvoice',
      description: 'Delete an invoice',
      parameters: z.object({ invoice: z.string() }),
      connection: 'billing-api',
      toInput: (a) => ({ method: 'DELETE', path: `/invoices/${a.invoice}` }),
    }),
  ];
  return { cs, agent: new Agent({ name: 'billing', instructions: 'Help with billing.', tools, model }), runner: new Runner({ tracingDisabled: true }) };
}

/** What the model read as the output of one tool call, in the last request it was given. */
function toolOutputSeen(model: ScriptedModel, callId: string): string {
  const input = model.lastCall!.request.input;
  const item = (Array.isArray(input) ? input : []).find((i) => (i as { type?: string }).type === 'function_call_result' && (i as { callId?: string }).callId === callId) as
    | { output: string | { type: string; text?: string } }
    | undefined;
  expect(item, JSON.stringify(input)).toBeDefined();
  return typeof item!.output === 'string' ? item!.output : (item!.output.text ?? JSON.stringify(item!.output));
}

/** The requests a tool call made, as a reviewer lists them (every status). */
async function requestsFor(callId: string): Promise<{ id: string; status: string }[]> {
  const r = await gw.as('alice', '/v1/requests?reviewable=false&limit=1000');
  return (r.body.requests as { id: string; status: string; action: { reason: string } }[]).filter((q) => q.action.reason.includes(`call ${callId})`));
}

async function pendingFor(callId: string): Promise<{ id: string; status: string }> {
  return eventually(async () => (await requestsFor(callId)).find((q) => q.status === 'pending'), 30_000);
}

const calls = (method: string) => upstream.calls.filter((c) => c.method === method);
const toolCall = (name: string, args: Record<string, unknown>, callId: string) => new ScriptedModel([[functionCall(name, args, { callId })], [assistantMessage('done')]]);

describe('OpenAI Agents SDK adapter', { timeout: 90_000 }, () => {
  it('runs an allowed tool call through the gateway, and the model reads its result', async () => {
    const model = toolCall('listInvoices', { limit: 5 }, 'oa-list-1');
    const { agent, runner } = buildAgent(model);
    const before = calls('GET').length;
    const result = await runner.run(agent, 'list my invoices');
    expect(result.interruptions).toHaveLength(0);
    expect(result.finalOutput).toBe('done');
    expect(toolOutputSeen(model, 'oa-list-1')).toContain('GET /api/invoices?limit=5');
    expect(calls('GET').length).toBe(before + 1);
    expect(calls('GET').at(-1)!.headers.authorization).toBe(`Bearer ${SECRET}`);
    // The credential stays in the gateway: not in what the model read, not in the run's state.
    expect(JSON.stringify(model.calls.map((c) => c.request.input))).not.toContain(SECRET);
    expect(result.state.toString()).not.toContain(SECRET);
  });

  it('interrupts the run on a held write, and resumes it once a human approves over REST: the write runs once', async () => {
    const model = toolCall('refund', { invoice: 'inv_1', amount: 42 }, 'oa-refund-approve');
    const { cs, agent, runner } = buildAgent(model);
    const before = calls('POST').length;
    const first = await runner.run(agent, 'refund inv_1');
    expect(first.interruptions.map((i) => i.name)).toEqual(['refund']);
    const held = await pendingFor('oa-refund-approve');
    expect(calls('POST').length).toBe(before);

    const resumed = resumeRun(cs, { agent, state: first.state, runner });
    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const result = await resumed;
    expect(result.finalOutput).toBe('done');
    expect(toolOutputSeen(model, 'oa-refund-approve')).toContain('POST /api/refunds');
    expect(calls('POST').length).toBe(before + 1);
    expect(await requestsFor('oa-refund-approve')).toEqual([expect.objectContaining({ id: held.id, status: 'succeeded' })]);
  });

  it('resumes from the serialized state in a fresh agent, runner and client (a restart): one request, one run', async () => {
    const before = calls('POST').length;
    let saved: string;
    {
      const { agent, runner } = buildAgent(new ScriptedModel([[functionCall('refund', { invoice: 'inv_9', amount: 3 }, { callId: 'oa-refund-restart' })]]));
      const first = await runner.run(agent, 'refund inv_9');
      expect(first.interruptions).toHaveLength(1);
      saved = first.state.toString();
    }
    const held = await pendingFor('oa-refund-restart');

    // A new process: everything built again; only the string survived.
    const model = new ScriptedModel([[assistantMessage('done after restart')]]);
    const { cs, agent, runner } = buildAgent(model);
    const resumed = resumeRun(cs, { agent, state: saved, runner });
    expect((await gw.as('bob', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const result = await resumed;
    expect(result.finalOutput).toBe('done after restart');
    expect(toolOutputSeen(model, 'oa-refund-restart')).toContain('POST /api/refunds');
    expect(calls('POST').length).toBe(before + 1);
    expect(await requestsFor('oa-refund-restart')).toEqual([expect.objectContaining({ id: held.id, status: 'succeeded' })]);
  });

  it('reports a human’s denial to the model as a refusal naming the request, and never calls the upstream', async () => {
    const model = toolCall('refund', { invoice: 'inv_2', amount: 9000 }, 'oa-refund-deny');
    const { cs, agent, runner } = buildAgent(model);
    const before = calls('POST').length;
    const first = await runner.run(agent, 'refund inv_2');
    const held = await pendingFor('oa-refund-deny');
    expect((await gw.as('bob', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'deny', comment: 'too large' } })).status).toBe(200);
    const result = await resumeRun(cs, { agent, state: first.state.toString(), runner });
    expect(result.finalOutput).toBe('done');
    expect(toolOutputSeen(model, 'oa-refund-deny')).toContain(`Countersign denied this action (request ${held.id})`);
    expect(calls('POST').length).toBe(before);
  });

  it('reports a policy denial to the model without interrupting the run', async () => {
    const model = toolCall('deleteInvoice', { invoice: 'inv_3' }, 'oa-delete');
    const { agent, runner } = buildAgent(model);
    const result = await runner.run(agent, 'delete inv_3');
    expect(result.interruptions).toHaveLength(0);
    expect(toolOutputSeen(model, 'oa-delete')).toMatch(/^Countersign denied this action \(request [^)]+\): deletes are never allowed from agents/);
    expect(calls('DELETE')).toHaveLength(0);
  });

  it('runs nothing on state.approve() given in the agent’s process: the call still waits for Countersign', async () => {
    const model = toolCall('refund', { invoice: 'inv_4', amount: 7 }, 'oa-refund-forged');
    const { agent, runner } = buildAgent(model);
    const before = calls('POST').length;
    const first = await runner.run(agent, 'refund inv_4');
    const held = await pendingFor('oa-refund-forged');
    // The agent approves the interruption itself and carries on.
    first.state.approve(first.interruptions[0]!);
    const carriedOn = runner.run(agent, first.state);

    // Still pending in Countersign; nor can the agent approve there with its own key.
    const self = await gw.as('deploy-bot', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('AGENT_CANNOT_REVIEW');
    expect((await gw.as('alice', `/v1/requests/${held.id}`)).body.status).toBe('pending');
    expect(calls('POST').length).toBe(before);
    expect(model.calls).toHaveLength(1);

    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'deny' } })).status).toBe(200);
    const result = await carriedOn;
    expect(toolOutputSeen(model, 'oa-refund-forged')).toContain(`Countersign denied this action (request ${held.id})`);
    expect(calls('POST').length).toBe(before);
    expect(await requestsFor('oa-refund-forged')).toHaveLength(1);
    expect(result.finalOutput).toBe('done');
  });

  it('refuses a serialized state edited to answer a held call with another request’s approval', async () => {
    const { agent: a1, runner: r1 } = buildAgent(toolCall('listInvoices', { limit: 1 }, 'oa-list-other'));
    await r1.run(a1, 'list one invoice');
    const [other] = await requestsFor('oa-list-other');
    expect(other).toMatchObject({ status: 'succeeded' });

    const { cs, agent, runner } = buildAgent(toolCall('refund', { invoice: 'inv_5', amount: 500 }, 'oa-refund-tampered'));
    const before = calls('POST').length;
    const first = await runner.run(agent, 'refund inv_5');
    const held = await pendingFor('oa-refund-tampered');
    const saved = first.state.toString();
    expect(saved).toContain(held.id);
    const tampered = saved.split(held.id).join(other!.id);

    await expect(resumeRun(cs, { agent, state: tampered, runner })).rejects.toThrow(/is for another action/);
    expect(calls('POST').length).toBe(before);
    expect(await requestsFor('oa-refund-tampered')).toEqual([expect.objectContaining({ id: held.id, status: 'pending' })]);
  });

  it('keeps a call id that names an object property (__proto__, constructor) as any other id: one request, one run, held or not', async () => {
    for (const callId of ['__proto__', 'constructor']) {
      const model = toolCall('listInvoices', { limit: callId.length }, callId);
      const { agent, runner } = buildAgent(model);
      const before = calls('GET').length;
      const result = await runner.run(agent, 'list invoices');
      expect(result.finalOutput, callId).toBe('done');
      expect(toolOutputSeen(model, callId)).toContain(`GET /api/invoices?limit=${callId.length}`);
      expect(calls('GET').length, callId).toBe(before + 1);
    }
    const model = toolCall('refund', { invoice: 'inv_proto', amount: 1 }, '__proto__');
    const { cs, agent, runner } = buildAgent(model);
    const first = await runner.run(agent, 'refund inv_proto');
    expect(first.interruptions).toHaveLength(1);
    const held = await eventually(async () => {
      const r = await gw.as('alice', '/v1/requests?status=pending&limit=1000');
      return (r.body.requests as { id: string; action: { input: { body?: { invoice?: string } } } }[]).find((q) => q.action.input.body?.invoice === 'inv_proto');
    }, 30_000);
    expect(first.state.toString()).toContain(held.id);
    const resumed = resumeRun(cs, { agent, state: first.state.toString(), runner });
    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    expect((await resumed).finalOutput).toBe('done');
    expect(toolOutputSeen(model, '__proto__')).toContain('POST /api/refunds');
    expect(calls('POST').filter((c) => c.body.includes('inv_proto'))).toHaveLength(1);
  });

  it('knows its own request although the gateway shows the input normalized (method in capitals, a header’s value redacted): one run, and the model reads it', async () => {
    const model = toolCall('listTagged', { limit: 4 }, 'oa-tagged');
    const { agent, runner } = buildAgent(model);
    const before = calls('GET').length;
    const result = await runner.run(agent, 'list four invoices');
    expect(result.finalOutput).toBe('done');
    expect(toolOutputSeen(model, 'oa-tagged')).toContain('GET /api/invoices?limit=4');
    expect(calls('GET').length).toBe(before + 1);
    expect(calls('GET').at(-1)!.headers['x-asked-by']).toBe('billing-agent');
  });
});

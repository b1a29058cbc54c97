/**
 * A held tool call whose wait runs out just as a human approves it, through the framework adapters on a real gateway
 * and a real (slow) HTTP upstream. The adapter withdraws the request; the withdrawal loses (409: already decided)
 * and the gateway runs the action. The model must then get the action's outcome, never "denied … the action was
 * not run": told so, it asks again, and the refund is paid twice. The race is ordered at the network: the agent's
 * client, about to send its cancel, lets alice's approval reach the gateway first.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, Runner, setTracingDisabled } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countersignTools } from '../../src/surfaces/sdk/adapters/ai-sdk.ts';
import { countersignTool, resumeRun } from '../../src/surfaces/sdk/adapters/openai-agents.ts';
import { createClient } from '../../src/surfaces/sdk/client.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { startBillingGateway } from '../support/billing-gateway.ts';

let gw: TestGateway;
let upstream: Server;
let upstreamUrl = '';
/** Refunds the upstream received; each is answered only once the test lets it (a slow payment provider). */
const refunds: string[] = [];
let gate = held();
function held() {
  let open = () => {};
  const passed = new Promise<void>((r) => (open = r));
  return { passed, open };
}
/** Answers the refunds waiting, and holds the next ones again. */
function letThrough() {
  const was = gate;
  gate = held();
  was.open();
}

beforeAll(async () => {
  setTracingDisabled(true);
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (req.method === 'POST') {
        refunds.push(Buffer.concat(chunks).toString('utf8'));
        await gate.passed;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ paid: true }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gw = await startBillingGateway(upstreamUrl, 'tok-race-secret');
}, 60_000);

afterAll(async () => {
  letThrough();
  await gw?.stop();
  upstream?.closeAllConnections();
  await new Promise<void>((r) => upstream?.close(() => r()));
});

/**
 * The agent's client. As it is about to cancel a request, alice approves that request first (the race, ordered), and
 * the gateway starts the refund; the upstream answers it only once the client has read the request after the failed
 * cancel, so that read finds it running.
 */
function racingClient() {
  let cancelled = false;
  return createClient({
    url: gw.url,
    key: gw.keys['deploy-bot']!,
    fetch: async (input, init) => {
      const m = /\/v1\/requests\/([^/?]+)\/cancel$/.exec(String(input));
      if (m && init?.method === 'POST') {
        const approved = await gw.as('alice', `/v1/requests/${decodeURIComponent(m[1]!)}/reviews`, { body: { verdict: 'approve' } });
        expect(approved.status).toBe(200);
        // The gateway is running it: the refund has reached the (slow) upstream.
        await eventually(async () => (refunds.length > 0 ? true : undefined), 10_000);
        const res = await fetch(input, init);
        expect(res.status).toBe(409);
        cancelled = true;
        return res;
      }
      const res = await fetch(input, init);
      if (cancelled && /\/v1\/requests\/[^/?]+$/.test(String(input))) {
        cancelled = false;
        const read = (await res.clone().json()) as { status: string };
        expect(read.status).toBe('executing');
        letThrough();
      }
      return res;
    },
  });
}

const statusOf = async (reasonPart: string) => {
  const r = await gw.as('alice', '/v1/requests?reviewable=false&limit=1000');
  return (r.body.requests as { id: string; status: string; action: { reason: string } }[]).find((q) => q.action.reason.includes(reasonPart));
};

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };

describe('a held call approved as the adapter gives up waiting', { timeout: 90_000 }, () => {
  it('Vercel AI SDK: the model gets the refund’s outcome, not "denied … not run"', async () => {
    refunds.length = 0;
    const { tools, toolApproval } = countersignTools(racingClient(), {
      connection: 'billing-api',
      timeoutMs: 1000,
      tools: { refund: tool({ description: 'Refund an invoice', inputSchema: z.object({ invoice: z.string(), amount: z.number() }) }) },
      toInput: (_, a) => ({ method: 'POST', path: '/refunds', body: a }),
    });
    const prompts: unknown[][] = [];
    const model = new MockLanguageModelV3({
      doGenerate: async ({ prompt }) => {
        prompts.push(prompt);
        if (prompts.length === 1) return { content: [{ type: 'tool-call', toolCallId: 'race-ai-1', toolName: 'refund', input: JSON.stringify({ invoice: 'inv_9', amount: 500 }) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] };
        return { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
      },
    });
    await generateText({ model, tools, toolApproval, prompt: 'refund inv_9', stopWhen: stepCountIs(3) });
    letThrough();
    expect((await eventually(async () => ((await statusOf('race-ai-1'))?.status === 'succeeded' ? true : undefined))) ).toBe(true);
    const seen = JSON.stringify(prompts[1]);
    expect(seen).not.toContain('was not run');
    expect(seen).toContain('paid');
    expect(refunds).toHaveLength(1);
  });

  it('OpenAI Agents: resumeRun answers the interruption with the refund’s outcome, not a rejection saying it did not run', async () => {
    refunds.length = 0;
    const cs = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
    const refund = countersignTool(cs, {
      name: 'refund',
      description: 'Refund an invoice',
      parameters: z.object({ invoice: z.string(), amount: z.number() }),
      connection: 'billing-api',
      toInput: (a) => ({ method: 'POST', path: '/refunds', body: a }),
    });
    const model = new ScriptedModel([[functionCall('refund', { invoice: 'inv_10', amount: 700 }, { callId: 'race-oa-1' })], [assistantMessage('done')]]);
    const agent = new Agent({ name: 'billing', instructions: 'Help with billing.', tools: [refund], model });
    const first = await new Runner({ tracingDisabled: true }).run(agent, 'refund inv_10', { context: {} });
    expect(first.interruptions).toHaveLength(1);
    await resumeRun(racingClient(), { agent, state: first.state, timeoutMs: 1000 });
    letThrough();
    expect(await eventually(async () => ((await statusOf('race-oa-1'))?.status === 'succeeded' ? true : undefined))).toBe(true);
    const input = JSON.stringify(model.lastCall!.request.input);
    expect(input).not.toContain('was not run');
    expect(input).toContain('paid');
    expect(refunds).toHaveLength(1);
  });
});

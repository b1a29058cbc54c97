/**
 * @countersign/client/claude-agent-sdk end to end: the real Claude Agent SDK
 * (`query`, which spawns its bundled native CLI) with no network: the CLI is
 * pointed (ANTHROPIC_BASE_URL, a dummy key, non-essential traffic off) at a
 * local server speaking the Messages API's streaming protocol, scripted to ask
 * for one tool and then answer. The guarded tools are in-process SDK MCP tools
 * run through a real gateway in front of a real HTTP upstream that records its
 * calls; the SDK's `canUseTool` is answered by Countersign; a human approves
 * or denies over REST.
 */
import { query, type CanUseTool, type SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countersignAgentTools, countersignCanUseTool, type CountersignAgentTool, type CountersignCanUseToolOptions } from '../../src/surfaces/sdk/adapters/claude-agent-sdk.ts';
import { createClient, type CountersignClient, type RequestView } from '../../src/surfaces/sdk/client.ts';
import { startFakeAnthropic, toolResults, type FakeAnthropic, type MessagesRequest } from '../support/fake-anthropic.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { startBillingGateway } from '../support/billing-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;
let cs: CountersignClient;
let model: FakeAnthropic;
const home = mkdtempSync(join(tmpdir(), 'cs-claude-home-'));

/** What the scripted model does for a prompt: call this tool with these arguments once, then answer "done". */
const SCRIPTS: Record<string, { tool: string; input: Record<string, unknown> }> = {
  'look up inv-1': { tool: 'mcp__billing__lookup_invoice', input: { id: 'inv-1' } },
  'refund o-2': { tool: 'mcp__billing__refund', input: { order: 'o-2', amount: 5 } },
  'delete c-3': { tool: 'mcp__billing__delete_customer', input: { id: 'c-3' } },
  'refund o-4': { tool: 'mcp__billing__refund', input: { order: 'o-4', amount: 8 } },
  'refund o-6': { tool: 'mcp__billing__refund', input: { order: 'o-6', amount: 2 } },
  'look up tagged inv-9': { tool: 'mcp__billing__lookup_tagged', input: { id: 'inv-9' } },
};

/** A turn with two tool calls under one id (the model's output names the ids): two reads of invoices. */
const TWIN_PROMPT = 'look up inv-7 and inv-8';
const TWIN_CALLS = ['inv-7', 'inv-8'].map((id) => ({ type: 'tool_use' as const, id: 'toolu_twin', name: 'mcp__billing__lookup_invoice', input: { id } }));

/** A turn calling the CLI's own Bash tool, which acts in the agent's process. */
const BASH_PROMPT = 'clean up with bash';
const PWNED = join(home, 'pwned');
const BASH_CALL = { type: 'tool_use' as const, id: 'toolu_bash', name: 'Bash', input: { command: `touch ${PWNED}`, description: 'clean up' } };

const promptOf = (req: MessagesRequest) => {
  const first = req.messages[0]?.content;
  const text = typeof first === 'string' ? first : (first ?? []).map((b) => (b.type === 'text' ? String(b['text']) : '')).join('');
  return Object.keys(SCRIPTS).find((p) => text.includes(p));
};

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ body: { echo: `${call.method} ${call.url}` } }));
  gw = await startBillingGateway(upstream.url, 'tok-billing-secret-42');
  cs = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
  model = await startFakeAnthropic((req) => {
    if (JSON.stringify(req.messages[0]?.content).includes(BASH_PROMPT)) return toolResults(req).length === 0 ? [BASH_CALL] : [{ type: 'text', text: 'done' }];
    if (JSON.stringify(req.messages[0]?.content).includes(TWIN_PROMPT)) return toolResults(req).length === 0 ? TWIN_CALLS : [{ type: 'text', text: 'done' }];
    const prompt = promptOf(req);
    const script = prompt ? SCRIPTS[prompt] : undefined;
    const offered = (req.tools ?? []).some((t) => t.name === script?.tool);
    if (script && offered && toolResults(req).length === 0) return [{ type: 'tool_use', id: `toolu_${prompt!.replace(/\W/g, '_')}`, name: script.tool, input: script.input }];
    return [{ type: 'text', text: 'done' }];
  });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await model?.close();
  rmSync(home, { recursive: true, force: true });
});

const tools = [
  { name: 'lookup_invoice', description: 'Look an invoice up', schema: { id: z.string() }, connection: 'billing-api', toInput: (a: { id: string }) => ({ method: 'GET', path: `/invoices/${a.id}` }) },
  {
    name: 'refund',
    description: 'Refund an order',
    schema: { order: z.string(), amount: z.number() },
    connection: 'billing-api',
    toInput: (a: { order: string; amount: number }) => ({ method: 'POST', path: `/refunds/${a.order}`, body: { amount: a.amount } }),
  },
  // As the gateway shows it, this input reads GET, and the header's value [redacted].
  {
    name: 'lookup_tagged',
    description: 'Look an invoice up, saying who asks',
    schema: { id: z.string() },
    connection: 'billing-api',
    toInput: (a: { id: string }) => ({ method: 'get', path: `/invoices/${a.id}`, headers: { 'X-Asked-By': 'claude-agent' } }),
  },
  { name: 'delete_customer', description: 'Delete a customer', schema: { id: z.string() }, connection: 'billing-api', toInput: (a: { id: string }) => ({ method: 'DELETE', path: `/customers/${a.id}` }) },
] as unknown as CountersignAgentTool<never>[];

/** Runs the agent on a prompt to its end; `canUseTool` replaces Countersign's hook when given (the forged case). */
async function runAgent(prompt: string, canUseTool?: CanUseTool, timeoutMs?: number, builtIn: string[] = []): Promise<SDKMessage[]> {
  const guard = countersignAgentTools(cs, { name: 'billing', tools, ...(timeoutMs ? { timeoutMs } : {}) });
  const out: SDKMessage[] = [];
  const q = query({
    prompt,
    options: {
      mcpServers: guard.mcpServers,
      canUseTool: canUseTool ?? guard.canUseTool,
      tools: builtIn,
      settingSources: [],
      cwd: home,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: home,
        ANTHROPIC_BASE_URL: model.url,
        ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
      },
    },
  });
  for await (const m of q) out.push(m);
  return out;
}

/** The tool result the model was shown for a prompt's tool call, in the request after it. */
function shownToModel(prompt: string) {
  const id = `toolu_${prompt.replace(/\W/g, '_')}`;
  return model.requests.flatMap(toolResults).find((r) => r.id === id);
}

const callsTo = (method: string, path: string) => upstream.calls.filter((c) => c.method === method && c.url === `/api${path}`);
const requestsFor = async (path: string): Promise<RequestView[]> => (await cs.list({ limit: 100 })).filter((r) => (r.action.input as { path?: string }).path === path);
const pendingFor = (path: string) =>
  eventually(async () => {
    const r = await gw.as('alice', '/v1/requests?status=pending&limit=100');
    return (r.body.requests as RequestView[]).find((x) => (x.action.input as { path?: string }).path === path);
  }, 90_000);
const resultOf = (out: SDKMessage[]) => out.find((m) => m.type === 'result');

describe('Claude Agent SDK: canUseTool answered by Countersign, tools run through the gateway', () => {
  it('runs an allowed tool through the gateway and the model sees the result; the credential stays with the gateway', async () => {
    const out = await runAgent('look up inv-1');
    expect(resultOf(out)).toMatchObject({ subtype: 'success', result: 'done' });
    const shown = shownToModel('look up inv-1');
    expect(shown?.isError).toBe(false);
    expect(JSON.parse(shown!.text)).toMatchObject({ status: 200, body: { echo: 'GET /api/invoices/inv-1' } });
    expect(callsTo('GET', '/invoices/inv-1')).toHaveLength(1);
    expect(callsTo('GET', '/invoices/inv-1')[0]!.headers['authorization']).toBe('Bearer tok-billing-secret-42');
    expect(JSON.stringify(model.requests)).not.toContain('tok-billing-secret-42');
    expect(JSON.stringify(out)).not.toContain('tok-billing-secret-42');
    expect(await requestsFor('/invoices/inv-1')).toHaveLength(1);
  }, 120_000);

  it('holds a tool until a human approves over REST, then runs it exactly once', async () => {
    const run = runAgent('refund o-2');
    const held = await pendingFor('/refunds/o-2');
    expect(callsTo('POST', '/refunds/o-2')).toHaveLength(0);
    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const out = await run;
    expect(resultOf(out)).toMatchObject({ subtype: 'success', result: 'done' });
    expect(JSON.parse(shownToModel('refund o-2')!.text)).toMatchObject({ status: 200, body: { echo: 'POST /api/refunds/o-2' } });
    // canUseTool submitted it; the tool handed the model that outcome without submitting again.
    expect(callsTo('POST', '/refunds/o-2')).toHaveLength(1);
    expect(await requestsFor('/refunds/o-2')).toHaveLength(1);
  }, 150_000);

  it('reports a denied tool to the model as a refusal naming the request, and the upstream is never called', async () => {
    const out = await runAgent('delete c-3');
    expect(resultOf(out)).toMatchObject({ subtype: 'success', result: 'done' });
    const [req] = await requestsFor('/customers/c-3');
    expect(req).toMatchObject({ status: 'denied' });
    const shown = shownToModel('delete c-3');
    expect(shown?.isError).toBe(true);
    expect(shown!.text).toContain(`request ${req!.id}`);
    expect(shown!.text).toContain('deletes are never allowed from agents');
    // The SDK's own approval hook refused it, with Countersign's answer.
    expect(resultOf(out)).toMatchObject({ permission_denials: [{ tool_name: 'mcp__billing__delete_customer', tool_use_id: 'toolu_delete_c_3' }] });
    expect(callsTo('DELETE', '/customers/c-3')).toHaveLength(0);
  }, 120_000);

  it('runs nothing on the agent process’s own say-so: an always-allow hook still leaves the call to Countersign', async () => {
    const forged: CanUseTool = async (_name, input) => ({ behavior: 'allow', updatedInput: input });
    const run = runAgent('refund o-4', forged);
    const held = await pendingFor('/refunds/o-4');
    // The agent's own key cannot approve it either.
    const self = await gw.as('deploy-bot', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve' } });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('AGENT_CANNOT_REVIEW');
    expect((await gw.as('alice', `/v1/requests/${held.id}`)).body.status).toBe('pending');
    expect(callsTo('POST', '/refunds/o-4')).toHaveLength(0);

    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'deny', comment: 'no' } })).status).toBe(200);
    const out = await run;
    // The forged hook allowed it, so the refusal came from the tool: Countersign's denial, not the SDK's.
    expect(resultOf(out)).toMatchObject({ subtype: 'success', permission_denials: [] });
    expect(shownToModel('refund o-4')).toMatchObject({ isError: true });
    expect(shownToModel('refund o-4')!.text).toContain(`request ${held.id}, denied`);
    expect(callsTo('POST', '/refunds/o-4')).toHaveLength(0);
    expect(await requestsFor('/refunds/o-4')).toHaveLength(1);
  }, 150_000);

  it('withdraws a held call it stops waiting for and denies it, so a later approval runs nothing', async () => {
    const out = await runAgent('refund o-6', undefined, 1500);
    const [req] = await requestsFor('/refunds/o-6');
    expect(req).toMatchObject({ status: 'cancelled' });
    expect(resultOf(out)).toMatchObject({ permission_denials: [{ tool_use_id: 'toolu_refund_o_6' }] });
    expect(shownToModel('refund o-6')!.text).toContain(`request ${req!.id}, cancelled`);
    expect((await gw.as('alice', `/v1/requests/${req!.id}/reviews`, { body: { verdict: 'approve' } })).status).toBeGreaterThanOrEqual(400);
    expect(callsTo('POST', '/refunds/o-6')).toHaveLength(0);
  }, 120_000);

  it('runs each of two calls the model gave one id exactly once, and tells the model each one’s own outcome', async () => {
    const out = await runAgent(TWIN_PROMPT);
    expect(resultOf(out)).toMatchObject({ subtype: 'success' });
    for (const id of ['inv-7', 'inv-8']) {
      expect(callsTo('GET', `/invoices/${id}`), id).toHaveLength(1);
      expect(await requestsFor(`/invoices/${id}`), id).toHaveLength(1);
    }
    const shown = model.requests.flatMap(toolResults).filter((r) => r.id === 'toolu_twin');
    expect(shown.map((r) => r.text).join('\n')).not.toContain('nothing ran');
  }, 120_000);

  it('answers only for the tools it is told: a model’s call of the CLI’s own Bash is denied and runs nothing, here or at the gateway', async () => {
    // Without the list, an allow would let the CLI run Bash itself, in the agent's process, after the gateway ran some other action.
    const options = { connection: 'billing-api', toInput: (_n: string, a: Record<string, unknown>) => ({ method: 'GET', path: `/invoices/${String(a['id'])}` }) };
    expect(() => countersignCanUseTool(cs, options as unknown as CountersignCanUseToolOptions)).toThrow(TypeError);

    const before = upstream.calls.length;
    const hook = countersignCanUseTool(cs, { ...options, tools: ['mcp__billing__lookup_invoice'] });
    const out = await runAgent(BASH_PROMPT, hook, undefined, ['Bash']);
    expect(resultOf(out)).toMatchObject({ permission_denials: [{ tool_name: 'Bash', tool_use_id: 'toolu_bash' }] });
    expect(existsSync(PWNED)).toBe(false);
    expect(upstream.calls.length).toBe(before);
  }, 120_000);

  it('hands the model the outcome canUseTool obtained although the gateway shows the input normalized: one run, no "nothing ran"', async () => {
    const out = await runAgent('look up tagged inv-9');
    expect(resultOf(out)).toMatchObject({ subtype: 'success', result: 'done' });
    const shown = shownToModel('look up tagged inv-9');
    expect(shown?.isError).toBe(false);
    expect(JSON.parse(shown!.text)).toMatchObject({ status: 200, body: { echo: 'GET /api/invoices/inv-9' } });
    expect(callsTo('GET', '/invoices/inv-9')).toHaveLength(1);
    expect(callsTo('GET', '/invoices/inv-9')[0]!.headers['x-asked-by']).toBe('claude-agent');
  }, 120_000);
});

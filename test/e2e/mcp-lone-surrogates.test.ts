/**
 * MCP tool arguments go to the upstream as JSON-RPC, which JSON.stringify
 * writes with a lone UTF-16 surrogate escaped (`\ud800`): the MCP SDK's
 * server (JavaScript) reads the surrogate back, as Python does, but Go's
 * encoding/json reads U+FFFD and serde_json refuses the text, so what a tool
 * runs would depend on the server's language; and the same text in any other
 * kind leaves the gateway as U+FFFD. One rule for all: a lone surrogate in a
 * tool call's arguments or in its reason is refused at submit (REST: 400
 * INVALID_INPUT; MCP: -32602 with data.code INVALID_INPUT), nothing recorded
 * or called; so is a cancel reason with one. A request held before that check, approved after, is refused at
 * its run (INPUT_UNPARSEABLE), not run.
 *
 * The upstream is a real MCP SDK server (test/support/code-units-mcp.js) that
 * answers with the UTF-16 code units it read.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionDigest } from '../../src/core/digest.ts';
import type { McpInput } from '../../src/core/action.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storeCounts, storedAudit } from '../support/store-view.ts';

const SERVER = fileURLToPath(new URL('../support/code-units-mcp.js', import.meta.url));

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(`connections:
  - name: units
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}]
  - name: held-units
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}]
policy:
  default: allow
  rules:
    - { id: held, when: 'action.connection == "held-units"', effect: approve, approvers: [{ groups: [sre] }] }
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

const rest = (args: Record<string, unknown>, reason = 'count the units', connection = 'units') =>
  gw.as('deploy-bot', '/v1/actions', { body: { connection, input: { tool: 'units', arguments: args }, reason } });

/** A tools/call over the gateway's MCP endpoint, its JSON-RPC text as written (`\ud800` escapes included). */
async function rpc(id: number, args: string, meta = ''): Promise<any> {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"units__units","arguments":${args}${meta ? `,"_meta":${meta}` : ''}}}`,
  });
  return res.json();
}

describe('a lone surrogate in a tool call', () => {
  it.each([
    ['an argument value', { text: 'a\ud800b' }, 'input.arguments.text'],
    ['an argument name', { ['t\udc00']: 'x' }, 'input.arguments'],
    ['a value nested in a list', { text: 'ok', more: ['\ude00\ud83d'] }, 'input.arguments.more.0'],
  ])('%s, over REST → 400 INVALID_INPUT, nothing recorded or called', async (_name, args, field) => {
    const before = await storeCounts(gw.deps.store);
    const res = await rest(args);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(res.body.error.message).toContain(field);
    expect(res.body.error.message).toMatch(/surrogate/);
    expect(await storeCounts(gw.deps.store)).toEqual(before);
  });

  it('an argument, over MCP → -32602 INVALID_INPUT, nothing recorded or called', async () => {
    const before = await storeCounts(gw.deps.store);
    const res = await rpc(1, '{"text":"a\\ud800b"}');
    expect(res.error, JSON.stringify(res)).toMatchObject({ code: -32602, data: { code: 'INVALID_INPUT' } });
    expect(res.error.message).toContain('input.arguments.text');
    expect(await storeCounts(gw.deps.store)).toEqual(before);
  });

  it('the reason, over REST and over MCP → INVALID_INPUT naming the reason, nothing recorded or called', async () => {
    const before = await storeCounts(gw.deps.store);
    const res = await rest({ text: 'a' }, 'because \ud800');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(res.body.error.message).toContain('reason');
    const viaMcp = await rpc(2, '{"text":"a"}', '{"countersign/reason":"because \\udfff"}');
    expect(viaMcp.error, JSON.stringify(viaMcp)).toMatchObject({ code: -32602, data: { code: 'INVALID_INPUT' } });
    expect(await storeCounts(gw.deps.store)).toEqual(before);
  });

  it('a well-formed pair reaches the server as its two halves; a reason cut at 4,000 characters is not cut inside one', async () => {
    const res = await rest({ text: 'a\u{1F600}b' });
    expect(res.status).toBe(200);
    expect(res.body.result.content[0].text).toBe('61 d83d de00 62');
    // 3,999 characters then an emoji: cut to 4,000 units, it would end in half of it.
    const viaMcp = await rpc(3, '{"text":"a\\ud83d\\ude00b"}', JSON.stringify({ 'countersign/reason': `${'x'.repeat(3999)}\u{1F600}` }));
    expect(viaMcp.result?._meta?.['countersign/status'], JSON.stringify(viaMcp).slice(0, 400)).toBe('succeeded');
    const stored = await gw.deps.store.getRequest(viaMcp.result._meta['countersign/requestId']);
    expect(stored?.action.reason).toBe('x'.repeat(3999));
  });
});

describe('a cancel reason', () => {
  it('with a lone surrogate → 400 INVALID_INPUT, the request still pending; a well-formed one cancels it', async () => {
    const held = await rest({ text: 'a' }, 'count the units', 'held-units');
    expect(held.body.status).toBe('pending');
    const before = await storeCounts(gw.deps.store);
    const bad = await gw.as('deploy-bot', `/v1/requests/${held.body.id}/cancel`, { body: { reason: 'not \ud800 needed' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
    expect(bad.body.error.message).toContain('reason');
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    expect((await gw.deps.store.getRequest(held.body.id))?.status).toBe('pending');
    const ok = await gw.as('deploy-bot', `/v1/requests/${held.body.id}/cancel`, { body: { reason: 'not needed \u{1F600}' } });
    expect(ok.status).toBe(200);
    expect((await gw.deps.store.getRequest(held.body.id))?.error?.message).toBe('not needed \u{1F600}');
  });
});

describe('a call held before such text was refused at submit', () => {
  it('approved after the upgrade, it is refused at its run (INPUT_UNPARSEABLE) and has no result', async () => {
    const held = await rest({ text: 'a?b' }, 'count the units', 'held-units');
    expect(held.body.status).toBe('pending');
    // What a gateway before the check stored: the surrogate in the input, the digest over it.
    await gw.deps.store.mutateRequest(held.body.id, (current) => {
      const action = { ...current.action, input: { tool: 'units', arguments: { text: 'a\ud800b' } } satisfies McpInput };
      const next = { ...current, action, digest: actionDigest(current.principal, current.connection, action) };
      return { result: next, next, audit: [] };
    });
    const review = await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } });
    expect(review.status).toBe(200);
    const after = await gw.deps.store.getRequest(held.body.id);
    expect(after?.status).toBe('denied');
    expect(after?.error?.code).toBe('INPUT_UNPARSEABLE');
    expect(after?.error?.message).toContain('input.arguments.text');
    expect(after?.result).toBeNull();
    const denied = (await storedAudit(gw.deps.store, held.body.id)).filter((e) => e.type === 'request.denied');
    expect(denied.map((e) => [e.data.by, e.data.code])).toEqual([['execute-check', 'INPUT_UNPARSEABLE']]);
  });
});

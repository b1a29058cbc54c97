/**
 * JSON nested thousands of levels deep is refused where it enters, with a
 * stable code, before anything recursive (schemas, digests, the audit chain)
 * runs on it: the REST API and the MCP endpoint answer 400 INPUT_TOO_DEEP,
 * nothing is recorded, nothing reaches the upstream, and the gateway keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storeCounts } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:\n  - { name: api, kind: http, url: "${upstream.url}" }\npolicy:\n  default: allow\n`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** `levels` arrays inside each other, as text (JSON.stringify itself would recurse). */
const nestedArrays = (levels: number, inner = '1') => `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;
const nestedObjects = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const action = (body: string) => `{"connection":"api","input":{"method":"POST","path":"/deep","body":${body}},"reason":"deep"}`;

async function refusedDeep(send: () => Promise<{ status: number; body: any }>) {
  const before = await storeCounts(gw.deps.store);
  const calls = upstream.calls.length;
  const res = await send();
  expect(res.status).toBe(400);
  expect(await storeCounts(gw.deps.store)).toEqual(before);
  expect(upstream.calls.length).toBe(calls);
  return res.body;
}

describe('a REST action nested too deep', () => {
  it('5,000 levels of arrays or objects → 400 INPUT_TOO_DEEP, nothing recorded, the gateway still serves', async () => {
    for (const body of [nestedArrays(5000), nestedObjects(5000), `["]]]]", ${nestedArrays(100)}]`]) {
      const res = await refusedDeep(() => gw.as('deploy-bot', '/v1/actions', { body: action(body) }));
      expect(res.error.code).toBe('INPUT_TOO_DEEP');
      expect(res.error.message).toContain('64 levels');
    }
    const ok = await gw.as('deploy-bot', '/v1/actions', { body: action(nestedArrays(50)) });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('succeeded');
    // Brackets inside strings (escaped quotes too) are text, not nesting.
    const text = await gw.as('deploy-bot', '/v1/actions', { body: action(JSON.stringify({ text: `${'['.repeat(500)}\\"{{{{` })) });
    expect(text.status).toBe(200);
  });

  it('a review body nested too deep is refused the same way', async () => {
    const res = await refusedDeep(() => gw.as('alice', '/v1/requests/req_x/reviews', { body: `{"verdict":"approve","comment":${nestedArrays(5000, '"x"')}}` }));
    expect(res.error.code).toBe('INPUT_TOO_DEEP');
  });
});

describe('an MCP message nested too deep', () => {
  it('tools/call with 5,000-level arguments → 400 and a JSON-RPC error with data.code INPUT_TOO_DEEP', async () => {
    const message = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"api__x","arguments":{"a":${nestedArrays(5000)}}}}`;
    const res = await refusedDeep(async () => {
      const r = await fetch(`${gw.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: message,
      });
      return { status: r.status, body: await r.json() };
    });
    expect(res.jsonrpc).toBe('2.0');
    expect(res.error.data.code).toBe('INPUT_TOO_DEEP');
    const ok = await gw.as('deploy-bot', '/v1/actions', { body: action('1') });
    expect(ok.status).toBe(200);
  });
});

/**
 * A tool result's secrets hide in more than its strings: structured content
 * is JSON, and a tool that serialises what it read can give a credential as
 * an array of byte values (Node's JSON of a Buffer) or, for a numeric one, as
 * a number. Neither reaches the agent, over REST or MCP, nor the request rows
 * or the audit log; nor, through a tool's definition (a default value), the
 * tool listing agents and reviewers read.
 */
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { httpAgent } from '../support/mcp.ts';
import { storedAudit } from '../support/store-view.ts';

const SERVER = fileURLToPath(new URL('../support/structured-echo-mcp.js', import.meta.url));
const API_TOKEN = 'mcp_tok/7Hs9+Kq2=Wd4Lp8Xz';
const ACCOUNT_PIN = '48213957';
const TOKEN_BYTES = [...Buffer.from(API_TOKEN)].join(',');

let gw: TestGateway;
let agent: Client;

beforeAll(async () => {
  gw = await startTestGateway(
    `connections:
  - name: echoing
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}]
    env: { API_TOKEN: "\${API_TOKEN}", ACCOUNT_PIN: "\${ACCOUNT_PIN}" }
policy:
  default: allow
`,
    { env: { API_TOKEN, ACCOUNT_PIN } },
  );
  agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await gw?.stop();
});

const leaks = (text: string) => [API_TOKEN, ACCOUNT_PIN, TOKEN_BYTES].filter((s) => text.replaceAll(' ', '').includes(s));

describe('a tool whose structured content holds its credentials as a byte array and a number', () => {
  it('over REST: nothing of them comes back', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'echoing', input: { tool: 'diagnostics', arguments: {} }, reason: 'diagnostics' } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(leaks(JSON.stringify(res.body))).toEqual([]);
  });

  it('over MCP: nothing of them comes back', async () => {
    const r = await agent.callTool({ name: 'echoing__diagnostics', arguments: {} });
    expect(leaks(JSON.stringify(r))).toEqual([]);
  });

  it('nothing of them is kept in the audit log', async () => {
    const events = JSON.stringify(await storedAudit(gw.deps.store));
    expect(events).toContain('diagnostics');
    expect(leaks(events)).toEqual([]);
  });
});

describe('a tool whose definition holds a numeric credential (its input default)', () => {
  it('is left out of the listing, and a call to it is refused as unknown; the other tools are listed', async () => {
    const { tools } = await agent.listTools();
    expect(leaks(JSON.stringify(tools))).toEqual([]);
    expect(tools.map((t) => t.name).filter((n) => n.startsWith('echoing__')).sort()).toEqual(['echoing__diagnostics', 'echoing__echo']);
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'echoing', input: { tool: 'set_pin', arguments: {} }, reason: 'set' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('UNKNOWN_TOOL');
  });

  it('a plain tool still answers as it did', async () => {
    const r = await agent.callTool({ name: 'echoing__echo', arguments: { text: 'hello' } });
    expect(JSON.stringify(r.content)).toContain('hello');
  });
});

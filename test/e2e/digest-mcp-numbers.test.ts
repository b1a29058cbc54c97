/**
 * Numbers in MCP arguments as the digest binds them: a literal JSON.parse
 * reads as Infinity (1e400) has no canonical form to digest, so the call is
 * refused as bad input before anything is recorded, never a crash (REST's
 * is in bad-input.test.ts).
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { filesystemConnection } from '../support/mcp.ts';

let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'cs-digest-num-')));
  gw = await startTestGateway(
    `connections:
${filesystemConnection('files', dir, '    waitSeconds: 0')}
policy:
  default: deny
  rules:
    - { id: held, when: "true", effect: approve, approvers: [{ groups: [sre], count: 1 }] }
`,
  );
});

afterAll(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An agent whose JSON-RPC bodies have the text `"@N@"` replaced by a raw number literal, as a client in another language may send. */
async function rawAgent(literal: string): Promise<Client> {
  const client = new Client({ name: 'raw-agent', version: '1.0.0' });
  const rewrite: typeof fetch = (url, init) =>
    fetch(url, typeof init?.body === 'string' ? { ...init, body: init.body.replaceAll('"@N@"', literal) } : init);
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', gw.url), { fetch: rewrite, requestInit: { headers: { authorization: `Bearer ${gw.keys['deploy-bot']}` } } }));
  return client;
}

const mine = async () => ((await gw.as('deploy-bot', '/v1/requests?limit=100')).body.requests as { id: string }[]).map((r) => r.id);

describe('a number in MCP arguments', () => {
  it('1e400 is refused INVALID_INPUT and nothing is recorded; the same call with 1 is held as usual', async () => {
    const call = async (literal: string) => {
      const agent = await rawAgent(literal);
      try {
        return await agent.callTool({ name: 'files__read_text_file', arguments: { path: join(dir, 'x'), head: '@N@' } }).then((x) => x, (e: unknown) => e);
      } finally {
        await agent.close();
      }
    };
    expect(await call('1e400')).toMatchObject({ code: -32602, data: { code: 'INVALID_INPUT' } });
    expect(await call('-1e400')).toMatchObject({ code: -32602, data: { code: 'INVALID_INPUT' } });
    expect(await mine()).toEqual([]);
    const held = (await call('1')) as { _meta: Record<string, string> };
    expect(held._meta['countersign/status']).toBe('pending');
    expect(await mine()).toEqual([held._meta['countersign/requestId']]);
  });
});

/**
 * An upstream that answers with a redirect never sends the gateway, with its
 * credentials and the approved call, somewhere else. Either kind of network
 * upstream may redirect (an open redirect on it, a compromised or
 * misconfigured one): an `http` connection hands the 30x back to the agent as
 * the upstream's answer, unfollowed; an `mcp` connection over HTTP refuses it,
 * so the tool is not reached at the other address and the call fails. The
 * other address is a real server here that records every call it gets.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { httpAgent } from '../support/mcp.ts';
import { startMutableUpstream, type MutableUpstream } from '../support/mcp-upstream.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const TOKEN = 'tok_redirect/Q8vLx2Zr7Vb1Kc9';
const API_KEY = 'key-R3d1r3ctW9eQ5tY7u';

/** A server that answers every request with `status` and Location: `to` (plus the request's path for `http`). */
async function startRedirector(status: number, to: string, keepPath: boolean): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits += 1;
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { location: keepPath ? `${to}${req.url ?? ''}` : to, 'content-type': 'text/plain' });
      res.end('moved');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

let elsewhere: Upstream;
let mcpElsewhere: MutableUpstream;
const redirectors: Record<string, { hits(): number; close(): Promise<void> }> = {};
let gw: TestGateway;

beforeAll(async () => {
  elsewhere = await startUpstream();
  mcpElsewhere = await startMutableUpstream();
  const http307 = await startRedirector(307, elsewhere.url, true);
  const http302 = await startRedirector(302, elsewhere.url, true);
  const mcp307 = await startRedirector(307, mcpElsewhere.url, false);
  const mcp308 = await startRedirector(308, mcpElsewhere.url, false);
  Object.assign(redirectors, { api307: http307, api302: http302, tools307: mcp307, tools308: mcp308 });
  gw = await startTestGateway(
    `connections:
  - name: api307
    kind: http
    url: ${http307.url}
    headers: { Authorization: "Bearer \${TOKEN}", X-Api-Key: "\${API_KEY}" }
  - name: api302
    kind: http
    url: ${http302.url}
    headers: { Authorization: "Bearer \${TOKEN}", X-Api-Key: "\${API_KEY}" }
  - name: tools307
    kind: mcp
    url: ${mcp307.url}/mcp
    headers: { Authorization: "Bearer \${TOKEN}", X-Api-Key: "\${API_KEY}" }
  - name: tools308
    kind: mcp
    url: ${mcp308.url}/mcp
    headers: { Authorization: "Bearer \${TOKEN}", X-Api-Key: "\${API_KEY}" }
policy:
  default: allow
`,
    { env: { TOKEN, API_KEY } },
  );
});

afterAll(async () => {
  await gw?.stop();
  for (const r of Object.values(redirectors)) await r.close();
  await elsewhere?.close();
  await mcpElsewhere?.close();
});

/** Whether any call the other address received carried a credential of the connections. */
function credentialSeen(headers: readonly Record<string, string | string[] | undefined>[]): boolean {
  return headers.some((h) => JSON.stringify(h).includes(API_KEY) || JSON.stringify(h).includes(TOKEN));
}

describe('an http connection whose upstream redirects', () => {
  it.each(['api307', 'api302'])('%s: the agent gets the redirect as the answer; nothing reaches the other address', async (connection) => {
    const res = await gw.as('deploy-bot', '/v1/actions', {
      body: { connection, input: { method: 'POST', path: '/refunds', body: { amount: 5 } }, reason: 'refund' },
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.status).toBe(connection === 'api307' ? 307 : 302);
    expect(elsewhere.calls).toEqual([]);
  });
});

describe('an mcp connection over HTTP whose upstream redirects', () => {
  it('lists no tool from the other address, and sends it neither the call nor the credentials', async () => {
    const agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
    try {
      // tools/list lists every upstream again, following nothing.
      const listed = (await agent.listTools()).tools.map((t) => t.name);
      expect(redirectors['tools307']!.hits()).toBeGreaterThan(0);
      expect(redirectors['tools308']!.hits()).toBeGreaterThan(0);
      expect(listed).not.toContain('tools307__greet');
      expect(listed).not.toContain('tools308__greet');
      for (const connection of ['tools307', 'tools308']) {
        const res = await gw.as('deploy-bot', '/v1/actions', {
          body: { connection, input: { tool: 'greet', arguments: { name: 'mallory' } }, reason: 'greet' },
        });
        expect(res.status).not.toBe(200);
      }
      expect(mcpElsewhere.calls).toEqual([]);
      expect(credentialSeen(mcpElsewhere.headers)).toBe(false);
      expect(mcpElsewhere.headers).toEqual([]);
    } finally {
      await agent.close();
    }
  });
});

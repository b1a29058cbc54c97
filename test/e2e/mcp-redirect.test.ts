/**
 * An `mcp` connection over HTTP is approved as a call to its configured
 * `url` (README: a connection pointed elsewhere is not the one reviewers
 * approved a run on). An answer that redirects elsewhere (another origin: a
 * port, a host) must not carry the call there: fetch follows 307/308 by
 * default and re-sends the POST (the tool call and its arguments) with every
 * header but Authorization, so a credential in another header would reach
 * the other origin too. Held: the MCP SDK's transport follows redirects within
 * the url's origin only, so the upstream lists no tools, the call is refused
 * as unknown, and nothing reaches the other server.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { httpAgent } from '../support/mcp.ts';
import { startMutableUpstream, type MutableUpstream } from '../support/mcp-upstream.ts';

const API_KEY = 'mcp-key-Zq8Lm2Xv4Pw7';

let elsewhere: MutableUpstream;
let front: Server;
let gw: TestGateway;

beforeAll(async () => {
  elsewhere = await startMutableUpstream();
  // The configured url: answers every request with a redirect to the MCP server on another port.
  front = createServer((req, res) => {
    res.writeHead(req.url === '/mcp-308' ? 308 : 307, { location: elsewhere.url });
    res.end();
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const port = (front.address() as { port: number }).port;
  gw = await startTestGateway(
    `connections:
  - name: moved
    kind: mcp
    url: http://127.0.0.1:${port}/mcp
    headers: { X-Api-Key: "\${API_KEY}" }
  - name: moved308
    kind: mcp
    url: http://127.0.0.1:${port}/mcp-308
    headers: { X-Api-Key: "\${API_KEY}" }
policy:
  default: allow
`,
    { env: { API_KEY } },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => {
    front?.close(() => r());
    front?.closeAllConnections();
  });
  await elsewhere?.close();
});

describe('an MCP upstream url that redirects to another origin (held)', () => {
  it.each(['moved', 'moved308'])('%s: the call does not run, and nothing (nor the credential) reaches the other server', async (connection) => {
    // A listing first (what an agent's tools/list does), so the call is judged against what the upstream listed.
    const agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
    const listed = await agent.listTools();
    await agent.close();
    expect(listed.tools.map((t) => t.name)).not.toContain(`${connection}__greet`);
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input: { tool: 'greet', arguments: { name: 'x' } }, reason: 'probe' } });
    expect(res.body.status).not.toBe('succeeded');
    expect(elsewhere.calls).toEqual([]);
    expect(elsewhere.headers.filter((h) => h['x-api-key'] !== undefined)).toEqual([]);
  });
});

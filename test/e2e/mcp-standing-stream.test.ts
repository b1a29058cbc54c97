/**
 * The standing GET stream (server-sent events) of an upstream MCP server
 * over HTTP carries its notifications for as long as the session lasts, so
 * its total is not bounded as a call's answer is. One event still is: an
 * upstream that streams one event forever (no blank line ever ends it) made
 * the gateway's SSE parser buffer all of it. Past 10 MiB in one event (the
 * bound of a call's answer) the stream is cut (and no new standing stream is
 * opened to that upstream: isolating-fetch.test.ts); its calls go on.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';

const MiB = 1024 * 1024;
/** What the upstream means to send in its one event, unless the gateway stops reading. */
const MEANT = 256 * MiB;

/** Each standing stream the upstream answered: bytes written, and whether the gateway closed it before the end. */
const streams: { written: number; closedEarly: boolean; done: boolean }[] = [];
let http: Server;
let url = '';
let gw: TestGateway;

/** One event that never ends: `data: xxxx…`, written as fast as the gateway reads it. */
async function endlessEvent(res: ServerResponse): Promise<void> {
  const s = { written: 0, closedEarly: false, done: false };
  streams.push(s);
  res.on('close', () => {
    if (!s.done) s.closedEarly = true;
  });
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write('retry: 1\nevent: message\ndata: ');
  const chunk = 'x'.repeat(64 * 1024);
  while (s.written < MEANT && !s.closedEarly) {
    const more = res.write(chunk);
    s.written += chunk.length;
    if (!more) await new Promise<void>((r) => { res.once('drain', r); res.once('close', r); });
  }
  s.done = !s.closedEarly;
}

beforeAll(async () => {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  http = createServer(async (req, res) => {
    if (req.method === 'GET') return endlessEvent(res);
    const id = req.headers['mcp-session-id'];
    const known = typeof id === 'string' ? sessions.get(id) : undefined;
    if (known) return known.handleRequest(req, res);
    const server = new McpServer({ name: 'endless', version: '1.0.0' });
    server.registerTool('greet', { description: 'Greets.', inputSchema: { name: z.string() }, annotations: { readOnlyHint: true } }, async ({ name }) => ({ content: [{ type: 'text', text: `hello, ${name}` }] }));
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => {
        sessions.set(sid, transport);
      } });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const a = http.address();
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/mcp`;
  gw = await startTestGateway(`connections:
  - name: endless
    kind: mcp
    url: ${url}
policy:
  default: allow
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  http?.closeAllConnections();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
});

describe('an upstream whose standing stream sends one event forever', () => {
  it('is cut a little past 10 MiB and not read on; calls still work', { timeout: 120_000 }, async () => {
    const first = await eventually(async () => streams.find((s) => s.closedEarly || s.done), 60_000);
    expect(first.done).toBe(false);
    expect(first.closedEarly).toBe(true);
    // The bound and what sockets and the stream's queue hold in flight.
    expect(first.written).toBeLessThan(32 * MiB);
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'endless', input: { tool: 'greet', arguments: { name: 'ann' } }, reason: 'e2e' } });
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.content[0].text).toBe('hello, ann');
  });
});

/**
 * An upstream MCP server can send `notifications/tools/list_changed` as fast
 * as its standing stream carries them. Each one started a tool sync of its
 * own: while one listing was in flight every further notification waited on
 * it with a sync of its own, so a flood held as many pending syncs (and then
 * as many store reads, or failures logged) as it sent notifications, without
 * bound. Notifications that come while a sync runs now make one more sync
 * after it, however many they are.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';

const FLOOD = 2000;
let http: Server;
let gw: TestGateway;
/** Listings asked and answered (each past the first with an error, after 200 ms), and whether the flood was all written. */
const state = { listings: 0, answered: 0, flooded: false };
const warnings: string[] = [];

async function bodyOf(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

beforeAll(async () => {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  http = createServer(async (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // After the gateway's first listing (which succeeds): the flood then meets listings that fail.
      while (state.listings === 0) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n\n'.repeat(FLOOD), () => {
        state.flooded = true;
      });
      return;
    }
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    const body = (await bodyOf(req)) as { id?: number; method?: string };
    if (body.method === 'tools/list' && state.listings++ > 0) {
      await new Promise((r) => setTimeout(r, 200));
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, error: { code: -32603, message: 'listing unavailable' } }), () => {
        state.answered++;
      });
    }
    const id = req.headers['mcp-session-id'];
    const known = typeof id === 'string' ? sessions.get(id) : undefined;
    if (known) return known.handleRequest(req, res, body);
    const server = new McpServer({ name: 'flood', version: '1.0.0' });
    server.registerTool('greet', { description: 'Greets.', inputSchema: { name: z.string() }, annotations: { readOnlyHint: true } }, async ({ name }) => ({ content: [{ type: 'text', text: `hello, ${name}` }] }));
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        sessions.set(sid, transport);
      },
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const a = http.address();
  const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/mcp`;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.includes('listing an MCP upstream failed')) warnings.push(line);
      done();
    },
  });
  gw = await startTestGateway(
    `connections:
  - name: flood
    kind: mcp
    url: ${url}
policy:
  default: allow
`,
    { logger: pino({ level: 'warn' }, sink) },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  http?.closeAllConnections();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
});

describe('a flood of tools/list_changed notifications', () => {
  it('makes a few syncs, not one per notification', { timeout: 60_000 }, async () => {
    // The whole flood sent, a failing listing answered since, and the failure of every listing answered logged.
    await eventually(async () => (state.flooded && state.answered > 0 && warnings.length >= state.answered ? true : undefined), 30_000);
    expect(warnings.length).toBeLessThan(20);
  });
});

/**
 * A small MCP server whose tool definitions the test controls, served over
 * streamable HTTP on 127.0.0.1 with the SDK's McpServer: the upstream for
 * tool-pinning tests (the definitions of a third-party server cannot be
 * changed mid-test). Stateful sessions, so a definition change reaches the
 * gateway as notifications/tools/list_changed, the way a real server sends it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { McpServer, type RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export interface MutableUpstream {
  url: string;
  /** Every call of `greet`, with its arguments, in order. */
  calls: { name: string }[];
  /** Headers of every HTTP request received. */
  headers: Record<string, string | string[] | undefined>[];
  /** Changes greet's description in every session (each sends tools/list_changed). */
  setDescription(text: string): void;
  /** Changes greet's annotations in every session (each sends tools/list_changed). */
  setAnnotations(annotations: GreetAnnotations): void;
  /** Gives greet a title in every session (each sends tools/list_changed). */
  setTitle(text: string): void;
  close(): Promise<void>;
}

export type GreetAnnotations = { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };

export async function startMutableUpstream(
  description = 'Greets someone by name.',
  annotations: GreetAnnotations = { readOnlyHint: true, openWorldHint: false },
): Promise<MutableUpstream> {
  const calls: { name: string }[] = [];
  const headers: MutableUpstream['headers'] = [];
  const urls: string[] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; greet: RegisteredTool }>();
  let current = description;
  let currentAnnotations = annotations;
  let currentTitle: string | undefined;

  function newSession(): { server: McpServer; greet: RegisteredTool } {
    const server = new McpServer({ name: 'mutable-upstream', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    const greet = server.registerTool(
      'greet',
      { ...(currentTitle !== undefined ? { title: currentTitle } : {}), description: current, inputSchema: { name: z.string() }, annotations: currentAnnotations },
      async ({ name }) => {
        calls.push({ name });
        // A name like "slow:300" makes the call take that many ms, for tests of what happens meanwhile.
        const slow = /^slow:(\d+)$/.exec(name);
        if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
        // A name like "big:1048576" makes the answer's text that many characters long.
        const big = /^big:(\d+)$/.exec(name);
        if (big) return { content: [{ type: 'text', text: 'x'.repeat(Number(big[1])) }] };
        // "url": the answer quotes the URL the call came to (its query too), as a server's debug echo would.
        if (name === 'url') return { content: [{ type: 'text', text: `hello from ${urls.at(-1) ?? ''}` }] };
        return { content: [{ type: 'text', text: `hello, ${name}` }] };
      },
    );
    return { server, greet };
  }

  const http: Server = createServer(async (req, res) => {
    headers.push(req.headers);
    urls.push(req.url ?? '');
    const id = req.headers['mcp-session-id'];
    const known = typeof id === 'string' ? sessions.get(id) : undefined;
    if (known) {
      await known.transport.handleRequest(req, res);
      return;
    }
    const { server, greet } = newSession();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        sessions.set(sid, { transport, greet });
      },
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    headers,
    setDescription(text) {
      current = text;
      for (const s of sessions.values()) s.greet.update({ description: text });
    },
    setAnnotations(next) {
      currentAnnotations = next;
      for (const s of sessions.values()) s.greet.update({ annotations: next });
    },
    setTitle(text) {
      currentTitle = text;
      for (const s of sessions.values()) s.greet.update({ title: text });
    },
    async close() {
      for (const s of sessions.values()) await s.transport.close().catch(() => {});
      await new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections();
      });
    },
  };
}

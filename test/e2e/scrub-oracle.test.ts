/**
 * What the gateway takes out of an answer must not tell an agent whether text
 * of its own choosing is part of a credential. An upstream or a command that
 * echoes the agent's input puts that text where the gateway cuts (a long
 * content type, a body or output past its bound) or where it scrubs. Were a
 * cut to drop a tail because it begins a secret (3 characters were enough), or
 * the scrubber to redact any 10 characters of a token wherever they start, the
 * agent could read the secret on one character at a time from what comes back
 * (a bearer token's known start, `Bearer tok_live_`, is enough to begin), with
 * a few dozen calls a character. At a cut, a right and a wrong guess come back
 * alike; in a scrubbed echo, a guess answers at most one character in four.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

const TOKEN = 'tok_live_9fQx2Lm7Zr4Vb1Kc8Hd3Wy';
const MCP_TOKEN = 'mcp-Zq8Lm2Xv4Pw7Hs';
const SDK = join(process.cwd(), 'node_modules/@modelcontextprotocol/sdk/dist/esm');
// A stdio MCP server whose one tool answers with a JSON-RPC error quoting its argument (as servers quote a bad value).
const ERROR_START = 'MCP error -32602: MCP error -32602: no such key: ';
const LOOKUP_SERVER = `
import { Server } from ${JSON.stringify(`${SDK}/server/index.js`)};
import { StdioServerTransport } from ${JSON.stringify(`${SDK}/server/stdio.js`)};
import { CallToolRequestSchema, ListToolsRequestSchema, McpError } from ${JSON.stringify(`${SDK}/types.js`)};
const server = new Server({ name: 'lookup', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [{ name: 'lookup', inputSchema: { type: 'object', properties: { key: { type: 'string' } } }, annotations: { readOnlyHint: true } }] }));
server.setRequestHandler(CallToolRequestSchema, async (r) => { throw new McpError(-32602, 'no such key: ' + r.params.arguments.key); });
await server.connect(new StdioServerTransport());
`;
const TOOL_SECRET = 'Pw0rd-4u-9z';
const MiB = 1_048_576;

let dir: string;
let upstream: Server;
let gw: TestGateway;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-oracle-'));
  const tool = join(dir, 'tool');
  // Echoes its arguments, one a line, then prints its credential.
  writeFileSync(tool, '#!/bin/sh\nprintf \'%s\\n\' "$@"\nprintf \'%s\\n\' "$API_TOKEN"\n');
  chmodSync(tool, 0o755);
  writeFileSync(join(dir, 'lookup.mjs'), LOOKUP_SERVER);
  // Sets the content type it is asked for (as httpbin's /response-headers does) and echoes `q` in its body.
  upstream = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.writeHead(200, { 'content-type': url.searchParams.get('ct') ?? 'application/json' });
    res.end(JSON.stringify({ q: url.searchParams.get('q') ?? '' }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as { port: number }).port;
  gw = await startTestGateway(
    `connections:
  - name: api
    kind: http
    url: http://127.0.0.1:${port}
    headers: { Authorization: "Bearer \${TOKEN}" }
  - name: tool
    kind: exec
    command: ${JSON.stringify(tool)}
    env: { API_TOKEN: "\${TOOL_SECRET}" }
  - name: lookup
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(dir, 'lookup.mjs'))}]
    env: { API_TOKEN: "\${MCP_TOKEN}" }
policy:
  default: allow
`,
    { env: { TOKEN, TOOL_SECRET, MCP_TOKEN }, server: 'bodyLimitBytes: 4194304' },
  );
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => {
    upstream?.close(() => r());
    upstream?.closeAllConnections();
  });
  rmSync(dir, { recursive: true, force: true });
});

async function get(query: Record<string, string>): Promise<{ contentType: string; body: unknown }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', path: '/echo', query }, reason: 'probe' } });
  expect(res.status).toBe(200);
  expect(res.body.status).toBe('succeeded');
  return res.body.result;
}

describe('cuts and redactions that would answer a guess', () => {
  it('a content type cut at 200 characters: a guess of the start of the credential at the cut comes back as a wrong one does', async () => {
    // The guess ends at the 200th character; more follows, so the value is cut there.
    const ct = (guess: string) => `text/plain; x=${'a'.repeat(200 - 'text/plain; x='.length - guess.length)}${guess}-and-more`;
    const right = await get({ ct: ct(`Bearer ${TOKEN.slice(0, 4)}`) });
    const wrong = await get({ ct: ct('Bearer zzzz') });
    expect(right.contentType.length).toBe(wrong.contentType.length);
  });

  it('a token known by its first characters cannot be read on one character at a time from what the scrubber redacts', async () => {
    // The agent echoes the last 8 characters it knows and one guess; it learns the next character when only the right guess is redacted.
    let learned = 0;
    for (let known = 'tok_live_'.length; known < TOKEN.length; known++) {
      const probe = (c: string) => get({ q: `${TOKEN.slice(known - 8, known)}${c}` });
      const right = JSON.stringify((await probe(TOKEN[known]!)).body).includes('[redacted]');
      const wrong = JSON.stringify((await probe(TOKEN[known] === '#' ? '!' : '#')).body).includes('[redacted]');
      if (right !== wrong) learned++;
    }
    // At most one character in four: past it lies a piece of the token with 4 characters it would have to guess at once.
    expect(learned).toBeLessThanOrEqual(Math.ceil((TOKEN.length - 'tok_live_'.length) / 4));
  });

  it('an MCP error cut at 500 characters: a guess of the start of the credential at the cut comes back as a wrong one does', async () => {
    const call = async (guess: string) => {
      // The error as the SDK words it, then the key: the guess ends at the 500th character, and more follows.
      const key = `${'k'.repeat(500 - ERROR_START.length - guess.length)}${guess}-and-more`;
      const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'lookup', input: { tool: 'lookup', arguments: { key } }, reason: 'probe' } });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('failed');
      return JSON.stringify(res.body.result);
    };
    const right = await call(MCP_TOKEN.slice(0, 6));
    const wrong = await call('zzzzzz');
    expect(right).toContain(`${ERROR_START}kkk`);
    expect(right.length).toBe(wrong.length);
  });

  it('output cut at 1 MiB with the agent’s own guess at the cut: a right guess of the credential’s start comes back as a wrong one does', async () => {
    const run = async (guess: string) => {
      const args: string[] = [];
      for (let left = MiB - guess.length; left > 0; left -= 65_536) args.push('x'.repeat(Math.min(left, 65_536) - 1));
      const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'tool', input: { args: [...args, guess] }, reason: 'probe' } });
      expect(res.status).toBe(200);
      expect(res.body.error.message).toMatch(/exceeded 1 MiB/);
      return res.body.result.stdout as string;
    };
    const right = await run(TOOL_SECRET.slice(0, 5));
    const wrong = await run('Qz9#x');
    expect(right.length).toBe(wrong.length);
    expect(right.length).toBeGreaterThan(MiB - 65_536);
  });
});

/**
 * An `mcp` connection's secrets (its env values) never come back through a
 * tool result, whatever form the upstream returns them in: a real filesystem
 * server reads files holding the secret escaped, percent-encoded, base64 at
 * any alignment, hex or HTML character references. Checked in what the agent gets, in the request rows and in the audit log.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { filesystemConnection, httpAgent } from '../support/mcp.ts';
import { startMutableUpstream } from '../support/mcp-upstream.ts';
import { readDb } from '../support/sqlite.ts';

const TOKEN = 'mcp_tok/7Hs9+Kq2=Wd4Lp8Xz';

let dir: string;
let gw: TestGateway;
let agent: Client;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const FILES: Record<string, string> = {
  'json.txt': JSON.stringify({ env: { API_TOKEN: TOKEN } }).replaceAll('/', '\\/'),
  'unicode.txt': [...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  'percent.txt': `x=${encodeURIComponent(TOKEN)}`,
  'base64.txt': b64(`{"API_TOKEN":"${TOKEN}"}`),
  'base64-offset.txt': b64(`##${TOKEN}`),
  'base64url.txt': Buffer.from(`#${TOKEN}`).toString('base64url'),
  'hex.txt': Buffer.from(TOKEN).toString('hex').toUpperCase(),
  'html.txt': [...TOKEN].map((c) => `&#${c.charCodeAt(0)};`).join(''),
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-mcp-echo-'));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
  gw = await startTestGateway(`connections:\n${filesystemConnection('files', dir, `    env: { API_TOKEN: "${TOKEN}" }`)}\npolicy:\n  default: allow\n`);
  agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function forms(s: string): string[] {
  const b = Buffer.from(s);
  const aligned = (k: number, url: boolean) => {
    const e = Buffer.concat([Buffer.alloc(k), b]).toString(url ? 'base64url' : 'base64');
    return e.slice(Math.ceil((4 * k) / 3), Math.floor((4 * (k + b.length)) / 3));
  };
  const out = [s, encodeURIComponent(s), s.replaceAll('/', '\\/'), b.toString('hex'), b.toString('hex').toUpperCase()];
  for (const k of [0, 1, 2]) out.push(aligned(k, false), aligned(k, true));
  for (let i = 0; i + 12 <= s.length; i++) out.push(s.slice(i, i + 12));
  return [...new Set(out)];
}
const leaks = (text: string) => forms(TOKEN).filter((f) => text.includes(f));

/**
 * A gateway with one stdio MCP connection, `broken`, running `script` under /bin/sh with TOKEN in its environment:
 * lists the tools and calls one (both fail), and hands `check` everything the agent and the debug log saw.
 */
async function brokenStdio(script: string, check: (seen: string, gw: TestGateway) => void): Promise<void> {
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const g = await startTestGateway(
    `connections:\n  - name: broken\n    kind: mcp\n    command: /bin/sh\n    args: ["-c", ${JSON.stringify(script)}]\n    env: { API_TOKEN: "${TOKEN}" }\npolicy:\n  default: allow\n`,
    { logger },
  );
  const a = await httpAgent(g.url, g.keys['deploy-bot']!);
  try {
    // tools/list lists every upstream again; this one fails, and says why in the log.
    await a.listTools();
    const called = await a.callTool({ name: 'broken__anything', arguments: {} }).catch((e: unknown) => String(e));
    check([...logs, JSON.stringify(called)].join('\n'), g);
  } finally {
    await a.close();
    await g.stop();
  }
}

describe('a tool result holding the connection’s secret', () => {
  it.each(Object.keys(FILES))('%s: nothing of it comes back', async (file) => {
    const r = await agent.callTool({ name: 'files__read_text_file', arguments: { path: join(dir, file) } });
    const text = JSON.stringify(r);
    expect(leaks(text), text.slice(0, 300)).toEqual([]);
    expect(text).toContain('[redacted]');
  });

  it('nothing of it is kept in the request rows or the audit log', () => {
    const kept = readDb(gw.dbPath, (db) => JSON.stringify([db.prepare('SELECT * FROM requests').all(), db.prepare('SELECT body FROM audit_events').all()]));
    expect(kept).toContain('read_text_file');
    expect(leaks(kept)).toEqual([]);
  });
});

describe('a tool definition holding the connection’s secret', () => {
  it('is scrubbed before agents (tools/list) or reviewers see it', async () => {
    const echoing = await startMutableUpstream(`Greets. Debug: sent with authorization Bearer ${TOKEN} (base64 ${b64(TOKEN)})`);
    const g = await startTestGateway(`connections:\n  - name: greeter\n    kind: mcp\n    url: ${echoing.url}\n    headers: { Authorization: "Bearer ${TOKEN}" }\npolicy:\n  default: allow\n`);
    const a = await httpAgent(g.url, g.keys['deploy-bot']!);
    try {
      expect(echoing.headers.some((h) => h.authorization === `Bearer ${TOKEN}`)).toBe(true);
      const listed = JSON.stringify(await a.listTools());
      expect(listed).toContain('greeter__greet');
      expect(leaks(listed)).toEqual([]);
      expect(listed).toContain('[redacted]');
      const reviewed = JSON.stringify((await g.as('alice', '/v1/mcp/tools?connection=greeter')).body);
      expect(reviewed).toContain('greet');
      expect(leaks(reviewed)).toEqual([]);
    } finally {
      await a.close();
      await g.stop();
      await echoing.close();
    }
  });
});

describe('an upstream that fails with the connection’s secret in what it says', () => {
  it('a server that prints its credential to stderr and dies: nothing of it reaches the log, the agent or the store', async () => {
    await brokenStdio('echo "auth failed for API_TOKEN=$API_TOKEN (b64 $(printf %s "$API_TOKEN" | base64))" >&2; exit 3', (seen, g) => {
      expect(seen).toContain('listing an MCP upstream failed');
      expect(seen).toContain('auth failed for API_TOKEN=');
      expect(leaks(seen), seen.slice(0, 600)).toEqual([]);
      expect(leaks(readDb(g.dbPath, (db) => JSON.stringify([db.prepare('SELECT * FROM requests').all(), db.prepare('SELECT body FROM audit_events').all()])))).toEqual([]);
    });
  });

  it('an HTTP server whose refusal echoes the credential it was sent: nothing of it reaches the log', async () => {
    const logs: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(`bad credential: ${req.headers.authorization ?? ''}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const g = await startTestGateway(`connections:\n  - name: refusing\n    kind: mcp\n    url: http://127.0.0.1:${port}/mcp\n    headers: { Authorization: "Bearer ${TOKEN}" }\npolicy:\n  default: allow\n`, { logger });
    const a = await httpAgent(g.url, g.keys['deploy-bot']!);
    try {
      await a.listTools();
      const seen = logs.join('\n');
      expect(seen).toContain('listing an MCP upstream failed');
      expect(seen).toContain('bad credential');
      expect(leaks(seen), seen.slice(0, 600)).toEqual([]);
    } finally {
      await a.close();
      await g.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    }
  });
});

describe('an upstream whose stderr tail begins inside the secret', () => {
  it('the end of the secret at the start of the kept tail reaches neither the log nor the agent', async () => {
    // The secret, then just enough after it that the last 2048 characters kept begin with its last 9 (under a scrubbed fragment).
    await brokenStdio('printf "token %s\\n" "$API_TOKEN" >&2; printf "%2038s" "" | tr " " "x" >&2; exit 3', (seen) => {
      expect(seen).toContain('listing an MCP upstream failed');
      expect(seen).toContain('xxxxxxxx');
      expect(seen).not.toContain(TOKEN.slice(-9));
    });
  });
});

/** The MCP gateway with the agent on streamable HTTP at /mcp. */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { filesystemConnection, httpAgent } from '../support/mcp.ts';
import { counts } from '../support/sqlite.ts';
import { mcpGatewaySuite } from './mcp-scenarios.ts';

mcpGatewaySuite('http');

describe('the /mcp endpoint at its edges, and MCP connections over REST', () => {
  let dir: string;
  let gw: TestGateway;

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'cs-mcp-edges-')));
    writeFileSync(join(dir, 'a.txt'), 'alpha\n');
    gw = await startTestGateway(`connections:\n${filesystemConnection('files', dir)}\npolicy:\n  default: deny\n  rules:\n    - { id: reads, when: facts.mcp.annotations.readOnlyHint, effect: allow }\n`);
  });

  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });

  it('refuses a caller without a key (401, as /v1 does) and answers GET with 405 (no sessions)', async () => {
    const res = await post('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await res.json()) as { error: { code: unknown } }).error.code).toBe('UNAUTHENTICATED');
    const get = await fetch(`${gw.url}/mcp`, { headers: { authorization: `Bearer ${gw.keys['deploy-bot']}` } });
    expect(get.status).toBe(405);
  });

  it('answers a body that is not JSON with the JSON-RPC parse error', async () => {
    const res = await post('{not json', { authorization: `Bearer ${gw.keys['deploy-bot']}` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: unknown } }).error.code).toBe(-32700);
  });

  it('answers an unknown tool with a JSON-RPC invalid-params error carrying the stable code', async () => {
    const agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
    try {
      const e = await agent.callTool({ name: 'files__rm_rf', arguments: {} }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(McpError);
      expect(e).toMatchObject({ code: -32602, data: { code: 'UNKNOWN_TOOL' } });
      const bare = await agent.callTool({ name: 'read_text_file', arguments: {} }).catch((err: unknown) => err);
      expect(bare).toMatchObject({ code: -32602, data: { code: 'UNKNOWN_TOOL' } });
    } finally {
      await agent.close();
    }
  });

  it('lists tools while another process holds the store\'s write lock: a listing that changes nothing writes nothing', async () => {
    const agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
    const writer = new Database(gw.dbPath);
    try {
      expect((await agent.listTools()).tools.map((t) => t.name)).toContain('files__read_text_file');
      const before = counts(gw.dbPath).audit;
      writer.exec('BEGIN IMMEDIATE');
      expect((await agent.listTools()).tools.map((t) => t.name)).toContain('files__read_text_file');
      writer.exec('ROLLBACK');
      expect(counts(gw.dbPath).audit).toBe(before);
    } finally {
      if (writer.inTransaction) writer.exec('ROLLBACK');
      writer.close();
      await agent.close();
    }
    // Not a speed figure: waiting for the lock means the store's busy timeout (10 s), which this bound rules out.
  }, 5000);

  it('runs the same action submitted over REST: same use case, same policy', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'files', input: { tool: 'read_text_file', arguments: { path: join(dir, 'a.txt') } }, reason: 'read a' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'succeeded', action: { operation: 'tools/call' }, result: { content: [{ type: 'text', text: 'alpha\n' }] } });
    const denied = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'files', input: { tool: 'write_file', arguments: { path: join(dir, 'b.txt'), content: 'x' } }, reason: 'write b' } });
    expect(denied.status).toBe(403);
  });
});

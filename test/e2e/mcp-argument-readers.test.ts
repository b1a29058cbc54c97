/**
 * Arguments an upstream reads otherwise than policy does.
 *
 * A `__proto__` key inside a tool's arguments. JSON.parse keeps it as a key
 * like any other, so policy reads `{"opts":{"__proto__":{"mode":"apply"}}}`
 * as options without a mode; but an upstream in JavaScript that copies the
 * options onto its defaults by assignment (`Object.assign({}, opts)`, a
 * `for…in` copy) makes that object their prototype, and reads `mode` as
 * `apply`. The gateway refuses such arguments before policy, as it refuses
 * keys that a case-insensitive reader takes for one. Sent as raw JSON-RPC
 * over /mcp and as REST, to a real upstream that copies its options so.
 *
 * A value of another JSON type than the tool's inputSchema declares: the
 * Python SDK's FastMCP validates arguments with pydantic, which converts
 * `"true"`, `1` or `"yes"` to `True` for a boolean parameter, while policy
 * compares the string or number it was sent (`force == true` does not match
 * `"true"`). Such arguments are refused before policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startStatelessMcp, type StatelessMcp } from '../support/stateless-mcp.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/** The mode each call of `sync` acted on. */
const modes: string[] = [];
/** Whether each call of `wipe` forced, as pydantic's lax mode reads a boolean. */
const forced: boolean[] = [];
const LAX_TRUE = new Set<unknown>([true, 1, '1', 'true', 'True', 'yes', 'on', 't', 'y']);
let upstream: StatelessMcp | undefined;
let gw: TestGateway;

/** A stateless upstream with one tool, `sync`, that copies its options onto an empty object by assignment and reads `mode`. */
async function startUpstream(): Promise<string> {
  upstream = await startStatelessMcp(() => {
    const server = new Server({ name: 'sync-upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [
        { name: 'sync', description: 'Syncs; mode dry-run unless told otherwise.', inputSchema: { type: 'object', properties: { opts: { type: 'object' } } } },
        // As FastMCP lists `def wipe(path: str, force: bool = False, keep: Optional[int] = None)`.
        {
          name: 'wipe',
          description: 'Wipes a path.',
          inputSchema: {
            type: 'object',
            properties: { path: { type: 'string' }, force: { type: 'boolean', default: false }, keep: { anyOf: [{ type: 'integer' }, { type: 'null' }], default: null } },
            required: ['path'],
          },
        },
      ],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (r) => {
      if (r.params.name === 'wipe') {
        forced.push(LAX_TRUE.has(r.params.arguments?.['force']));
        return { content: [{ type: 'text', text: 'wiped' }] };
      }
      const opts = Object.assign({}, (r.params.arguments?.['opts'] ?? {}) as Record<string, unknown>);
      const mode = typeof opts['mode'] === 'string' ? opts['mode'] : 'dry-run';
      modes.push(mode);
      return { content: [{ type: 'text', text: `synced (${mode})` }] };
    });
    return server;
  });
  return upstream.url;
}

beforeAll(async () => {
  const url = await startUpstream();
  gw = await startTestGateway(`connections:
  - name: ops
    kind: mcp
    url: ${url}
    waitSeconds: 1
    pinning: { onChange: allow }
policy:
  default: deny
  rules:
    - id: wipes-without-force
      when: facts.mcp.tool == "wipe" && !(has(facts.mcp.arguments.force) && facts.mcp.arguments.force == true)
      effect: allow
    - id: dry-runs-only
      when: facts.mcp.tool == "sync" && (!has(facts.mcp.arguments.opts) || !has(facts.mcp.arguments.opts.mode) || facts.mcp.arguments.opts.mode == "dry-run")
      effect: allow
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function rpc(text: string): Promise<any> {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: text,
  });
  return res.json();
}

const call = (id: number, args: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"ops__sync","arguments":${args}}}`;

describe('a __proto__ key nested in a tool call’s arguments', () => {
  beforeAll(async () => {
    const listed = await rpc('{"jsonrpc":"2.0","id":0,"method":"tools/list","params":{}}');
    expect(listed.result.tools.map((t: { name: string }) => t.name)).toContain('ops__sync');
  });

  it('a plain dry run is allowed and runs as policy read it', async () => {
    const res = await rpc(call(1, '{"opts":{"mode":"dry-run"}}'));
    expect(res.result._meta['countersign/status']).toBe('succeeded');
    expect(modes).toEqual(['dry-run']);
  });

  it('over MCP: refused before policy, at any depth; the upstream is not called', async () => {
    for (const [n, args] of [
      [2, '{"opts":{"__proto__":{"mode":"apply"}}}'],
      [3, '{"opts":{"mode":"dry-run","extra":[{"__proto__":{"force":true}}]}}'],
    ] as const) {
      const res = await rpc(call(n, args));
      expect(res.error, args).toMatchObject({ code: -32602, data: { code: 'INPUT_UNPARSEABLE' } });
    }
    expect(modes).toEqual(['dry-run']);
  });

  it('over REST: refused with 422, nothing recorded as run', async () => {
    const raw = '{"connection":"ops","input":{"tool":"sync","arguments":{"opts":{"__proto__":{"mode":"apply"}}}},"reason":"probe"}';
    const res = await gw.as('deploy-bot', '/v1/actions', { body: raw });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(modes).toEqual(['dry-run']);
  });
});

describe('a value of another type than the tool declares', () => {
  it('is refused before policy, over MCP and REST; values of the declared types run as before', async () => {
    const ok = await rpc(`{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"ops__wipe","arguments":{"path":"/tmp/x","force":false,"keep":null}}}`);
    expect(ok.result._meta['countersign/status']).toBe('succeeded');
    const kept = await rpc(`{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"ops__wipe","arguments":{"path":"/tmp/x","keep":3}}}`);
    expect(kept.result._meta['countersign/status']).toBe('succeeded');
    for (const [n, args] of [
      [12, '{"path":"/tmp/x","force":"true"}'],
      [13, '{"path":"/tmp/x","force":1}'],
      [14, '{"path":"/tmp/x","keep":"3"}'],
    ] as const) {
      const res = await rpc(`{"jsonrpc":"2.0","id":${n},"method":"tools/call","params":{"name":"ops__wipe","arguments":${args}}}`);
      expect(res.error, args).toMatchObject({ code: -32602, data: { code: 'INVALID_INPUT' } });
    }
    const rest = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { tool: 'wipe', arguments: { path: '/tmp/x', force: 'yes' } }, reason: 'probe' } });
    expect(rest.status).toBe(400);
    expect(rest.body.error.code).toBe('INVALID_INPUT');
    expect(forced).toEqual([false, false]);
  });
});

/**
 * A tool argument given as JSON text in a string. The Python SDK's FastMCP
 * "pre-parses" every top-level argument whose parameter is not annotated
 * plain `str` (`FuncMetadata.pre_parse_json`): a string that `json.loads`
 * reads as a list, an object or `null` is replaced by that value before
 * pydantic validates it. Its listing of `paths: str | list[str]` is an
 * `anyOf` that allows a string, so the gateway let the string through, and
 * policy judged the text: `"[\"/srv/\\u0073ecrets/k\"]"` holds no
 * `secrets` for the README's rule, but the server purged `/srv/secrets/k`;
 * and `"filter": "null"` is a filter to a rule that asks for one, but no
 * filter (None) to the server, which purged everything. A string that reads
 * as such JSON, for an argument whose schema allows more than a string (or
 * says nothing of its type), is now refused with `INVALID_INPUT` before
 * policy: send the value itself. An argument the tool declares a plain
 * string keeps any text (a JSON document written to a file).
 * The upstream (real MCP SDK server) lists the schemas FastMCP lists and
 * pre-parses as FastMCP does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startStatelessMcp, type StatelessMcp } from '../support/stateless-mcp.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/** What each call of `purge` acted on, after FastMCP's pre-parse. */
const purged: { paths: unknown; filter: unknown }[] = [];
/** What each call of `save` wrote. */
const saved: unknown[] = [];
let upstream: StatelessMcp | undefined;
let gw: TestGateway;

// As FastMCP lists `def purge(paths: str | list[str], filter: str | None = None)` and `def save(path: str, content: str)`.
const TOOLS = [
  {
    name: 'purge',
    description: 'Purges paths, those the filter matches when one is given.',
    inputSchema: {
      type: 'object',
      properties: {
        paths: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], title: 'Paths' },
        filter: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null, title: 'Filter' },
      },
      required: ['paths'],
    },
  },
  { name: 'save', description: 'Writes a file.', inputSchema: { type: 'object', properties: { path: { type: 'string', title: 'Path' }, content: { type: 'string', title: 'Content' } }, required: ['path', 'content'] } },
];
/** The parameters annotated plain `str`, which FastMCP does not pre-parse. */
const PLAIN_STR: Record<string, string[]> = { purge: [], save: ['path', 'content'] };

/** FastMCP's pre_parse_json: a string json.loads reads as anything but a str, int or float (bool is an int) is replaced. */
function preParse(tool: string, args: Record<string, unknown>): Record<string, unknown> {
  const out = { ...args };
  for (const [k, v] of Object.entries(args)) {
    if (typeof v !== 'string' || PLAIN_STR[tool]!.includes(k)) continue;
    try {
      const parsed = JSON.parse(v) as unknown;
      if (typeof parsed !== 'string' && typeof parsed !== 'number' && typeof parsed !== 'boolean') out[k] = parsed;
    } catch {
      // Not JSON: kept.
    }
  }
  return out;
}

async function startUpstream(): Promise<string> {
  upstream = await startStatelessMcp(() => {
    const server = new Server({ name: 'fastmcp-like', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
    server.setRequestHandler(CallToolRequestSchema, async (r) => {
      const a = preParse(r.params.name, (r.params.arguments ?? {}) as Record<string, unknown>);
      if (r.params.name === 'save') saved.push(a['content']);
      else purged.push({ paths: a['paths'], filter: a['filter'] ?? null });
      return { content: [{ type: 'text', text: 'done' }] };
    });
    return server;
  });
  return upstream.url;
}

beforeAll(async () => {
  const url = await startUpstream();
  gw = await startTestGateway(`connections:
  - name: files
    kind: mcp
    url: ${url}
    waitSeconds: 1
    pinning: { onChange: allow }
policy:
  default: deny
  rules:
    - id: filtered-purges
      when: facts.mcp.tool == "purge" && has(facts.mcp.arguments.filter) && type(facts.mcp.arguments.filter) == string
      effect: allow
    - id: saves
      when: facts.mcp.tool == "save"
      effect: allow
    - id: no-secrets-dir
      when: >
        facts.mcp.arguments.exists(k,
          (type(facts.mcp.arguments[k]) == string && facts.mcp.arguments[k].contains("secrets")) ||
          (type(facts.mcp.arguments[k]) == list && facts.mcp.arguments[k].exists(p, type(p) == string && p.contains("secrets"))))
      effect: deny
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function call(tool: string, args: unknown): Promise<any> {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: `files__${tool}`, arguments: args } }),
  });
  return res.json();
}

describe('an argument given as JSON text in a string', () => {
  it('values sent as themselves are judged as sent', async () => {
    const ok = await call('purge', { paths: ['/srv/tmp/a'], filter: '*.log' });
    expect(ok.result?._meta['countersign/status'], JSON.stringify(ok)).toBe('succeeded');
    const denied = await call('purge', { paths: ['/srv/secrets/k'], filter: '*' });
    expect(JSON.stringify(denied.result)).toContain('no-secrets-dir');
    expect(purged).toEqual([{ paths: ['/srv/tmp/a'], filter: '*.log' }]);
  });

  it.each([
    ['a list, its text escaped past the rule', { paths: '["/srv/\\u0073ecrets/k"]', filter: '*' }],
    ['null, for an optional string', { paths: '/srv/tmp/a', filter: 'null' }],
    ['an object', { paths: ' {"glob": "/srv/*"}', filter: '*' }],
  ])('%s, where the schema allows more than a string → INVALID_INPUT, not run', async (_what, args) => {
    const before = purged.length;
    const res = await call('purge', args);
    expect(res.error, JSON.stringify(res)).toMatchObject({ code: -32602, data: { code: 'INVALID_INPUT' } });
    expect(purged.length).toBe(before);
  });

  it('an argument declared a plain string keeps its JSON text', async () => {
    const res = await call('save', { path: '/srv/tmp/x.json', content: '{"a": [1, null]}' });
    expect(res.result?._meta['countersign/status'], JSON.stringify(res)).toBe('succeeded');
    expect(saved).toEqual(['{"a": [1, null]}']);
  });
});

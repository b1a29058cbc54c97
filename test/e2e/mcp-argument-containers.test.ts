/**
 * Argument types inside a mapping or a tuple. FastMCP (the Python SDK) lists
 * `flags: dict[str, bool]` as `{"type":"object","additionalProperties":
 * {"type":"boolean"}}`, `target: tuple[str, bool]` as `{"type":"array",
 * "prefixItems":[{"type":"string"},{"type":"boolean"}]}` and
 * `limits: dict[str, int] | None` as an `anyOf` of such a mapping and null
 * (and `checks: list[bool] | None` so, whose items were not checked either,
 * nor the members of a nested model that pydantic 1 wraps in an
 * `allOf` when the field has a description),
 * and validates a call with pydantic, whose lax mode reads `"true"`, `"on"`
 * or `1` as `True` and `"4"` as 4 there too (pydantic 2.13:
 * `{"flags":{"force":"true"},"target":["prod","yes"]}` is `force=True`,
 * `target=("prod", True)`). The gateway checked the types of `properties` and
 * `items` only, so a rule `facts.mcp.arguments.flags.force == true` let
 * `{"force":"true"}` through, and the upstream forced. Such values are now
 * refused with `INVALID_INPUT` before policy, as at the top level.
 * The upstream (real MCP SDK server) lists the schemas FastMCP lists and reads
 * the values as pydantic's lax mode does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startStatelessMcp, type StatelessMcp } from '../support/stateless-mcp.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/** pydantic 2's lax reading of a boolean from JSON (strings in any case). */
const LAX_TRUE = new Set<unknown>([true, 1, '1', 'true', 'yes', 'on', 't', 'y']);
const laxTrue = (v: unknown) => LAX_TRUE.has(typeof v === 'string' ? v.toLowerCase() : v);
/** What each call of `deploy` acted on, as pydantic read its arguments. */
const runs: { forced: boolean; live: boolean; cpu: number | null }[] = [];
let upstream: StatelessMcp | undefined;
let gw: TestGateway;

// As FastMCP lists `def deploy(service: str, flags: dict[str, bool] = {}, target: tuple[str, bool] = ("staging", False), limits: dict[str, int] | None = None, checks: list[bool] | None = None)`.
const DEPLOY_SCHEMA = {
  type: 'object',
  properties: {
    service: { type: 'string', title: 'Service' },
    flags: { type: 'object', additionalProperties: { type: 'boolean' }, default: {}, title: 'Flags' },
    target: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'boolean' }], minItems: 2, maxItems: 2, default: ['staging', false], title: 'Target' },
    limits: { anyOf: [{ type: 'object', additionalProperties: { type: 'integer' } }, { type: 'null' }], default: null, title: 'Limits' },
    checks: { anyOf: [{ type: 'array', items: { type: 'boolean' } }, { type: 'null' }], default: null, title: 'Checks' },
    // As pydantic 1 lists `opts: Opts = Field(None, description=…)`.
    opts: { allOf: [{ $ref: '#/$defs/Opts' }], default: null, description: 'Deploy options' },
  },
  required: ['service'],
  $defs: { Opts: { type: 'object', properties: { force: { type: 'boolean', default: false } }, title: 'Opts' } },
};

async function startUpstream(): Promise<string> {
  upstream = await startStatelessMcp(() => {
    const server = new Server({ name: 'deploy-upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [{ name: 'deploy', description: 'Deploys a service.', inputSchema: DEPLOY_SCHEMA }] }));
    server.setRequestHandler(CallToolRequestSchema, async (r) => {
      const a = (r.params.arguments ?? {}) as { flags?: Record<string, unknown>; target?: unknown[]; limits?: Record<string, unknown> | null; opts?: Record<string, unknown> };
      const cpu = a.limits?.['cpu'];
      runs.push({ forced: laxTrue(a.flags?.['force']) || laxTrue(a.opts?.['force']), live: laxTrue(a.target?.[1]), cpu: cpu === undefined ? null : Number(cpu) });
      return { content: [{ type: 'text', text: 'deployed' }] };
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
    - id: deploys
      when: facts.mcp.tool == "deploy"
      effect: allow
    - id: no-force
      when: has(facts.mcp.arguments.flags) && has(facts.mcp.arguments.flags.force) && facts.mcp.arguments.flags.force == true
      effect: deny
    - id: staging-only
      when: has(facts.mcp.arguments.target) && facts.mcp.arguments.target.size() == 2 && facts.mcp.arguments.target[1] == true
      effect: deny
    - id: small-limits
      when: has(facts.mcp.arguments.limits) && type(facts.mcp.arguments.limits) == map && has(facts.mcp.arguments.limits.cpu) && facts.mcp.arguments.limits.cpu > 2
      effect: deny
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function call(id: number, args: string): Promise<any> {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"ops__deploy","arguments":${args}}}`,
  });
  return res.json();
}

describe('a value of another type than a mapping or tuple of the tool declares', () => {
  it('values of the declared types are judged as sent: allowed ones run, denied ones do not', async () => {
    const ok = await call(1, '{"service":"web","flags":{"force":false},"target":["staging",false],"limits":{"cpu":2}}');
    expect(ok.result?._meta['countersign/status'], JSON.stringify(ok)).toBe('succeeded');
    const denied = await call(2, '{"service":"web","flags":{"force":true}}');
    expect(denied.result.isError).toBe(true);
    expect(JSON.stringify(denied.result)).toContain('no-force');
    expect(runs).toEqual([{ forced: false, live: false, cpu: 2 }]);
  });

  it.each([
    ['a mapping value', '{"service":"web","flags":{"force":"true"}}'],
    ['a mapping value in another spelling', '{"service":"web","flags":{"force":"on"}}'],
    ['a tuple item', '{"service":"web","target":["prod","yes"]}'],
    ['a mapping value of an optional mapping', '{"service":"web","limits":{"cpu":"64"}}'],
    ['an item of an optional list', '{"service":"web","checks":[true,"no"]}'],
    ['a member of a nested model wrapped in allOf', '{"service":"web","opts":{"force":"yes"}}'],
  ])('%s of another type → INVALID_INPUT before policy; the upstream is not called', async (_what, args) => {
    const before = runs.length;
    const res = await call(3, args);
    expect(res.error, JSON.stringify(res)).toMatchObject({ code: -32602, data: { code: 'INVALID_INPUT' } });
    expect(runs.length).toBe(before);
  });

  it('over REST too: 400 INVALID_INPUT, nothing run', async () => {
    const before = runs.length;
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { tool: 'deploy', arguments: { service: 'web', flags: { force: 'true' } } }, reason: 'probe' } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(runs.length).toBe(before);
  });
});

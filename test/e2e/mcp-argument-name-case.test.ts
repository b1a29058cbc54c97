/**
 * A tool argument named as the tool declares a parameter, but in another case (`DRYRUN` or `dryrun` for the declared
 * `dryRun`). Policy reads argument names folded to lower case, as readers that match names in any case (Go, .NET)
 * bind them, so a rule allowing dry runs (`facts.mcp.arguments.dryrun == true`) held; but the official SDKs'
 * servers match names exactly (the TypeScript SDK's zod schema, the Python SDK's pydantic model) and drop a name
 * they do not declare, so the tool ran with `dryRun` at its default, false: a real deploy no one approved. Such an
 * argument is refused before policy (422 INPUT_UNPARSEABLE) and the upstream is not called; the declared spelling
 * runs as policy judged it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { startStatelessMcp, type StatelessMcp } from '../support/stateless-mcp.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/** What each call of `deploy` ran with, as the upstream's SDK parsed its arguments. */
const deploys: { service: string; dryRun: boolean; opts: { dryRun: boolean } | undefined }[] = [];
let upstream: StatelessMcp | undefined;
let gw: TestGateway;

/** A stateless upstream on the TypeScript SDK's McpServer: `deploy(service, dryRun = false, opts?: { dryRun })`. */
async function startUpstream(): Promise<string> {
  upstream = await startStatelessMcp(() => {
    const server = new McpServer({ name: 'deployer', version: '1.0.0' });
    server.registerTool(
      'deploy',
      {
        description: 'Deploys a service; with dryRun, only says what it would do.',
        inputSchema: { service: z.string(), dryRun: z.boolean().default(false), opts: z.object({ dryRun: z.boolean().default(false) }).optional() },
      },
      async ({ service, dryRun, opts }) => {
        deploys.push({ service, dryRun, opts });
        return { content: [{ type: 'text', text: dryRun ? `would deploy ${service}` : `deployed ${service}` }] };
      },
    );
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
    - id: dry-runs
      when: facts.mcp.tool == "deploy" && has(facts.mcp.arguments.dryrun) && facts.mcp.arguments.dryrun == true
      effect: allow
    - id: deploys
      when: facts.mcp.tool == "deploy" && !(has(facts.mcp.arguments.dryrun) && facts.mcp.arguments.dryrun == true)
      effect: approve
      approvers: [{ groups: [sre] }]
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const deploy = (args: Record<string, unknown>) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { tool: 'deploy', arguments: args }, reason: 'try the release' } });

it('the declared spelling runs as policy judged it: a dry run', async () => {
  const res = await deploy({ service: 'api', dryRun: true });
  expect([res.status, res.body.status], JSON.stringify(res.body)).toEqual([200, 'succeeded']);
  expect(deploys).toEqual([{ service: 'api', dryRun: true, opts: undefined }]);
});

it('a declared name in another case is refused before policy, and the upstream is not called', async () => {
  for (const args of [{ service: 'api', DRYRUN: true }, { service: 'api', dryrun: true }, { service: 'api', dryRun: true, opts: { DryRun: true } }]) {
    const res = await deploy(args);
    expect([res.status, res.body.error?.code], JSON.stringify(res.body)).toEqual([422, 'INPUT_UNPARSEABLE']);
  }
  expect(deploys).toHaveLength(1);
});

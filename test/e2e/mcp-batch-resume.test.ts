/**
 * One held call sent several times at once (a JSON-RPC batch, or parallel
 * POSTs) is one request: the gateway promises that sending a held call again
 * resumes it and never submits it twice, so reviewers are asked once and an
 * approval runs the tool once. Real processes: the gateway, a stdio MCP server
 * built on the SDK, an agent posting raw JSON-RPC to /mcp.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

const SERVER = fileURLToPath(new URL('../support/asking-mcp.js', import.meta.url));
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(`connections:
  - name: asker
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}]
    waitSeconds: 0
policy:
  default: deny
  rules:
    - id: greet-held
      when: facts.mcp.tool == "greet"
      effect: approve
      approvers: [{ count: 1 }]
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

async function rpc(body: unknown): Promise<any> {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(body),
  });
  return res.json();
}

const call = (id: number, name: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'asker__greet', arguments: { name } } });
const heldFor = async (name: string) =>
  ((await gw.as('deploy-bot', '/v1/requests?limit=1000')).body.requests as { id: string; action: { input: { arguments: { name?: string } } } }[]).filter((r) => r.action.input.arguments.name === name);

it('a batch that sends one held call twice holds one request, and both answers name it', async () => {
  const answers = (await rpc([call(1, 'ada'), call(2, 'ada')])) as { result: { _meta: Record<string, string> } }[];
  const ids = answers.map((a) => a.result._meta['countersign/requestId']);
  expect((await heldFor('ada')).map((r) => r.id)).toEqual([ids[0]]);
  expect(ids[1]).toBe(ids[0]);
});

it('parallel POSTs of one held call hold one request', async () => {
  await Promise.all([rpc(call(1, 'bob')), rpc(call(1, 'bob')), rpc(call(1, 'bob'))]);
  expect(await heldFor('bob')).toHaveLength(1);
});

/**
 * A call judged on a listing the upstream has already said is out of date.
 * An upstream whose tools change with its state (`arm` turns the read-only
 * `run` destructive) sends `notifications/tools/list_changed` before it
 * answers; the gateway lists its tools again, but until that listing is
 * answered its catalog holds the old definitions. An agent allowed `arm` and
 * read-only tools that called `run` in that window was judged on the
 * read-only `run`, allowed, and the upstream ran the destructive one. A call
 * on a connection whose upstream said its list changed since the listing the
 * call was judged on now lists the tools first, and one not defined as it
 * was judged does not run (`failed`, TOOL_DEFINITION_MISMATCH); called again,
 * it is judged as the changed tool it now is, and held. Real processes: the
 * gateway, a stdio MCP server on the SDK's Server, an agent on /mcp.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { httpAgent, textOf } from '../support/mcp.ts';

/** The text of a tool result (the SDK's type of a call's answer also covers a task's). */
const text = (r: unknown) => textOf(r as { content?: unknown });

const SERVER = fileURLToPath(new URL('../support/arming-mcp.js', import.meta.url));

let dir: string;
let gw: TestGateway;
let agent: Client;
/** The calls of `run` the upstream ran, with the mode it ran in. */
const runs = () =>
  readFileSync(join(dir, 'calls'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { armed: boolean; target: string });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-arming-'));
  writeFileSync(join(dir, 'calls'), '');
  gw = await startTestGateway(`connections:
  - name: arming
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}]
    env: ${JSON.stringify({ CALLS_FILE: join(dir, 'calls') })}
    waitSeconds: 1
policy:
  default: deny
  rules:
    - id: reads
      when: facts.mcp.annotations.readOnlyHint
      effect: allow
    - id: arming
      when: facts.mcp.tool == "arm"
      effect: allow
`);
  agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a call made after the upstream said its tools changed, before the gateway listed them again', () => {
  it('does not run on the definition it was judged by: the destructive tool is never run as the read-only one', async () => {
    const dry = await agent.callTool({ name: 'arming__run', arguments: { target: 'staging' } });
    expect(text(dry)).toBe('would delete staging');

    expect(text(await agent.callTool({ name: 'arming__arm', arguments: {} }))).toBe('armed');
    const live = await agent.callTool({ name: 'arming__run', arguments: { target: 'prod-db' } });
    expect(runs().filter((r) => r.armed)).toEqual([]);
    expect(live._meta?.['countersign/status']).toBe('failed');
    expect(text(live)).toContain('otherwise than when this call was judged');

    // Once listed, run is a changed tool: judged by the stricter hints (a writer), held for a human.
    await eventually(async () => ((await gw.as('alice', '/v1/mcp/tools?connection=arming&changed=true')).body.tools.length ? true : undefined), 15_000);
    const again = await agent.callTool({ name: 'arming__run', arguments: { target: 'prod-db' } });
    expect(again._meta?.['countersign/status']).toBe('pending');
    expect(runs()).toEqual([{ armed: false, target: 'staging' }]);
  }, 30_000);
});

/**
 * An approval is for a call of the tool as it was defined when the call was
 * submitted. A stdio upstream whose process ends (a crash, an upgrade under
 * `npx -y`) is started again by the next call, and that new process may
 * define its tools otherwise; it sends no tools/list_changed, having never
 * listed anything to this client. The call approved for the old definition
 * must not run against the new one: the gateway lists the new process's tools
 * before it calls one, and a definition that differs from the approved one
 * stops the call (`failed`, TOOL_DEFINITION_MISMATCH: it did not run), and is
 * then known as a change, judged and held as one.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { httpAgent, textOf } from '../support/mcp.ts';

/** The text of a tool result (the SDK's type of a call's answer also covers a task's). */
const text = (r: unknown) => textOf(r as { content?: unknown });

const SERVER = fileURLToPath(new URL('../support/versioned-mcp.js', import.meta.url));

let dir: string;
let gw: TestGateway;
let agent: Client;
const file = (name: string) => join(dir, name);
/** The calls the upstream of `connection` ran, one JSON line each. */
const calls = (connection = 'versioned') => readFileSync(file(`${connection}.calls`), { encoding: 'utf8', flag: 'a+' }).split('\n').filter(Boolean);

/** A connection to its own versioned server, with its own files, at version 1. */
function connection(name: string): string {
  writeFileSync(file(`${name}.version`), '1');
  appendFileSync(file(`${name}.calls`), '');
  const env = { VERSION_FILE: file(`${name}.version`), PID_FILE: file(`${name}.pid`), CALLS_FILE: file(`${name}.calls`) };
  return `  - name: ${name}
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}]
    env: ${JSON.stringify(env)}
    waitSeconds: 1
`;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-versioned-'));
  gw = await startTestGateway(`connections:
${connection('versioned')}${connection('reader')}policy:
  default: deny
  rules:
    - id: reads
      when: action.connection == "reader" && facts.mcp.annotations.readOnlyHint
      effect: allow
    - id: greetings-need-a-human
      when: action.connection == "versioned" && facts.mcp.tool == "greet"
      effect: approve
      approvers: [{ count: 1 }]
`);
  agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Ends the upstream's process as a crash would, with the next version in place for whatever starts it again. */
async function upgradeUnderneath(connection: string): Promise<void> {
  const pid = Number(readFileSync(file(`${connection}.pid`), 'utf8'));
  writeFileSync(file(`${connection}.version`), '2');
  process.kill(pid, 'SIGKILL');
  await eventually(async () => (alive(pid) ? undefined : true), 10_000);
}

describe('a stdio upstream started again with other definitions between approval and run', () => {
  it('the call approved for the old definition does not run against the new one', async () => {
    const held = await agent.callTool({ name: 'versioned__greet', arguments: { name: 'ada' } });
    expect(held._meta?.['countersign/status']).toBe('pending');
    const id = held._meta?.['countersign/requestId'] as string;
    const pending = await gw.as('alice', `/v1/requests/${id}`);
    expect(pending.body.facts.mcp.annotations.readOnlyHint).toBe(true);

    await upgradeUnderneath('versioned');
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', digest: pending.body.digest } })).status).toBe(200);
    const done = await eventually(async () => {
      const r = await gw.as('alice', `/v1/requests/${id}`);
      return ['approved', 'executing'].includes(r.body.status) ? undefined : r.body;
    }, 15_000);
    expect(calls()).toEqual([]);
    // Claimed and found changed as it was about to run: failed, with the code that says it did not run.
    expect(done).toMatchObject({ status: 'failed', error: { code: 'TOOL_DEFINITION_MISMATCH' } });

    // The new definition is now known as a change: the next call is judged, and held, under it.
    await eventually(async () => ((await gw.as('alice', '/v1/mcp/tools?connection=versioned&changed=true')).body.tools.length ? true : undefined), 10_000);
    const again = await agent.callTool({ name: 'versioned__greet', arguments: { name: 'ada' } });
    expect(again._meta?.['countersign/status']).toBe('pending');
    const next = await gw.as('alice', `/v1/requests/${again._meta?.['countersign/requestId']}`);
    expect(next.body.facts.mcp).toMatchObject({ toolChanged: true, annotations: { readOnlyHint: false, destructiveHint: true } });
    expect(text(again)).toContain('waiting');
    expect(calls()).toEqual([]);
  });

  it('a call allowed as a read by the old definition does not run against a new one that writes; the next is held', async () => {
    const read = await agent.callTool({ name: 'reader__greet', arguments: { name: 'bo' } });
    expect(text(read)).toBe('hello, bo (version 1)');
    await upgradeUnderneath('reader');
    const after = await agent.callTool({ name: 'reader__greet', arguments: { name: 'cy' } });
    expect(after._meta?.['countersign/status']).toBe('failed');
    expect(text(after)).toContain('did not run');
    expect(calls('reader')).toEqual(['{"version":"1","name":"bo"}']);
    await eventually(async () => ((await gw.as('alice', '/v1/mcp/tools?connection=reader&changed=true')).body.tools.length ? true : undefined), 10_000);
    const held = await agent.callTool({ name: 'reader__greet', arguments: { name: 'cy' } });
    expect(held._meta?.['countersign/status']).toBe('pending');
    expect(calls('reader')).toHaveLength(1);
  });
});

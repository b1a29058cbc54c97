/**
 * A held MCP call retried by its agent resumes its request by digest, and is never submitted twice. The digest binds
 * the principal's id, not the issuer of its token: two issuers' workloads of one unconfigured id make requests of the
 * same digest for the same call. Another issuer's workload making that call must not turn this agent's retry into a
 * second request (reviewers asked twice for one call, and the action run twice if both are approved).
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { filesystemConnection, httpAgent } from '../support/mcp.ts';

let a: TestIssuer;
let b: TestIssuer;
let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'cs-mcp-resume-')));
  [a, b] = await Promise.all([startTestIssuer('/a'), startTestIssuer('/b')]);
  gw = await startTestGateway(
    `identity:
  issuers:
    - { issuer: ${a.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${b.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
connections:
${filesystemConnection('files', dir, '    waitSeconds: 0')}
policy:
  default: deny
  rules:
    - { id: held, when: "true", effect: approve, approvers: [{ groups: [sre], count: 1 }] }
`,
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([a, b].map((s) => s?.close()));
  rmSync(dir, { recursive: true, force: true });
});

const write = { name: 'files__write_file', arguments: { path: '', content: 'shipped\n' } };

async function pendingOf(token: string): Promise<string[]> {
  const res = await fetch(`${gw.url}/v1/requests?status=pending`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { requests: { id: string }[] }).requests.map((r) => r.id);
}

async function callOnce(token: string): Promise<string> {
  const agent: Client = await httpAgent(gw.url, token);
  try {
    const r = await agent.callTool({ ...write, arguments: { ...write.arguments, path: join(dir, 'release.txt') } });
    return (r._meta as Record<string, string>)['countersign/requestId']!;
  } finally {
    await agent.close();
  }
}

describe('a held MCP call retried while another issuer’s workload of the same id made the same call', () => {
  it('resumes its own request: one pending request per agent, whatever the other did', async () => {
    const mine = await a.sign({ aud: 'countersign', sub: 'worker' });
    const theirs = await b.sign({ aud: 'countersign', sub: 'worker' });
    const first = await callOnce(mine);
    const other = await callOnce(theirs);
    expect(other).not.toBe(first);
    // The retry the gateway tells the agent to make: the same call again.
    const retry = await callOnce(mine);
    expect(retry).toBe(first);
    expect(await pendingOf(mine)).toEqual([first]);
    // And the other's retry resumes its own, never this agent's.
    expect(await callOnce(theirs)).toBe(other);
    expect(await pendingOf(theirs)).toEqual([other]);
  });
});

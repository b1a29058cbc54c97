/**
 * One approval of a held MCP call runs once: the identical call sent again
 * after approval, on two MCP sessions at once, runs the tool once; sent after
 * it ran, it is a new call to approve, never the old approval again.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { filesystemConnection, httpAgent } from '../support/mcp.ts';

let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'cs-digest-resume-')));
  gw = await startTestGateway(
    `connections:
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
  rmSync(dir, { recursive: true, force: true });
});

async function call(args: Record<string, string>) {
  const agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
  try {
    const r = await agent.callTool({ name: 'files__move_file', arguments: args });
    const meta = r._meta as Record<string, string>;
    return { id: meta['countersign/requestId']!, status: meta['countersign/status']! };
  } finally {
    await agent.close();
  }
}

describe('a held MCP call sent again after approval', () => {
  it('runs the tool once: two sessions sending it again at once and one after it ran never run the approval again', async () => {
    writeFileSync(join(dir, 'a.txt'), 'a\n');
    const args = { source: join(dir, 'a.txt'), destination: join(dir, 'b.txt') };
    const held = await call(args);
    expect(held.status).toBe('pending');
    expect((await gw.as('alice', `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);

    const both = await Promise.all([call(args), call(args)]);
    await eventually(async () => ((await gw.as('alice', `/v1/requests/${held.id}`)).body.status === 'succeeded' ? true : undefined));
    expect(existsSync(join(dir, 'b.txt'))).toBe(true);
    expect(existsSync(join(dir, 'a.txt'))).toBe(false);
    // One claim, one run, one outcome: a second run would have moved nothing and ended failed.
    const types = (await storedAudit(gw.deps.store, held.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'request.executing')).toHaveLength(1);
    expect(types).toContain('request.succeeded');
    expect(types).not.toContain('request.failed');
    // Each later call either found the approved request or asked anew; none was a second run of the approval.
    for (const b of both) expect(b.id === held.id || b.status === 'pending').toBe(true);

    // After it ran, the same call is a request of its own awaiting a human, and runs nothing.
    const after = await call(args);
    expect(after.id).not.toBe(held.id);
    expect(after.status).toBe('pending');
    expect(existsSync(join(dir, 'b.txt'))).toBe(true);
  });
});

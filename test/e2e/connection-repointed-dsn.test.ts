/**
 * A stdio MCP server whose target is written as a credential-named argument (`--dsn postgresql://…@db-staging/app`):
 * re-pointed at another host between hold and run, the approved call is another connection's and does not run there.
 * The value is a credential by its name, and also where the server goes: the fingerprint keeps its host.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { releaseTestStore, storeYaml } from '../support/test-store.ts';

const SERVER = fileURLToPath(new URL('../support/argv-echo-mcp.js', import.meta.url));

let dir: string;
let second: TestGateway | undefined;

afterAll(async () => {
  await second?.stop();
  if (dir) await releaseTestStore(join(dir, 'countersign.db'));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const body = (dsn: string) => `connections:
  - name: db-tools
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}, --dsn, ${JSON.stringify(dsn)}]
    tags: { env: staging }
policy:
  default: deny
  rules:
    - { id: held, when: "true", effect: approve, approvers: [{ groups: [sre], count: 1 }] }
`;

describe('an MCP server re-pointed by its --dsn between hold and run', () => {
  it('denies the approved call UNKNOWN_CONNECTION: it never runs against the new database host', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-repointed-dsn-'));
    const db = join(dir, 'countersign.db');
    const keys: Record<string, string> = {};
    const first = await startTestGateway(await storeYaml(configYaml(DEFAULT_PRINCIPALS, keys, body('postgresql://ro@db-staging:5432/app'), db)), { dir, keys });
    let id: string;
    try {
      const held = await first.as('deploy-bot', '/v1/actions', { body: { connection: 'db-tools', input: { tool: 'whoami', arguments: {} }, reason: 'staging diagnostics' } });
      expect(held.status).toBe(202);
      id = held.body.id as string;
    } finally {
      await first.stop();
    }

    second = await startTestGateway(await storeYaml(configYaml(DEFAULT_PRINCIPALS, keys, body('postgresql://ro@db-prod:5432/app'), db)), { dir, keys });
    const gw = second;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const settled = await eventually(async () => {
      const r = await gw.as('deploy-bot', `/v1/requests/${id}`);
      return r.body.status === 'pending' || r.body.status === 'approved' || r.body.status === 'executing' ? undefined : r.body;
    });
    expect(settled).toMatchObject({ status: 'denied', error: { code: 'UNKNOWN_CONNECTION' } });
    const denied = (await storedAudit(gw.deps.store)).filter((e) => e.requestId === id && e.type === 'request.denied');
    expect(denied).toMatchObject([{ data: { by: 'execute-check', code: 'UNKNOWN_CONNECTION' } }]);
  });
});

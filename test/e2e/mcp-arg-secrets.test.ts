/**
 * A stdio MCP server often takes its credential on its command line (a
 * database URL with a password, `--api-key …`) rather than in its
 * environment. Whatever the configuration takes from the gateway's
 * environment into an `mcp` connection's `args` is a secret of that
 * connection like its `env` values: an upstream that quotes its command line
 * does not hand it to the agent, the request rows or the audit log.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { readDb } from '../support/sqlite.ts';

const SERVER = fileURLToPath(new URL('../support/argv-echo-mcp.js', import.meta.url));
const API_KEY = 'argkey_4Rt8/Lq2+Zw7Xc9';
const DB_PASSWORD = 'pw-Vn3xL8qZ!d';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(
    `connections:
  - name: echoing
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}, --api-key, "\${API_KEY}", "postgres://svc:\${DB_PASSWORD}@db.internal:5432/app", --label, "plain-\${LABEL:-visible}"]
policy:
  default: allow
`,
    { env: { API_KEY, DB_PASSWORD } },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

describe('an mcp server that quotes its command line', () => {
  it('gives the agent its answer without the secrets the configuration put in its args', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'echoing', input: { tool: 'whoami', arguments: {} }, reason: 'diagnostics' } });
    expect(res.status).toBe(200);
    const text = JSON.stringify(res.body);
    // The server ran with them, and said so; the parts that came from the environment are gone.
    expect(text).toContain('started as:');
    expect(text).toContain('--api-key');
    expect(text).toContain('db.internal:5432');
    expect(text).toContain('plain-visible');
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(DB_PASSWORD);
    const kept = readDb(gw.dbPath, (db) => JSON.stringify([db.prepare('SELECT * FROM requests').all(), db.prepare('SELECT body FROM audit_events').all()]));
    expect(kept).toContain('started as:');
    expect(kept).not.toContain(API_KEY);
    expect(kept).not.toContain(DB_PASSWORD);
  });
});

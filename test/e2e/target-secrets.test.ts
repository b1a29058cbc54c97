/**
 * A credential is not always in a header or an environment variable of the
 * upstream: a stdio MCP server often takes it on its command line (a
 * database URL with a password, `--api-key …`), and a webhook-style HTTP API
 * in its URL's path (`/services/T0/B0/<secret>`). Whatever the configuration
 * takes from the gateway's environment into an `mcp` connection's `args` or
 * `url`, or an `http` connection's `url`, is a secret of that connection like
 * its `env` and `headers`: an upstream that quotes its command line, or the
 * path it was called on, does not hand it to the agent, the request rows or
 * the audit log.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { readDb } from '../support/sqlite.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const SERVER = fileURLToPath(new URL('../support/argv-echo-mcp.js', import.meta.url));
const API_KEY = 'argkey_4Rt8/Lq2+Zw7Xc9';
const DB_PASSWORD = 'pw-Vn3xL8qZ!d';
const HOOK_SECRET = 'hk8Qz2Lx9Vb4Wn7R';
// Written in the file itself, as MCP configurations pass them: a header for mcp-remote, an environment setting for `docker run -e`.
const LITERAL_HEADER_TOKEN = 'lit-hdr-Qw8Zx3Lp5Vn';
const LITERAL_ENV_TOKEN = 'ghp_litEnv7Hq2Xk9Lm4';

let gw: TestGateway;
let upstream: Upstream;

beforeAll(async () => {
  // A 404 that says which path it was asked for, as most frameworks' do.
  upstream = await startUpstream((call) => ({ status: 404, body: { error: `no route for ${call.method} ${call.url}` } }));
  gw = await startTestGateway(
    `connections:
  - name: echoing
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}, --api-key, "\${API_KEY}", "postgres://svc:\${DB_PASSWORD}@db.internal:5432/app", --label, "plain-\${LABEL:-visible}", --header, "Authorization: Bearer ${LITERAL_HEADER_TOKEN}", -e, "GITHUB_PERSONAL_ACCESS_TOKEN=${LITERAL_ENV_TOKEN}", -e, "LOG_LEVEL=debug"]
  - name: hook
    kind: http
    url: "${upstream.url}/services/T0/\${HOOK_SECRET}"
policy:
  default: allow
`,
    { env: { API_KEY, DB_PASSWORD, HOOK_SECRET } },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

function stored(): string {
  return readDb(gw.dbPath, (db) => JSON.stringify([db.prepare('SELECT * FROM requests').all(), db.prepare('SELECT body FROM audit_events').all()]));
}

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
    // A header or a NAME=value setting named like a credential, written in the file: the value goes, the name stays.
    expect(text).toContain('--header Authorization: ');
    expect(text).toContain('GITHUB_PERSONAL_ACCESS_TOKEN=');
    expect(text).toContain('LOG_LEVEL=debug');
    expect(text).not.toContain(LITERAL_HEADER_TOKEN);
    expect(text).not.toContain(LITERAL_ENV_TOKEN);
    const kept = stored();
    expect(kept).toContain('started as:');
    expect(kept).not.toContain(API_KEY);
    expect(kept).not.toContain(DB_PASSWORD);
    expect(kept).not.toContain(LITERAL_HEADER_TOKEN);
    expect(kept).not.toContain(LITERAL_ENV_TOKEN);
  });
});

describe('an http upstream that quotes the path it was called on', () => {
  it('gives the agent its answer without the secret the configuration put in the connection url', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'hook', input: { method: 'POST', path: '/x', body: { text: 'hi' } }, reason: 'notify' } });
    expect(upstream.calls.map((c) => c.url)).toEqual([`/services/T0/${HOOK_SECRET}/x`]);
    const text = JSON.stringify(res.body);
    expect(text).toContain('no route for POST /services/T0/');
    expect(text).not.toContain(HOOK_SECRET);
    expect(stored()).not.toContain(HOOK_SECRET);
  });
});

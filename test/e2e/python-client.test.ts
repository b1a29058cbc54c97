/**
 * The Python client (clients/python) against the real gateway: this file starts
 * the gateway with a real HTTP upstream and a throwaway PostgreSQL database,
 * hands `python3 -m unittest` its URL, keys and connection names through the
 * environment, and then checks from the outside what the Python tests did: the
 * upstream ran exactly the approved and allowed actions, always with the
 * gateway's credential, and the approved SQL changed one row once.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const PYTHON = process.env['COUNTERSIGN_PYTHON'] || 'python3';
const TESTS = 'clients/python/tests';
/** test_audit (4), test_client (16), test_guard (7), test_guard_retry (4), test_transport (13): a test that stops being collected fails this count. */
const EXPECTED_TESTS = 44;
const SECRET = 'upstream-tok-9f2c6d1e7a';

/** Runs the Python tests; resolves with the exit code and everything they wrote. */
function unittest(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-m', 'unittest', 'discover', '-s', TESTS, '-v'], { env: { PATH: process.env['PATH'], PYTHONPATH: 'clients/python', PYTHONDONTWRITEBYTECODE: '1', ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const db = await createTestDatabase();

describe.skipIf(!db)('the Python client against a real gateway', () => {
  let upstream: Upstream;
  let gw: TestGateway;
  let sql: pg.Client;

  beforeAll(async () => {
    sql = new pg.Client({ connectionString: db!.url });
    await sql.connect();
    await sql.query(`CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL);
      INSERT INTO orders VALUES (1, 'open'), (2, 'open'), (3, 'open'), (7, 'open');`);
    upstream = await startUpstream((call) => ({
      body: { echo: `${call.method} ${call.url}`, body: call.body ? JSON.parse(call.body) : null, authorized: call.headers.authorization === `Bearer ${SECRET}` },
    }));
    gw = await startTestGateway(
      `connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
    headers: { Authorization: "Bearer \${BILLING_TOKEN}" }
  - name: orders-db
    kind: postgres
    url: \${ORDERS_DB_URL}
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "billing-api" && facts.http.method == "GET"
      effect: allow
    - id: no-deletes
      when: connection.name == "billing-api" && facts.http.method == "DELETE"
      effect: deny
      message: agents never delete invoices
    - id: refunds
      when: connection.name == "billing-api" && facts.http.method == "POST" && facts.http.path == "/refunds"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: quick
      when: connection.name == "billing-api" && facts.http.method == "POST" && facts.http.path == "/quick"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1s
    - id: sql-reads
      when: connection.name == "orders-db" && facts.sql.readOnly
      effect: allow
    - id: sql-writes
      when: connection.name == "orders-db" && facts.sql.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`,
      { env: { BILLING_TOKEN: SECRET, ORDERS_DB_URL: db!.url }, principals: [...DEFAULT_PRINCIPALS, { id: 'erin', kind: 'human', roles: ['auditor'] }] },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
    await sql?.end();
    await db?.drop();
  });

  it('passes every Python test, and the gateway ran exactly what they were allowed or approved', async () => {
    const { code, out } = await unittest({
      COUNTERSIGN_URL: gw.url,
      COUNTERSIGN_KEY: gw.keys['deploy-bot'],
      COUNTERSIGN_TEST_APPROVER_KEY: gw.keys['alice'],
      COUNTERSIGN_TEST_OTHER_AGENT_KEY: gw.keys['other-bot'],
      COUNTERSIGN_TEST_HTTP: 'billing-api',
      COUNTERSIGN_TEST_UPSTREAM_SECRET: SECRET,
      COUNTERSIGN_TEST_SQL: 'orders-db',
      COUNTERSIGN_TEST_AUDITOR_KEY: gw.keys['erin'],
      CI: 'true',
    });
    expect(code, out).toBe(0);
    expect(out).toMatch(new RegExp(`^Ran ${EXPECTED_TESTS} tests in `, 'm'));
    expect(out).toMatch(/^OK$/m); // not "OK (skipped=…)"

    // Every call reached the upstream with the gateway's credential, which no key of the agent's opens.
    expect(upstream.calls.length).toBeGreaterThan(0);
    expect(upstream.calls.every((c) => c.headers.authorization === `Bearer ${SECRET}`)).toBe(true);
    // Only the approved refunds ran, each once (inv_idem was submitted three times under one key); none denied, timed
    // out, cancelled, expired, self-approved or refused for its key; no DELETE.
    const posts = upstream.calls.filter((c) => c.method === 'POST').map((c) => `${c.url} ${JSON.parse(c.body).invoice}`);
    expect(posts.sort()).toEqual(['/api/refunds inv_guard_async', '/api/refunds inv_guard_held', '/api/refunds inv_guard_retry_held', '/api/refunds inv_held', '/api/refunds inv_idem']);
    // A guarded call asked again after its submission's answer was lost ran once (test_guard_retry).
    const gets = (invoice: string) => upstream.calls.filter((c) => c.method === 'GET' && c.url === `/api/invoices/${invoice}`).length;
    expect(['inv_guard_retry', 'inv_guard_retry_async', 'inv_guard_explicit'].map(gets)).toEqual([1, 1, 1]);
    expect(upstream.calls.filter((c) => c.method !== 'GET' && c.method !== 'POST')).toEqual([]);
    // The approved UPDATE changed order 7 once; the held DELETE of order 3 never ran.
    const { rows } = await sql.query<{ id: number; status: string }>('SELECT id, status FROM orders ORDER BY id');
    expect(rows).toEqual([
      { id: 1, status: 'open' },
      { id: 2, status: 'open' },
      { id: 3, status: 'open' },
      { id: 7, status: 'void' },
    ]);
  }, 300_000);

  it('fails, not skips, the Python tests under CI=true when no gateway is named', async () => {
    const { code, out } = await unittest({ CI: 'true' });
    expect(code).not.toBe(0);
    expect(out).toMatch(/under CI these tests must run/);
    expect(out).toMatch(/^FAILED \(errors=4\)$/m);
  }, 120_000);
});

describe('the Python error classes', () => {
  it('has one class per code of the registry, named for it, with its sentence', async () => {
    const { ERROR_CODES } = await import('../../src/core/errors.ts');
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', PY_REGISTRY], { env: { PATH: process.env['PATH'], PYTHONPATH: 'clients/python', PYTHONDONTWRITEBYTECODE: '1' } });
    const python = JSON.parse(stdout) as Record<string, { name: string; doc: string; base: boolean }>;
    const camel = (code: string) => code.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
    expect(Object.keys(python).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, sentence] of Object.entries(ERROR_CODES)) {
      expect(python[code], code).toEqual({ name: camel(code), doc: sentence, base: true });
    }
  });

  it('is a package at the gateway’s version with no dependencies', () => {
    const pyproject = readFileSync('clients/python/pyproject.toml', 'utf8');
    const root = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(/^version = "([^"]+)"$/m.exec(pyproject)?.[1]).toBe(root.version);
    expect(readFileSync('clients/python/countersign/version.py', 'utf8')).toContain(`__version__ = "${root.version}"`);
    expect(pyproject).toMatch(/^dependencies = \[\]$/m);
  });
});

describe('the Python tool call key', () => {
  it('is the key the TypeScript adapters make for the same call and action', async () => {
    const { toolCallKey } = await import('../../src/surfaces/sdk/client.ts');
    const action = { connection: 'billing-api', input: { method: 'POST', path: '/refunds', body: { invoice: 'inv_1', amount: 500, note: 'é "q"\n\u0001', n: null } }, reason: 'refund' };
    const py = `import json, sys, countersign\na = json.loads(sys.argv[1])\nprint(json.dumps([countersign.tool_call_key("guard", s, "call_1", a["connection"], a["input"], a["reason"]) for s in (None, "thread-9")]))`;
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', py, JSON.stringify(action)], { env: { PATH: process.env['PATH'], PYTHONPATH: 'clients/python', PYTHONDONTWRITEBYTECODE: '1' } });
    const keys = JSON.parse(stdout) as string[];
    expect(keys).toEqual([await toolCallKey('guard', null, 'call_1', action), await toolCallKey('guard', 'thread-9', 'call_1', action)]);
    expect(keys[0]).not.toBe(await toolCallKey('guard', null, 'call_1', { ...action, reason: 'another' }));
  });
});

/** Prints code → {class name, docstring with its whitespace folded, subclass of CountersignError} for the registry classes. */
const PY_REGISTRY = `
import json, countersign
out = {}
for code, cls in countersign.GATEWAY_ERRORS.items():
    assert getattr(countersign, cls.__name__) is cls, cls.__name__
    out[code] = {"name": cls.__name__, "doc": " ".join(cls.__doc__.split()), "base": issubclass(cls, countersign.CountersignError) and cls.code == code}
print(json.dumps(out))
`;

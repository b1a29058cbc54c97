/**
 * The canary sweep of failures an agent can bring about with its own key, read
 * where an operator reads them: compiled gateways in processes of their own,
 * logging at `trace`. The first has connections that point where nothing good
 * answers: an HTTP upstream whose name does not resolve, one whose certificate
 * is not trusted, one that refuses connections; an exec program that is not
 * there; PostgreSQL targets unreachable, unresolvable, refusing the password,
 * or whose URL does not parse; MCP upstreams over HTTP that are down,
 * untrusted, or answer 401 quoting the headers and URL they got; a webhook
 * whose receiver refuses (a token in its path). And credentials written in the
 * file itself where upstreams quote them back: a key in an MCP URL's query or
 * path, an incoming-webhook token in an HTTP connection's path, `--api-key`
 * and the like on a stdio server's command line. Each failure is asked for over
 * REST, MCP and the Postgres wire. The second has its PostgreSQL store (its
 * password in the URL) cut away mid-run. Then the processes' whole stdout and
 * stderr, every answer, /metrics, /readyz, /healthz, the raw OTLP export bodies
 * and every table of the store are swept for every canary in its plain,
 * URL-encoded, base64, hex and truncated forms.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary, canaryValue, findLeaks } from '../support/canaries.ts';
import { startFakePostgres, type FakePostgres } from '../support/fake-postgres-auth.ts';
import { configYaml, DEFAULT_PRINCIPALS, eventually } from '../support/gateway.ts';
import { startMutableUpstream, type MutableUpstream } from '../support/mcp-upstream.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { silentRelay, type SilentRelay } from '../support/silent-relay.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.ts';
import { call } from '../support/shared-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const CHILD_MAIN = fileURLToPath(new URL('../support/gateway-child.js', import.meta.url));
const ENV = {
  DNS_TOKEN: canaryValue('DnsT'),
  TLS_KEY: canaryValue('TlsK'),
  DOWN_TOKEN: canaryValue('DwnT'),
  EXEC_SECRET: canaryValue('ExMs'),
  PG_DOWN_PASSWORD: canaryValue('PgDn'),
  PG_DNS_PASSWORD: canaryValue('PgDs'),
  PG_WRONG_PASSWORD: canaryValue('PgWp'),
  PG_URL_PASSWORD: canaryValue('PgUr'),
  // A password with characters a URL must encode, written as it is (an operator's slip the schema lets through).
  PG_SLASH_PASSWORD: `${canaryValue('PgSl')}/#x`,
  MCP_DOWN_TOKEN: canaryValue('McDn'),
  MCP_TLS_TOKEN: canaryValue('McTl'),
  MCP_401_TOKEN: canaryValue('Mc41'),
  MCP_QUERY_KEY: canaryValue('McQk'),
  HOOK_PATH_TOKEN: canaryValue('HkPt'),
  WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
  STORE_PASSWORD: canaryValue('StPw'),
  METRICS_TOKEN: canaryValue('MeTk'),
  OTLP_TOKEN: canaryValue('OtlT'),
};
/** Written in the file itself, not taken from the environment: a key in a query string. */
const LITERAL_QUERY_KEY = canaryValue('LtQk');
/** Written in the file too: URLs whose path is the key, as services hand them out (an MCP endpoint, an incoming webhook). */
const LITERAL_PATHS = { mcp: `sk-ak-${canaryValue('LtMp')}`, http: canaryValue('LtHp') + canaryValue('X') };
/** Written in the file too: a stdio server's credentials on its command line, after a flag that names them. */
const LITERAL_ARGS = { '--api-key': canaryValue('LtAk'), '--token=': canaryValue('LtTk'), '--password': canaryValue('LtPw') };
const CANARIES = [
  ...Object.entries(ENV).map(([k, v]) => canary(k, v, v.replace(/^whsec_/, ''))),
  canary('LITERAL_QUERY_KEY', LITERAL_QUERY_KEY),
  ...Object.entries(LITERAL_ARGS).map(([flag, v]) => canary(`literal ${flag}`, v)),
  ...Object.entries(LITERAL_PATHS).map(([k, v]) => canary(`literal path token ${k}`, v)),
];
const ARGV_ECHO = fileURLToPath(new URL('../support/argv-echo-mcp.js', import.meta.url));

const db = await createTestDatabase();
let dir: string;
let child: ChildProcess;
let url: string;
let wirePort: number;
let tls: HttpsServer;
let tlsPort: number;
let echo401: Upstream;
let mcpEcho: MutableUpstream;
let fakePg: FakePostgres;
let otlp: OtlpReceiver;
const keys: Record<string, string> = {};
const out: string[] = [];
/** Every text an agent or operator could read, by where it came from. */
const seen: { where: string; text: string }[] = [];
const keep = (where: string, value: unknown) => seen.push({ where, text: typeof value === 'string' ? value : JSON.stringify(value) });

async function act(connection: string, input: unknown) {
  const res = await call(url, keys['deploy-bot'], '/v1/actions', { body: { connection, input, reason: 'failure sweep' } });
  keep(`POST /v1/actions ${connection}`, res.body);
  return res;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-canary-failures-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  tls = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('{}'));
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  tlsPort = (tls.address() as { port: number }).port;
  // An MCP endpoint that refuses, quoting what it got (its credentials and the URL with its key), as a debug build does.
  echo401 = await startUpstream((c) => ({ status: 401, body: { error: `unauthorized: ${c.url} with ${JSON.stringify(c.headers)}` } }));
  mcpEcho = await startMutableUpstream();
  fakePg = await startFakePostgres({ auth: 'scram', password: 'the-right-password-1' });
  otlp = await startOtlpReceiver();
  const free = createNetServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  wirePort = (free.address() as { port: number }).port;
  await new Promise((r) => free.close(r));
  const body = `tracing: { enabled: true, sampleRatio: 1, otlp: { url: "${otlp.url}", headers: { authorization: "Bearer \${OTLP_TOKEN}" } } }
metrics: { token: "\${METRICS_TOKEN}" }
connections:
  - { name: api-dns, kind: http, url: "http://no-such-host.invalid/x", headers: { Authorization: "Bearer \${DNS_TOKEN}" } }
  - { name: api-tls, kind: http, url: "https://127.0.0.1:${tlsPort}/x", headers: { X-Api-Key: "\${TLS_KEY}" } }
  - { name: api-down, kind: http, url: "http://127.0.0.1:9/x", headers: { Authorization: "Bearer \${DOWN_TOKEN}" } }
  - { name: missing, kind: exec, command: /no/such/program, env: { TOOL_SECRET: "\${EXEC_SECRET}" } }
  - { name: pgdown, kind: postgres, url: "postgres://svc:\${PG_DOWN_PASSWORD}@127.0.0.1:9/app" }
  - { name: pgdns, kind: postgres, url: "postgres://svc:\${PG_DNS_PASSWORD}@no-such-host.invalid/app" }
  - { name: pgport, kind: postgres, url: "postgres://svc:\${PG_URL_PASSWORD}@127.0.0.1:99999/app" }
  - { name: pgslash, kind: postgres, url: "postgres://svc:\${PG_SLASH_PASSWORD}@127.0.0.1:9/app" }
  - { name: pgbad, kind: postgres, url: "postgres://svc:\${PG_WRONG_PASSWORD}@127.0.0.1:${fakePg.port}/app" }
  - { name: mcpdown, kind: mcp, url: "http://127.0.0.1:9/mcp", headers: { Authorization: "Bearer \${MCP_DOWN_TOKEN}" } }
  - { name: mcptls, kind: mcp, url: "https://127.0.0.1:${tlsPort}/mcp", headers: { Authorization: "Bearer \${MCP_TLS_TOKEN}" } }
  - { name: mcp401, kind: mcp, url: "${echo401.url}/mcp?api_key=\${MCP_QUERY_KEY}", headers: { Authorization: "Bearer \${MCP_401_TOKEN}" } }
  - { name: mcpkey, kind: mcp, url: "${echo401.url}/mcp?token=${LITERAL_QUERY_KEY}" }
  - { name: mcpecho, kind: mcp, url: "${mcpEcho.url}?token=${LITERAL_QUERY_KEY}" }
  - { name: mcppath, kind: mcp, url: "${mcpEcho.url.replace(/\/mcp$/, '')}/${LITERAL_PATHS.mcp}/mcp" }
  - { name: api-path, kind: http, url: "${echo401.url}/services/T0123/${LITERAL_PATHS.http}" }
  - { name: argv, kind: mcp, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(ARGV_ECHO)}, --api-key, "${LITERAL_ARGS['--api-key']}", "--token=${LITERAL_ARGS['--token=']}", --password, "${LITERAL_ARGS['--password']}", --verbose] }
channels:
  webhooks: [{ name: ops, url: "${echo401.url}/hooks/\${HOOK_PATH_TOKEN}", secret: "\${WEBHOOK_SECRET}" }]
policy:
  default: allow
  rules:
    - { id: held, when: 'action.reason.contains("hold")', effect: approve, approvers: [{ groups: [sre], count: 1 }] }
`;
  const yaml = configYaml(DEFAULT_PRINCIPALS, keys, body, join(dir, 'countersign.db'), '', `postgres: { port: ${wirePort} }`).replace('log: { level: silent }', 'log: { level: trace }');
  ({ child, url } = await spawnGateway(join(dir, 'countersign.yaml'), yaml, out));
  const config = await call(url, keys['alice'], '/v1/whoami');
  expect(config.status).toBe(200);
}, 30_000);

/** The compiled gateway in a process of its own, everything it writes (its log at trace on stderr) kept in `out`. */
async function spawnGateway(file: string, yaml: string, out: string[]): Promise<{ child: ChildProcess; url: string }> {
  writeFileSync(file, yaml);
  const child = spawn(process.execPath, [CHILD_MAIN, file], { env: { ...process.env, ...ENV, OTEL_BSP_SCHEDULE_DELAY: '100' }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => out.push(d.toString('utf8')));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the gateway exited with ${code}: ${out.join('')}`)));
  });
  lines.on('line', (l) => out.push(l));
  return { child, url: (JSON.parse(ready) as { url: string }).url };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

afterAll(async () => {
  await stop(child);
  await Promise.all([new Promise((r) => tls?.close(r)), echo401?.close(), mcpEcho?.close(), fakePg?.close(), otlp?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('failures an agent brings about, read by an operator', () => {
  it('fails each action over REST with the upstream out of reach', async () => {
    for (const c of ['api-dns', 'api-tls', 'api-down']) expect((await act(c, { method: 'GET', path: '/' })).body.status, c).toBe('failed');
    expect((await act('missing', { args: ['--version'] })).body.status).toBe('failed');
    for (const c of ['pgdown', 'pgdns', 'pgbad']) expect((await act(c, { sql: 'SELECT 1' })).body.status, c).toBe('failed');
    for (const c of ['pgport', 'pgslash']) keep(`sql ${c}`, await act(c, { sql: 'SELECT 1' }));
    expect(fakePg.startups.length).toBeGreaterThan(0);
    for (const c of ['mcpdown', 'mcptls', 'mcp401']) keep(`mcp ${c}`, await act(c, { tool: 'anything', arguments: {} }));
    expect(echo401.calls.length).toBeGreaterThan(0);
    const echoed = await act('mcpecho', { tool: 'greet', arguments: { name: 'url' } });
    expect(echoed.body.status).toBe('succeeded');
    expect(JSON.stringify(echoed.body.result)).toContain('hello from /mcp?token=');
    const pathEcho = await act('mcppath', { tool: 'greet', arguments: { name: 'url' } });
    expect(pathEcho.body.status).toBe('succeeded');
    expect(JSON.stringify(pathEcho.body.result)).toMatch(/hello from \/[^/]+\/mcp/);
    const hook = await act('api-path', { method: 'POST', path: '/', body: {} });
    expect(JSON.stringify(hook.body.result)).toContain('unauthorized: /services/T0123/');
    const argv = await act('argv', { tool: 'whoami', arguments: {} });
    expect(argv.body.status).toBe('succeeded');
    expect(JSON.stringify(argv.body.result)).toContain('--verbose');
    const held = await call(url, keys['deploy-bot'], '/v1/actions', { body: { connection: 'api-down', input: { method: 'POST', path: '/' }, reason: 'hold: a write' } });
    expect(held.status).toBe(202);
    keep('held', held.body);
  });

  it('fails them over MCP and the Postgres wire too', async () => {
    const agent = new Client({ name: 'failure-sweep', version: '1.0.0' });
    await agent.connect(new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: { authorization: `Bearer ${keys['deploy-bot']}` } } }));
    try {
      keep('mcp tools/list', await agent.listTools());
      for (const name of ['mcpdown__x', 'mcp401__x', 'mcptls__x']) keep(`mcp call ${name}`, await agent.callTool({ name, arguments: {} }).catch((e: unknown) => String(e)));
    } finally {
      await agent.close();
    }
    for (const database of ['pgdown', 'pgdns', 'pgbad', 'pgport', 'pgslash']) {
      const c = new pg.Client({ host: '127.0.0.1', port: wirePort, user: 'deploy-bot', password: keys['deploy-bot'], database, ssl: false });
      const e = await c.connect().then(() => c.query('SELECT 1')).catch((x: unknown) => x);
      expect(e, database).toBeInstanceOf(Error);
      keep(`pg wire ${database}`, { ...(e as object), message: (e as Error).message });
      await c.end().catch(() => undefined);
    }
  });

  it('keeps every canary out of the log, the answers, the probes and the traces', async () => {
    await eventually(async () => (Object.values(((await (await fetch(`${url}/readyz`)).json()) as { channels: Record<string, { status: string }> }).channels).some((ch) => ch.status === 'failing') ? true : undefined), 8000);
    for (const p of ['/healthz', '/readyz']) keep(p, await (await fetch(`${url}${p}`)).text());
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ENV.METRICS_TOKEN}` } });
    expect(metrics.status).toBe(200);
    keep('/metrics', await metrics.text());
    keep('REST requests', (await call(url, keys['alice'], '/v1/requests?status=failed&limit=100')).body);
    // Every row of every table of the store (this gateway's own SQLite file, whichever store the suite runs on).
    const store = new Database(join(dir, 'countersign.db'), { readonly: true, fileMustExist: true });
    try {
      const tables = store.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      for (const { name } of tables) keep(`store table ${name}`, store.prepare(`SELECT * FROM "${name}"`).all());
      expect((store.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n).toBeGreaterThan(20);
    } finally {
      store.close();
    }
    await eventually(async () => (otlp.bodies.length > 0 ? true : undefined), 5000);
    keep('otlp export bodies', otlp.bodies.join('\n'));
    // The log at trace holds the failures (so its silence on the canaries is the gateway's doing).
    const log = out.join('');
    expect(log).toMatch(/"level":10|"level":20/);
    keep('gateway stdout and stderr', log);
    const leaks = seen.flatMap((s) => findLeaks(s.text, CANARIES).map((l) => `${s.where} → ${l}`));
    expect(leaks).toEqual([]);
  });
});

describe.skipIf(!db)('a gateway whose PostgreSQL store goes away, its password in the URL', () => {
  let relay: SilentRelay;
  let storeChild: ChildProcess;
  let storeUrl: string;
  const storeOut: string[] = [];
  const storeKeys: Record<string, string> = {};

  beforeAll(async () => {
    relay = await silentRelay(db!.url);
    const through = new URL(relay.url);
    const store = `store: { postgres: { url: "postgres://postgres:\${STORE_PASSWORD}@${through.host}${through.pathname}", connectTimeout: 1 } }`;
    const yaml = configYaml(DEFAULT_PRINCIPALS, storeKeys, `metrics: { token: "\${METRICS_TOKEN}" }\npolicy:\n  default: allow\n`, join(dir, 'store', 'countersign.db'))
      .replace(/^store: .*$/m, store)
      .replace('log: { level: silent }', 'log: { level: trace }');
    ({ child: storeChild, url: storeUrl } = await spawnGateway(join(dir, 'store.yaml'), yaml, storeOut));
    expect((await fetch(`${storeUrl}/readyz`)).status).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await stop(storeChild);
    await relay?.close().catch(() => undefined);
    await db?.drop();
  });

  it('answers the probes, the scrape and an agent without the password, and logs none', async () => {
    await relay.close();
    const ready = await eventually(async () => {
      const r = await fetch(`${storeUrl}/readyz`);
      return r.status === 503 ? r.text() : undefined;
    }, 8000);
    const answers = [
      ['/readyz', ready],
      ['/healthz', await (await fetch(`${storeUrl}/healthz`)).text()],
      ['/metrics', await (await fetch(`${storeUrl}/metrics`, { headers: { authorization: `Bearer ${ENV.METRICS_TOKEN}` } })).text()],
      ['POST /v1/actions', JSON.stringify((await call(storeUrl, storeKeys['deploy-bot'], '/v1/actions', { body: { connection: 'none', input: {}, reason: 'store gone' } })).body)],
      ['GET /v1/requests', JSON.stringify((await call(storeUrl, storeKeys['alice'], '/v1/requests')).body)],
    ];
    // The log says the store failed (so its silence on the password is the gateway's doing).
    await eventually(async () => (/the store did not answer/.test(storeOut.join('')) ? true : undefined), 5000);
    await stop(storeChild);
    answers.push(['gateway stdout and stderr', storeOut.join('')]);
    const leaks = answers.flatMap(([where, text]) => findLeaks(text!, CANARIES).map((l) => `${where} → ${l}`));
    expect(leaks).toEqual([]);
  }, 30_000);
});

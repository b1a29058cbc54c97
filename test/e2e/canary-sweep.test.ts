/**
 * A whole-product canary sweep: one gateway whose every secret is a
 * distinctive canary from the environment (`${VAR}`): HTTP bearer, basic and
 * header credentials, an exec env secret, a stdio MCP env secret, a real
 * PostgreSQL role's password, a wrong-password variant for a server that
 * checks it, Slack bot token and signing secret, Teams app password, the
 * console login's client secret, a webhook secret, the metrics and OTLP
 * tokens; besides them the audit keys on disk and the principals' API keys.
 * Flows of every kind run, allowed, held, approved (REST, Slack, Teams) and
 * denied, and fail (an HTTP 500 quoting its request headers, a failed
 * password, SQL errors, an exec printing its environment and exiting 3, an
 * MCP tool error quoting its environment, an upstream that is down, bad API
 * keys). Then every surface an outsider or an operator reads is swept for
 * each canary in its plain, URL-encoded, base64, hex and truncated forms:
 * responses, console pages, REST reads, /metrics, /readyz, /healthz, spans,
 * CLI output and export files, store rows, chat messages, webhook payloads
 * and the debug log. The flows' own outcomes are asserted too, so the sweep
 * cannot pass by running nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCliHere } from '../support/audit-gateway.ts';
import { canary, canaryValue, filesUnder, findLeaks, keyDirCanaries, type Canary } from '../support/canaries.ts';
import { getPage, postLogin, signIn } from '../support/console.ts';
import { formsOf, HttpBrowser } from '../support/http-browser.ts';
import { startFakeBotFramework, type FakeBotFramework } from '../support/fake-botframework.ts';
import { startFakePostgres, type FakePostgres } from '../support/fake-postgres-auth.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { readDb } from '../support/sqlite.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const MCP_SERVER = fileURLToPath(new URL('../support/env-echo-mcp.js', import.meta.url));
const PG_ROLE = `cs_canary_${randomBytes(4).toString('hex')}`;
const basicPass = canaryValue('BaPw');
const ENV = {
  HTTP_BEARER: canaryValue('HtBr'),
  HTTP_BASIC: Buffer.from(`svc:${basicPass}`).toString('base64'),
  HTTP_HEADER_KEY: canaryValue('HtHk'),
  DOWN_TOKEN: canaryValue('DnTk'),
  // A numeric credential (an account PIN), which a JSON upstream may echo as a number.
  HTTP_PIN: `${1 + (randomBytes(1)[0]! % 8)}${[...randomBytes(14)].map((b) => b % 10).join('')}`,
  EXEC_SECRET: canaryValue('ExSc'),
  MCP_SECRET: canaryValue('McSc'),
  PG_PASSWORD: canaryValue('PgPw'),
  PG_WRONG_PASSWORD: `${canaryValue('PgWr')}`,
  SLACK_BOT_TOKEN: `xoxb-${canaryValue('SkBt')}`,
  SLACK_SIGNING_SECRET: canaryValue('SkSg'),
  TEAMS_APP_PASSWORD: canaryValue('TmPw'),
  OIDC_CLIENT_SECRET: canaryValue('OcCs'),
  WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
  WEBHOOK_PATH_TOKEN: canaryValue('WhPt'),
  METRICS_TOKEN: canaryValue('MtTk'),
  OTLP_TOKEN: canaryValue('OtTk'),
};
const EMAILS: Record<string, string> = { alice: 'alice@example.com', bob: 'bob@example.com', carol: 'carol@example.com', dave: 'dave@example.com' };
const AAD = { alice: 'aaaaaaaa-0000-0000-0000-000000000001', bob: 'aaaaaaaa-0000-0000-0000-000000000002' };
const PRINCIPALS: TestPrincipal[] = [...DEFAULT_PRINCIPALS.map((p) => (EMAILS[p.id] ? { ...p, email: EMAILS[p.id] } : p)), { id: 'erin', kind: 'human', email: 'erin@example.com', roles: ['auditor', 'admin'] }];

const db = await createTestDatabase();
let upstream: Upstream;
let hooks: Upstream;
let slack: FakeSlack;
let bf: FakeBotFramework;
let op: TestOidcProvider;
let otlp: OtlpReceiver;
let fakePg: FakePostgres;
let gw: TestGateway;
let work: string;
const logs: string[] = [];
/** Every text an outsider or operator could read, by where it came from. */
const seen: { where: string; text: string }[] = [];
const keep = (where: string, value: unknown) => seen.push({ where, text: typeof value === 'string' ? value : JSON.stringify(value) });
const ids: Record<string, string> = {};
/** API keys tried that were one character off a real one. */
const seenNearMiss: string[] = [];
/** Console session cookies: credentials as much as a key. */
const sessions: string[] = [];

async function act(name: string, connection: string, input: unknown, reason = 'canary sweep', as = 'deploy-bot') {
  const res = await gw.as(as, '/v1/actions', { body: { connection, input, reason } });
  keep(`POST /v1/actions ${name}`, res.body);
  if (typeof res.body?.id === 'string') ids[name] = res.body.id;
  return res;
}

/** What a debug endpoint says of Basic credentials: the user and password it decoded. */
function basicOf(authorization: string | undefined): { basic?: string } {
  const m = /^Basic (.+)$/.exec(authorization ?? '');
  return m ? { basic: `decoded ${Buffer.from(m[1]!, 'base64').toString('utf8')}` } : {};
}

/** What a JSON API says of a numeric credential: the number. */
function pinOf(pin: string | string[] | undefined): { account?: { pin: number } } {
  return typeof pin === 'string' ? { account: { pin: Number(pin) } } : {};
}

/** The real CLI, with the gateway's environment (its canaries too: a CLI that echoed its environment would show). */
const runCli = (args: string[], env: Record<string, string>) => runCliHere(args, env);

const settled = (id: string) =>
  eventually(async () => {
    const r = await gw.as('alice', `/v1/requests/${id}`);
    return ['succeeded', 'failed', 'denied'].includes(r.body.status) ? r.body : undefined;
  }, 15_000);

beforeAll(async () => {
  vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '100');
  for (const [k, v] of Object.entries(ENV)) vi.stubEnv(k, v);
  work = mkdtempSync(join(tmpdir(), 'cs-canary-'));
  const admin = new pg.Client({ connectionString: db!.url });
  await admin.connect();
  await admin.query(`CREATE ROLE ${PG_ROLE} LOGIN PASSWORD '${ENV.PG_PASSWORD}'; CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL); INSERT INTO t VALUES (1, 0); GRANT ALL ON t TO ${PG_ROLE};`);
  await admin.end();
  const pgUrl = new URL(db!.url);
  // Every answer quotes the request's headers (credentials included), as a debug endpoint does; /fail with a 500.
  upstream = await startUpstream((call) => ({ status: call.url.includes('/fail') ? 500 : 200, body: { error: call.url.includes('/fail') ? 'boom' : undefined, headers: call.headers, ...basicOf(call.headers['authorization']), ...pinOf(call.headers['x-account-pin']) } }));
  // The first deliveries fail with an answer quoting the path they came to (a secret in it).
  hooks = await startUpstream((call) => (hooks.calls.length <= 2 ? { status: 500, body: { error: `no receiver at ${call.url}` } } : { status: 204 }));
  slack = await startFakeSlack({ botToken: ENV.SLACK_BOT_TOKEN, signingSecret: ENV.SLACK_SIGNING_SECRET });
  for (const [id, email] of Object.entries(EMAILS)) slack.users.set(`U${id.toUpperCase()}`, { id: `U${id.toUpperCase()}`, email });
  bf = await startFakeBotFramework({ appPassword: ENV.TEAMS_APP_PASSWORD });
  for (const [id, aad] of Object.entries(AAD)) bf.members.set(aad, { aadObjectId: aad, email: EMAILS[id]!, name: id });
  op = await startTestOidcProvider({ clientSecret: ENV.OIDC_CLIENT_SECRET });
  otlp = await startOtlpReceiver();
  fakePg = await startFakePostgres({ auth: 'scram', password: ENV.PG_PASSWORD });
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  gw = await startTestGateway(
    `tracing: { enabled: true, sampleRatio: 1, otlp: { url: "${otlp.url}", headers: { authorization: "Bearer \${OTLP_TOKEN}" } } }
metrics: { token: "\${METRICS_TOKEN}" }
identity:
  login: { issuer: ${op.issuer}, clientId: ${op.clientId}, clientSecret: "\${OIDC_CLIENT_SECRET}", scopes: [openid, email] }
channels:
  slack: { botToken: "\${SLACK_BOT_TOKEN}", signingSecret: "\${SLACK_SIGNING_SECRET}", channel: C0APPROVALS, teamId: ${slack.teamId}, appId: ${slack.appId}, apiUrl: "${slack.apiUrl}" }
  teams: { appId: ${bf.appId}, appPassword: "\${TEAMS_APP_PASSWORD}", tenantId: ${bf.tenantId}, conversation: { serviceUrl: "${bf.serviceUrl}", id: "19:approvals@thread.tacv2" }, openIdMetadataUrl: "${bf.openIdMetadataUrl}", tokenUrl: "${bf.tokenUrl}" }
  webhooks: [{ name: ops, url: "${hooks.url}/hooks/\${WEBHOOK_PATH_TOKEN}", secret: "\${WEBHOOK_SECRET}" }]
connections:
  - { name: api-bearer, kind: http, url: "${upstream.url}/b", headers: { Authorization: "Bearer \${HTTP_BEARER}" } }
  - { name: api-basic, kind: http, url: "${upstream.url}/p", headers: { Authorization: "Basic \${HTTP_BASIC}" } }
  - { name: api-header, kind: http, url: "${upstream.url}/h", headers: { X-Api-Key: "\${HTTP_HEADER_KEY}", X-Account-Pin: "\${HTTP_PIN}" } }
  - { name: api-down, kind: http, url: "http://127.0.0.1:9/x", headers: { Authorization: "Bearer \${DOWN_TOKEN}" } }
  - { name: sh, kind: exec, command: /bin/sh, env: { TOOL_SECRET: "\${EXEC_SECRET}" } }
  - { name: tool, kind: mcp, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(MCP_SERVER)}], env: { TOOL_SECRET: "\${MCP_SECRET}" } }
  - { name: pgdb, kind: postgres, url: "postgres://${PG_ROLE}:\${PG_PASSWORD}@127.0.0.1:${pgUrl.port || 5432}${pgUrl.pathname}" }
  - { name: pgbad, kind: postgres, url: "postgres://svc:\${PG_WRONG_PASSWORD}@127.0.0.1:${fakePg.port}/app" }
policy:
  default: allow
  rules:
    - { id: forbidden, when: 'action.reason.contains("forbid")', effect: deny }
    - { id: held, when: 'action.reason.contains("hold")', effect: approve, approvers: [{ groups: [sre], count: 1 }] }
`,
    { principals: PRINCIPALS, env: ENV, logger, server: 'postgres: { port: 0 }' },
  );
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts: { bob: { email: 'bob@example.com' } } });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([upstream?.close(), hooks?.close(), slack?.close(), bf?.close(), op?.close(), otlp?.close(), fakePg?.close()]);
  await db?.drop();
  const admin = new pg.Client({ connectionString: db!.url.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${PG_ROLE}`);
  await admin.end();
  if (work) rmSync(work, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

describe.skipIf(!db)('a gateway whose every secret is a canary', () => {
  it('runs allowed actions of each kind, and their failures, with the upstreams answering', async () => {
    for (const c of ['api-bearer', 'api-basic', 'api-header']) {
      const ok = await act(`${c} get`, c, { method: 'GET', path: '/ok' });
      expect(ok.body.status, c).toBe('succeeded');
      // Each echoed its credential back: as a header, a decoded Basic pair, a number.
      expect(JSON.stringify(ok.body.result), c).toMatch({ 'api-bearer': /authorization/, 'api-basic': /decoded /, 'api-header': /pin\\?":/ }[c]!);
      const fail = await act(`${c} 500`, c, { method: 'GET', path: '/fail' });
      expect(fail.body.status, c).toBe('failed');
    }
    // The upstream did get the credentials (so their absence below is the gateway's doing).
    expect(upstream.calls.map((c) => `${c.headers['authorization'] ?? ''}${c.headers['x-api-key'] ?? ''}`).join()).toContain(ENV.HTTP_BEARER);
    expect((await act('down', 'api-down', { method: 'GET', path: '/' })).body.status).toBe('failed');
    const sh = await act('exec env exit 3', 'sh', { args: ['-c', 'env; echo "$TOOL_SECRET" >&2; exit 3'] });
    expect(sh.body.status).toBe('failed');
    expect(sh.body.result.exitCode).toBe(3);
    expect(JSON.stringify(sh.body.result)).toContain('TOOL_SECRET=');
    expect((await act('exec ok', 'sh', { args: ['-c', 'echo hello'] })).body.status).toBe('succeeded');
    const mcp = await act('mcp error', 'tool', { tool: 'diagnose', arguments: {} });
    expect(JSON.stringify(mcp.body)).toContain('environment was');
    expect((await act('mcp crash', 'tool', { tool: 'crash', arguments: {} })).body.status).toBe('failed');
    const read = await act('sql read', 'pgdb', { sql: 'SELECT id, n FROM t' });
    expect(read.body.status).toBe('succeeded');
    expect((await act('sql error', 'pgdb', { sql: 'SELECT 1/0' })).body.status).toBe('failed');
    expect((await act('sql missing', 'pgdb', { sql: 'SELECT * FROM no_such_table' })).body.status).toBe('failed');
    expect((await act('sql whoami', 'pgdb', { sql: 'SELECT current_user, inet_server_port()' })).body.status).toBe('succeeded');
    const bad = await act('pg wrong password', 'pgbad', { sql: 'SELECT 1' });
    expect(bad.body.status).toBe('failed');
    expect(fakePg.startups.length).toBeGreaterThan(0);
  }, 60_000);

  it('holds actions of each kind; approves them over REST, Slack and Teams; denies by policy and by a reviewer', async () => {
    const held = {
      http: await act('held http', 'api-header', { method: 'POST', path: '/fail', body: { a: 1 } }, 'hold: write'),
      exec: await act('held exec', 'sh', { args: ['-c', 'env; exit 4'] }, 'hold: exec'),
      mcp: await act('held mcp', 'tool', { tool: 'diagnose', arguments: {} }, 'hold: mcp'),
      sql: await act('held sql', 'pgdb', { sql: 'UPDATE t SET n = n + 1 WHERE id = 1' }, 'hold: sql'),
      denied: await act('held denied', 'api-bearer', { method: 'POST', path: '/ok' }, 'hold: to be denied'),
    };
    for (const [k, r] of Object.entries(held)) expect(r.status, k).toBe(202);
    const rest = await gw.as('alice', `/v1/requests/${held.http.body.id}/reviews`, { body: { verdict: 'approve' } });
    expect(rest.status).toBe(200);
    await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body).includes(held.exec.body.id));
    expect((await slack.click(gw.url, { user: 'UALICE', action: 'approve', requestId: held.exec.body.id })).status).toBe(200);
    await eventually(async () => (bf.posted.some((a) => JSON.stringify(a.body).includes(held.mcp.body.id)) ? true : undefined));
    const teams = await bf.send(`${gw.url}/integrations/teams/messages`, bf.invokeActivity({ verb: 'approve', requestId: held.mcp.body.id, aadObjectId: AAD.alice }));
    expect(teams.status).toBe(200);
    keep('teams invoke answer', teams.body);
    expect((await gw.as('bob', `/v1/requests/${held.sql.body.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    expect((await gw.as('bob', `/v1/requests/${held.denied.body.id}/reviews`, { body: { verdict: 'deny', comment: 'no' } })).status).toBe(200);
    const finals = await Promise.all(Object.values(held).map((r) => settled(r.body.id as string)));
    keep('settled held requests', finals);
    expect(finals.map((f) => f.status)).toEqual(['failed', 'failed', expect.stringMatching(/succeeded|failed/), 'succeeded', 'denied']);
    const forbidden = await act('forbidden', 'api-bearer', { method: 'GET', path: '/ok' }, 'forbid this');
    expect(forbidden.status).toBe(403);
    await eventually(async () => (hooks.calls.length >= 8 ? true : undefined), 15_000);
    expect(hooks.calls.map((c) => c.url)).toContain(`/hooks/${ENV.WEBHOOK_PATH_TOKEN}`);
  }, 60_000);

  it('refuses bad API keys and misplaced ones, and says so without repeating them', async () => {
    const near = `${gw.keys['deploy-bot']!}x`;
    seenNearMiss.push(near);
    const other = gw.keys['other-bot']!;
    const tries: [string, Record<string, string>][] = [
      ['/v1/requests', { authorization: `Bearer ${near}` }],
      ['/v1/requests', { authorization: `Bearer ${gw.keys['deploy-bot']!.slice(0, -2)}` }],
      ['/v1/requests', { authorization: `Basic ${Buffer.from(`deploy-bot:${other}`).toString('base64')}` }],
      ['/v1/requests', { authorization: other }],
      ['/v1/requests', { authorization: `Token ${other}` }],
      ['/v1/requests', { authorization: `Bearer ${other} ${other}` }],
      ['/v1/requests', { 'x-api-key': other }],
      ['/mcp', { authorization: `Bearer ${near}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json' }],
    ];
    for (const [path, headers] of tries) {
      const res = await fetch(`${gw.url}${path}`, { method: path === '/mcp' ? 'POST' : 'GET', headers, ...(path === '/mcp' ? { body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' } : {}) });
      expect(res.status, JSON.stringify(Object.keys(headers))).toBe(401);
      keep(`bad key answer ${path}`, `${[...res.headers].join('\n')}\n${await res.text()}`);
    }
    // The console's sign-in form, with the near miss.
    const form = await postLogin(gw.url, near);
    expect(form.status).toBeLessThan(500);
    keep('console sign-in refused', `${[...form.headers].join('\n')}\n${await form.text()}`);
    // The CLI, with the near miss in its environment.
    const cli = await runCli(['requests', 'list', '--url', gw.url], { COUNTERSIGN_KEY: near });
    expect(cli.code).not.toBe(0);
    keep('cli refused', cli);
  });

  it('serves MCP agents the tools and their failures', async () => {
    const agent = new Client({ name: 'canary-agent', version: '1.0.0' });
    await agent.connect(new StreamableHTTPClientTransport(new URL('/mcp', gw.url), { requestInit: { headers: { authorization: `Bearer ${gw.keys['deploy-bot']}` } } }));
    try {
      const tools = await agent.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('tool__status');
      keep('mcp tools/list', tools);
      keep('mcp instructions', agent.getInstructions() ?? '');
      for (const name of ['tool__diagnose', 'tool__status']) {
        const r = await agent.callTool({ name, arguments: {} });
        keep(`mcp tools/call ${name}`, r);
      }
    } finally {
      await agent.close();
    }
  });

  it('answers Postgres wire clients, good and bad, without a secret in a message', async () => {
    const wire = (database: string, password = gw.keys['deploy-bot']!) => new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: 'deploy-bot', password, database, ssl: false });
    const ok = wire('pgdb');
    await ok.connect();
    expect((await ok.query('SELECT n FROM t')).rows).toHaveLength(1);
    const err = await ok.query('SELECT 1/0').catch((e: unknown) => e);
    keep('pg wire SQL error', { ...(err as object), message: (err as Error).message });
    expect(String(err)).toMatch(/division by zero/);
    await ok.end();
    // A client with user and password swapped: the key arrives as the user name.
    const swapped = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: gw.keys['other-bot']!, password: 'other-bot', database: 'pgdb', ssl: false });
    for (const [where, c] of [['pg wire, upstream password refused', wire('pgbad')], ['pg wire, near-miss API key', wire('pgdb', `${gw.keys['deploy-bot']!}x`)], ['pg wire, key as user name', swapped]] as const) {
      const e = await c.connect().then(() => c.query('SELECT 1')).catch((x: unknown) => x);
      expect(e, where).toBeInstanceOf(Error);
      keep(where, { ...(e as object), message: (e as Error).message });
      await c.end().catch(() => undefined);
    }
  });

  it('signs a human in through the identity provider (the client secret at work), and refuses a forged callback', async () => {
    const browser = new HttpBrowser();
    let page = await browser.follow(`${gw.url}/auth/oidc/start?next=/activity`);
    page = await browser.submit(page, { login: 'bob', password: 'any' });
    if (formsOf(page.html).some((f) => f.fields['prompt'] === 'consent')) page = await browser.submit(page);
    expect(page.url).toBe(`${gw.url}/activity`);
    keep('oidc landing page', page.html);
    sessions.push(...browser.cookies(gw.url).values());
    const forged = await browser.follow(`${gw.url}/auth/oidc/callback?code=forged&state=forged`);
    expect(forged.status).toBeGreaterThanOrEqual(400);
    keep('oidc forged callback', forged.html);
  });

  it('keeps every canary out of every surface', async () => {
    const pages = await signIn(gw.url, gw.keys['erin']!);
    sessions.push(pages.cookie.split('=')[1]!);
    const reads = ['/', '/activity', '/audit', '/policy', '/coverage', '/grants', '/shadow', ...Object.values(ids).map((id) => `/requests/${id}`)];
    for (const p of reads) {
      const res = await getPage(gw.url, pages, p);
      expect(res.status, p).toBeLessThan(400);
      keep(`console ${p}`, await res.text());
    }
    for (const p of ['/v1/requests?status=pending,approved,denied,expired,cancelled,executing,succeeded,failed&limit=200', '/v1/audit/events?limit=1000', '/v1/policy/coverage', '/v1/policy/shadow', '/v1/mcp/tools', '/v1/whoami', '/v1/grants', '/v1/audit/checkpoints', ...Object.values(ids).map((id) => `/v1/requests/${id}`)]) {
      const res = await gw.as('erin', p);
      keep(`REST ${p} ${res.status}`, res.body);
    }
    for (const id of Object.values(ids).slice(0, 6)) keep(`SSE /v1/requests/${id}/events`, await (await fetch(`${gw.url}/v1/requests/${id}/events`, { headers: { authorization: `Bearer ${gw.keys['erin']}` }, signal: AbortSignal.timeout(5000) })).text());
    for (const p of ['/audit/export', '/audit/bundle', '/audit/evidence']) keep(`console download ${p}`, await (await getPage(gw.url, pages, p)).text());
    for (const p of ['/healthz', '/readyz']) keep(p, await (await fetch(`${gw.url}${p}`)).text());
    const metrics = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ENV.METRICS_TOKEN}` } });
    expect(metrics.status).toBe(200);
    keep('/metrics', await metrics.text());
    keep('/metrics refused', await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ENV.METRICS_TOKEN.slice(0, -1)}` } })).text());

    const cli = (...args: string[]) => runCli(args, { COUNTERSIGN_KEY: gw.keys['erin']! });
    const show = await cli('requests', 'show', ids['exec env exit 3']!, '--url', gw.url);
    expect(show.code, show.stderr).toBe(0);
    keep('cli requests show', show);
    const bundle = join(work, 'bundle');
    const exp = await cli('audit', 'export', '--url', gw.url, '--out', bundle);
    expect(exp.code, exp.stderr).toBe(0);
    keep('cli audit export', exp);
    const day = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
    const ev = await cli('evidence', 'report', '--url', gw.url, '--from', day(-1), '--to', day(2), '--framework', 'soc2', '--out', join(work, 'ev.html'));
    expect(ev.code, ev.stderr).toBe(0);
    keep('cli evidence report', ev);
    keep('evidence html', readFileSync(join(work, 'ev.html'), 'utf8'));
    keep('evidence json', readFileSync(join(work, 'ev.json'), 'utf8'));
    for (const f of filesUnder(bundle)) keep(`bundle ${f.name}`, f.text);

    const events = await storedAudit(gw.deps.store);
    expect(events.length).toBeGreaterThan(40);
    keep('store audit events', events);
    keep('store requests', await Promise.all(Object.values(ids).map((id) => gw.deps.store.getRequest(id))));
    // Under the port too: every row of every table (sessions, outbox with its errors, pins, known humans).
    readDb(gw.dbPath, (d) => {
      for (const { name } of d.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]) keep(`store table ${name}`, d.prepare(`SELECT * FROM "${name}"`).all());
    });
    keep('slack calls (bodies)', slack.calls.map((c) => c.body));
    keep('slack responses', slack.responses);
    expect(slack.calls.length).toBeGreaterThan(3);
    keep('teams activities (bodies)', [...bf.posted, ...bf.updated].map((a) => a.body));
    expect(bf.posted.length).toBeGreaterThan(3);
    keep('webhook payloads', hooks.calls.map((c) => c.body));
    const spans = await otlp.waitFor((s) => (s.length > 20 ? s : undefined), 10_000);
    keep('otlp spans', spans);
    keep('debug log', logs.join('\n'));
    expect(logs.length).toBeGreaterThan(20);

    const canaries: Canary[] = [
      ...Object.entries(ENV).map(([k, v]) => canary(k, v, v.replace(/^(xoxb-|whsec_)/, ''))),
      canary('basic password', basicPass),
      ...Object.entries(gw.keys).map(([who, key]) => canary(`api key of ${who}`, key, key.slice(3))),
      ...sessions.filter((v) => v.length >= 16).map((v, i) => canary(`session cookie ${i}`, v)),
      ...seenNearMiss.map((k) => canary('near-miss api key', k, k.slice(3))),
      ...keyDirCanaries(join(gw.dir, 'keys')),
      ...bf.issuedTokens.map((t, i) => canary(`teams access token ${i}`, t, t.slice(-16))),
    ];
    expect(canaries.length).toBeGreaterThan(25);
    const leaks = seen.flatMap((s) => findLeaks(s.text, canaries).map((l) => `${s.where} → ${l}`));
    expect(leaks).toEqual([]);
    // And the sweep sees a leak when there is one: a truncated token, a base64 password.
    expect(findLeaks(`x ${ENV.HTTP_BEARER.slice(0, 9)} ${Buffer.from(ENV.PG_PASSWORD).toString('base64')}`, canaries)).toHaveLength(2);
  }, 120_000);
});

/**
 * The coverage map end to end: a real gateway serves it over REST (auditors
 * only) and in the console (Chromium), and `countersign policy coverage`
 * computes the same map from the config file alone. The policy has a dozen
 * rules, several on what only the action tells (tables, the SQL text, the
 * HTTP path, the sub-command); the cells checked are computed by hand below.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoverageCell, CoverageMap } from '../../src/core/policy/coverage.ts';
import { CHROMIUM, launchBrowser, signInWithKey, type TestBrowser } from '../support/browser.ts';
import { startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';

const BIN = resolve('bin/countersign.js');

const PRINCIPALS: TestPrincipal[] = [
  { id: 'deploy-bot', kind: 'agent', groups: ['ci'] },
  { id: 'alice', kind: 'human', groups: ['sre'] },
  { id: 'ann', kind: 'human', groups: ['audit'] },
  { id: 'dave', kind: 'human', groups: ['dev'] },
];

const CONNECTIONS = `connections:
  - { name: orders-db, kind: postgres, url: "postgres://nobody@127.0.0.1:1/orders", tags: { env: prod, data: pii } }
  - { name: analytics-db, kind: postgres, url: "postgres://nobody@127.0.0.1:1/analytics", tags: { env: staging } }
  - { name: billing-api, kind: http, url: "http://127.0.0.1:9", tags: { env: [eu, Production] } }
  - { name: ops, kind: exec, command: /bin/echo, tags: { env: prod } }
roles: { auditor: [audit] }
`;

/**
 * `open`: three rules that let a prod write through unreviewed, and reads named by method (which a method the
 * map cannot name, PROPFIND or any other, might be: the `other` class); closed: none of them, reads by facts.writes.
 */
const policy = (open: boolean) => `policy:
  default: deny
  rules:
    - { id: sql-reads, when: facts.sql.readOnly, effect: allow }
    - { id: no-ddl-prod, when: 'connection.tags.env == "prod" && facts.sql.ddl', effect: deny }
    - id: orders-writes
      when: 'action.connection == "orders-db" && facts.sql.writes && !("sre" in principal.groups)'
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
    - id: pii-tables
      when: '"customers" in facts.sql.tables && facts.sql.writes'
      effect: approve
      approvers: [{ groups: [dba] }]
    - { id: analytics-free, when: 'action.connection == "analytics-db" && facts.sql.writes && !facts.sql.unboundedWrite', effect: allow }
${open ? `    - id: sre-scratch
      when: '"sre" in principal.groups && action.connection == "orders-db" && facts.sql.writes && facts.sql.tables.all(t, t.startsWith("scratch_"))'
      effect: allow
` : ''}    - { id: billing-reads, when: 'action.connection == "billing-api" && ${open ? 'facts.http.method in ["GET", "HEAD"]' : '!facts.writes'}', effect: allow }
    - id: billing-refunds
      when: 'action.connection == "billing-api" && facts.http.method == "POST" && facts.http.path.startsWith("/refunds")'
      effect: approve
      approvers: [{ groups: [sre] }]
${open ? `    - { id: billing-webhook-test, when: 'action.connection == "billing-api" && facts.http.method == "POST" && facts.http.path == "/webhooks/test"', effect: allow }
    - { id: ops-status, when: 'action.connection == "ops" && facts.exec.subcommand == "status"', effect: allow }
` : ''}    - { id: agents-no-delete, when: 'principal.kind == "agent" && facts.http.method == "DELETE"', effect: deny }
    - id: ops-held
      when: 'action.connection == "ops" && facts.exec.subcommand != "status"'
      effect: approve
      approvers: [{ principals: [alice] }]
    - { id: hotfix-note, when: 'action.reason.contains("hotfix") && facts.kind == "postgres"', effect: approve, approvers: [{ groups: [sre] }] }
`;

const haveChromium = existsSync(CHROMIUM);
let gw: TestGateway;
let dir: string;
let browser: TestBrowser | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-coverage-'));
  gw = await startTestGateway(CONNECTIONS + policy(true), { principals: PRINCIPALS });
  if (haveChromium) browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, PORT: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

function configFile(yaml: string): string {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

const cellOf = (map: CoverageMap, row: string, connection: string, cls: string) =>
  map.cells.find((c) => c.row === row && c.connection === connection && c.class === cls) as CoverageCell;

describe('GET /v1/policy/coverage', () => {
  it('refuses an agent and a human without a role (ROLE_REQUIRED), and answers an auditor', async () => {
    for (const who of ['deploy-bot', 'dave']) {
      const r = await gw.as(who, '/v1/policy/coverage');
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('ROLE_REQUIRED');
    }
    const r = await gw.as('ann', '/v1/policy/coverage');
    expect(r.status).toBe(200);
    expect(r.body.version).toBe(1);
  });

  it('gives the hand-computed cells', async () => {
    const map = (await gw.as('ann', '/v1/policy/coverage')).body as CoverageMap;
    expect(map.rows.map((r) => r.key)).toEqual([
      'principal:deploy-bot', 'principal:alice', 'principal:ann', 'principal:dave',
      'group:ci', 'group:sre', 'group:audit', 'group:dev', 'group:dba',
    ]);
    expect(map.connections.map((c) => [c.name, c.prod])).toEqual([['orders-db', true], ['analytics-db', false], ['billing-api', true], ['ops', true]]);
    expect(map.connections[0]?.classes.map((c) => c.id)).toEqual(['read', 'write', 'delete', 'ddl', 'privilege', 'unbounded-write']);

    // Reads: sql-reads certainly matches; pii-tables needs a write, so the tables never matter; hotfix-note reads the reason.
    const read = cellOf(map, 'principal:deploy-bot', 'orders-db', 'read');
    expect(read.possible).toEqual(['allow', 'approve']);
    expect(read.outcomes.find((o) => o.via === null)).toMatchObject({ effect: 'allow', rules: ['sql-reads'] });
    expect(read.outcomes.find((o) => o.via?.rule === 'hotfix-note')?.effect).toBe('approve');

    // An agent's write on orders: always held by 2 of sre, more with customers (dba), denied if it is also DDL.
    const write = cellOf(map, 'principal:deploy-bot', 'orders-db', 'write');
    expect(write).toMatchObject({ certain: null, possible: ['approve', 'deny'], unreviewedProd: false });
    expect(write.outcomes.find((o) => o.via === null)?.approvers).toEqual([{ rule: 'orders-writes', groups: ['sre'], principals: [], count: 2 }]);
    expect(write.outcomes.find((o) => o.via?.rule === 'pii-tables')?.approvers.map((a) => [a.rule, a.count])).toEqual([['orders-writes', 2], ['pii-tables', 1]]);
    expect(write.outcomes.find((o) => o.via?.rule === 'no-ddl-prod')?.effect).toBe('deny');
    expect(cellOf(map, 'principal:deploy-bot', 'orders-db', 'ddl')).toMatchObject({ certain: 'deny' });

    // alice is in sre: orders-writes never holds her writes, and scratch tables go through unreviewed.
    const alice = cellOf(map, 'principal:alice', 'orders-db', 'write');
    expect(alice.possible).toEqual(['allow', 'approve', 'deny']);
    expect(alice.unreviewedProd).toBe(true);
    expect(alice.reason).toContain('facts.sql.tables.all(t, t.startsWith("scratch_"))');
    expect(cellOf(map, 'group:sre', 'orders-db', 'write').unreviewedProd).toBe(true);
    // Any member of ci may or may not also be in sre: orders-writes is conditional there.
    expect(cellOf(map, 'group:ci', 'orders-db', 'write').outcomes.some((o) => o.via?.rule === 'orders-writes')).toBe(true);

    // Staging: allowed unless unbounded, never flagged.
    expect(cellOf(map, 'principal:deploy-bot', 'analytics-db', 'write')).toMatchObject({ possible: ['allow', 'approve', 'deny'], unreviewedProd: false });
    expect(cellOf(map, 'principal:deploy-bot', 'analytics-db', 'unbounded-write')).toMatchObject({ possible: ['approve', 'deny'] });

    // HTTP: GET allowed; POST depends on the path (refunds held, the webhook test allowed: flagged); an agent's DELETE denied.
    expect(cellOf(map, 'principal:dave', 'billing-api', 'GET')).toMatchObject({ certain: 'allow', unreviewedProd: false });
    expect(cellOf(map, 'principal:dave', 'billing-api', 'OPTIONS')).toMatchObject({ certain: 'deny' });
    const post = cellOf(map, 'principal:deploy-bot', 'billing-api', 'POST');
    expect(post).toMatchObject({ possible: ['allow', 'approve', 'deny'], unreviewedProd: true });
    expect(post.reason).toContain('facts.http.path == "/webhooks/test"');
    expect(cellOf(map, 'principal:deploy-bot', 'billing-api', 'DELETE')).toMatchObject({ certain: 'deny', unreviewedProd: false });
    expect(cellOf(map, 'principal:alice', 'billing-api', 'DELETE')).toMatchObject({ certain: 'deny' });
    // Any other method: the method is not fixed, so a rule naming GET and HEAD might match it.
    const other = cellOf(map, 'principal:alice', 'billing-api', 'other');
    expect(other).toMatchObject({ unreviewedProd: true });
    expect(other.reason).toContain('(rule billing-reads)');

    // exec: the sub-command is per call.
    const ops = cellOf(map, 'principal:ann', 'ops', 'run');
    expect(ops).toMatchObject({ possible: ['allow', 'approve', 'deny'], unreviewedProd: true });
    expect(ops.outcomes.find((o) => o.via?.rule === 'ops-held')?.approvers).toEqual([{ rule: 'ops-held', groups: [], principals: ['alice'], count: 1 }]);
    expect(map.unreviewedProd).toBe(map.cells.filter((c) => c.unreviewedProd).length);
  });
});

describe('countersign policy coverage', { timeout: 120_000 }, () => {
  it('computes from the config file alone the map the gateway serves', async () => {
    const r = await cli(['policy', 'coverage', '--config', configFile(gw.yaml), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual((await gw.as('ann', '/v1/policy/coverage')).body);
  });

  it('prints tables a terminal shows, with the flagged cells marked', async () => {
    const r = await cli(['policy', 'coverage', '--config', configFile(gw.yaml)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('orders-db (postgres) env=prod data=pii  [PROD]');
    expect(r.stdout).toMatch(/alice \(human\)\s+allow\|hold\s+!allow\|hold\|deny/);
    expect(r.stdout).toMatch(/deploy-bot \(agent\)\s+allow\|hold\s+hold\|deny/);
    expect(r.stdout).toContain('alice (human) · orders-db · write  UNREVIEWED ON PROD');
  });

  it('--fail-on-unreviewed-prod exits 1 while a prod write can run unreviewed, 0 once none can', async () => {
    const open = await cli(['policy', 'coverage', '--config', configFile(gw.yaml), '--fail-on-unreviewed-prod']);
    expect(open.code).toBe(1);
    expect(open.stdout).toMatch(/\d+ cell\(s\) can run a write on env:prod with no review/);
    const closed = await cli(['policy', 'coverage', '--config', configFile(gw.yaml.replace(policy(true), policy(false))), '--fail-on-unreviewed-prod']);
    expect(closed.stdout).toContain('No write on env:prod can run without review');
    expect(closed.code).toBe(0);
  });

  it("includes the gateway's built-in rules: a changed MCP tool is held by the pinning rule", async () => {
    const yaml = `principals:
  - { id: deploy-bot, kind: agent }
connections:
  - { name: files, kind: mcp, command: /bin/false, tags: { env: prod } }
policy:
  default: allow
  rules:
    - { id: no-destroy, when: facts.mcp.annotations.destructiveHint, effect: deny }
`;
    const r = await cli(['policy', 'coverage', '--config', configFile(yaml), '--json', '--fail-on-unreviewed-prod']);
    expect(r.code).toBe(1);
    const map = JSON.parse(r.stdout) as CoverageMap;
    const changed = cellOf(map, 'principal:deploy-bot', 'files', 'changed');
    expect(changed).toMatchObject({ possible: ['approve', 'deny'], unreviewedProd: false });
    expect(changed.outcomes.find((o) => o.via === null)).toMatchObject({ effect: 'approve', rules: ['mcp-tool-changed:files'] });
    expect(cellOf(map, 'principal:deploy-bot', 'files', 'read-only')).toMatchObject({ certain: 'allow', unreviewedProd: false });
    expect(cellOf(map, 'principal:deploy-bot', 'files', 'write')).toMatchObject({ certain: 'allow', unreviewedProd: true, reason: 'always allowed by the default (no rule matches)' });
    expect(cellOf(map, 'principal:deploy-bot', 'files', 'destructive')).toMatchObject({ certain: 'deny' });
  });

  it('exits 2 on a config that does not load', async () => {
    const r = await cli(['policy', 'coverage', '--config', configFile(`${CONNECTIONS}policy:\n  rules:\n    - { id: x, when: facts.sql.read_only, effect: allow }\n`), '--fail-on-unreviewed-prod']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('read_only');
  });
});

describe.skipIf(!haveChromium)('the coverage page', { timeout: 120_000 }, () => {
  it('shows an auditor the map, the prod writes that run unreviewed called out in words', async () => {
    const { context, page } = await browser!.page();
    await signInWithKey(page, gw.url, gw.keys['ann']!);
    await page.getByRole('link', { name: 'Coverage' }).click();
    await page.waitForURL(`${gw.url}/coverage`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Coverage');
    const summary = page.locator('#unreviewed');
    expect(await summary.textContent()).toMatch(/\d+ unreviewed on prod/);
    expect(await summary.textContent()).toContain('alice (human) · orders-db · write');
    const table = page.locator('table[data-connection="orders-db"]');
    const aliceWrite = table.locator('td[data-row="principal:alice"][data-class="write"]');
    expect(await aliceWrite.locator('.flag').textContent()).toBe('⚠ Unreviewed on prod');
    expect(await aliceWrite.locator('.effects').textContent()).toBe('depends: allow or approval or deny');
    await aliceWrite.getByText('How').click();
    expect(await aliceWrite.locator('li').allTextContents()).toContain('allowed (rules sre-scratch) when "sre" in principal.groups && action.connection == "orders-db" && facts.sql.writes && facts.sql.tables.all(t, t.startsWith("scratch_")) [sre-scratch]');
    const botRead = table.locator('td[data-row="principal:deploy-bot"][data-class="ddl"]');
    expect(await botRead.locator('.effects').textContent()).toBe('deny');
    expect(await botRead.locator('.flag').count()).toBe(0);
    await context.close();
  });

  it('refuses a human without a role with the 403 page', async () => {
    const { context, page } = await browser!.page();
    await signInWithKey(page, gw.url, gw.keys['dave']!);
    const res = await page.goto(`${gw.url}/coverage`);
    expect(res?.status()).toBe(403);
    expect(await page.locator('[role=alert]').textContent()).toContain('ROLE_REQUIRED');
    expect(await page.locator('table.coverage').count()).toBe(0);
    await context.close();
  });
});

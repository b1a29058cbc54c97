/**
 * Replay: a real gateway records actions under its live policy; `countersign
 * policy replay` decides them again under a candidate, from the store named
 * by the config and from an exported bundle (verified first; a tampered one
 * is refused), and reports exactly the decisions that would change, worked
 * out by hand below. With a config whose connection is gone, the facts of
 * that connection's actions are the recorded ones, and the report says so.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import type { TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const LIVE = (url: string) => `connections:
  - name: billing-api
    kind: http
    url: ${url}
  - name: orders-db
    kind: postgres
    url: postgres://nobody@127.0.0.1:1/orders
  - name: echo
    kind: exec
    command: /bin/echo
policy:
  default: deny
  rules:
    - id: reads
      when: connection.kind == "http" && facts.http.method == "GET"
      effect: allow
    - id: sql-reads
      when: connection.kind == "postgres" && facts.sql.readOnly
      effect: allow
    - id: writes-held
      when: connection.kind == "postgres" && facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
    - id: echo
      when: connection.kind == "exec"
      effect: allow
`;

const CANDIDATE = `default: deny
rules:
  - id: reads
    when: connection.kind == "http" && facts.http.method == "GET" && !facts.http.path.startsWith("/admin")
    effect: allow
  - id: admin-deny
    when: facts.http.path.startsWith("/admin")
    effect: deny
  - id: sql-reads
    when: connection.kind == "postgres" && facts.sql.readOnly
    effect: allow
  - id: no-drop
    when: facts.sql.statements.exists(s, s.type == "drop")
    effect: deny
  - id: writes-held
    when: connection.kind == "postgres" && facts.writes
    effect: approve
    approvers: [{ groups: [sre], count: 2 }]
  - id: echo
    when: connection.kind == "exec" && principal.id != "deploy-bot"
    effect: allow
`;

let upstream: Upstream;
let cfg: GatewayConfigFile;
let candidate: string;
const ids: Record<string, string> = {};

async function act(gw: TestGateway, who: string, connection: string, input: unknown): Promise<string> {
  const res = await gw.as(who, '/v1/actions', { body: { connection, input, reason: 'replay seed' } });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
  return (res.body.id ?? res.body.request?.id) as string;
}

beforeAll(async () => {
  upstream = await startUpstream();
  cfg = await writeGatewayConfig(LIVE(upstream.url), { origin: 'countersign.test/replay' });
  candidate = join(cfg.dir, 'candidate.yaml');
  writeFileSync(candidate, CANDIDATE);
  const gw = await cfg.start();
  try {
    ids['invoices'] = await act(gw, 'deploy-bot', 'billing-api', { method: 'GET', path: '/invoices' });
    ids['admin'] = await act(gw, 'deploy-bot', 'billing-api', { method: 'GET', path: '/admin/users' });
    ids['delete'] = await act(gw, 'deploy-bot', 'billing-api', { method: 'DELETE', path: '/customers/7' });
    ids['select'] = await act(gw, 'deploy-bot', 'orders-db', { sql: 'select * from orders' });
    ids['drop'] = await act(gw, 'deploy-bot', 'orders-db', { sql: 'drop table orders' });
    ids['update'] = await act(gw, 'deploy-bot', 'orders-db', { sql: 'update orders set status = 1 where id = 2' });
    ids['echo'] = await act(gw, 'deploy-bot', 'echo', { args: ['hello'] });
    ids['otherEcho'] = await act(gw, 'other-bot', 'echo', { args: ['hello'] });
    ids['otherInvoices'] = await act(gw, 'other-bot', 'billing-api', { method: 'GET', path: '/invoices' });
  } finally {
    // Stopping signs a checkpoint over the whole log, which the bundle needs.
    await gw.stop();
  }
});

afterAll(async () => {
  await cfg?.remove();
  await upstream?.close();
});

/** The changes worked out by hand: four of the nine actions would be decided otherwise. */
function expectChanges(report: any, factsAsRecorded: string[] = []) {
  expect(report.replayed).toBe(9);
  const byId = Object.fromEntries(report.changes.map((c: any) => [c.requestId, c]));
  expect(Object.keys(byId).sort()).toEqual([ids['admin'], ids['drop'], ids['update'], ids['echo']].sort());
  expect(byId[ids['admin']!]).toMatchObject({ principal: 'deploy-bot', connection: 'billing-api', input: 'GET /admin/users', live: { effect: 'allow', rules: ['reads'] }, candidate: { effect: 'deny', rules: ['admin-deny'] } });
  expect(byId[ids['drop']!]).toMatchObject({ input: 'drop table orders', live: { effect: 'approve', rules: ['writes-held'] }, candidate: { effect: 'deny', rules: ['no-drop', 'writes-held'] } });
  expect(byId[ids['update']!]).toMatchObject({ live: { effect: 'approve' }, candidate: { effect: 'approve', approvers: [{ rule: 'writes-held', groups: ['sre'], principals: [], count: 2 }] } });
  expect(byId[ids['echo']!]).toMatchObject({ connection: 'echo', input: 'hello', live: { effect: 'allow', rules: ['echo'] }, candidate: { effect: 'deny', rules: [] } });
  for (const c of report.changes) expect(c.factsAsRecorded === true, c.requestId).toBe(factsAsRecorded.includes(c.requestId));
  expect(report.groups.map((g: any) => [g.transition, g.nowMatching, g.noLongerMatching, g.count]).sort()).toEqual(
    [
      ['allow → deny', ['admin-deny'], ['reads'], 1],
      ['approve → deny', ['no-drop'], [], 1],
      ['approve → approve', [], [], 1],
      ['allow → deny', [], ['echo'], 1],
    ].sort(),
  );
}

describe('policy replay', { timeout: 120_000 }, () => {
  it('replays the store named by the config', async () => {
    const json = await runCliHere(['policy', 'replay', candidate, '--config', cfg.configPath, '--since', '1d', '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expectChanges(report);
    expect(report.factsAsRecorded).toBe(0);

    const text = await runCliHere(['policy', 'replay', candidate, '--config', cfg.configPath]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('replayed 9 recorded actions since');
    expect(text.stdout).toContain('4 decisions would change');
    expect(text.stdout).toContain(`rule admin-deny, no longer rule reads: 1 action allow → deny\n    ${ids['admin']} deploy-bot on billing-api: GET /admin/users\n`);
    expect(text.stdout).toContain(`rule no-drop: 1 action approve → deny\n    ${ids['drop']} deploy-bot on orders-db: drop table orders\n`);
    expect(text.stdout).toContain(`rules writes-held (changed): 1 action approve → approve\n`);
    expect(text.stdout).toContain(`no longer rule echo: 1 action allow → deny\n`);
  });

  it('replays only what is recent enough', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const r = await runCliHere(['policy', 'replay', candidate, '--config', cfg.configPath, '--since', future, '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ replayed: 0, changes: [] });
  });

  it('replays a verified bundle; where the connection is gone, with the facts as recorded', async () => {
    const bundle = join(cfg.dir, 'bundle');
    const exported = await runCliHere(['audit', 'export', '--config', cfg.configPath, '--out', bundle]);
    expect(exported.code, exported.stderr).toBe(0);

    const r = await runCliHere(['policy', 'replay', candidate, '--config', cfg.configPath, '--bundle', bundle, '--since', '1d', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expectChanges(JSON.parse(r.stdout));

    // A config without the echo connection: its two actions keep their recorded facts.
    const gone = join(cfg.dir, 'no-echo.yaml');
    writeFileSync(gone, readFileSync(cfg.configPath, 'utf8').replace(/  - name: echo\n    kind: exec\n    command: \/bin\/echo\n/, ''));
    const text = await runCliHere(['policy', 'replay', candidate, '--config', gone, '--bundle', bundle, '--since', '1d']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("checkpoints checked with the bundle's own keys only (UNPINNED");
    expect(text.stdout).toContain('2 with the facts as recorded');
    expect(text.stdout).toContain(`${ids['echo']} deploy-bot on echo: hello [facts as recorded]`);
    const asJson = await runCliHere(['policy', 'replay', candidate, '--config', gone, '--bundle', bundle, '--since', '1d', '--json']);
    expectChanges(JSON.parse(asJson.stdout), [ids['echo']!]);
  });

  it('refuses a bundle that does not verify', async () => {
    const bundle = join(cfg.dir, 'bundle');
    const tampered = join(cfg.dir, 'tampered');
    cpSync(bundle, tampered, { recursive: true });
    const events = join(tampered, 'events.jsonl');
    writeFileSync(events, readFileSync(events, 'utf8').replace('drop table orders', 'drop table orderz'));
    const r = await runCliHere(['policy', 'replay', candidate, '--config', cfg.configPath, '--bundle', tampered]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/does not verify .*nothing was replayed/);
    expect(r.stdout).not.toContain('would change');
  });

  it("names the control characters of what a tampered manifest says: the refusal stays one line of ours", async () => {
    const bundle = join(cfg.dir, 'bundle');
    const tampered = join(cfg.dir, 'tampered-origin');
    cpSync(bundle, tampered, { recursive: true });
    const file = join(tampered, 'manifest.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), origin: 'x\n\x1b[2Kreplayed 0 recorded actions: 0 decisions would change' }));
    const r = await runCliHere(['policy', 'replay', candidate, '--config', cfg.configPath, '--bundle', tampered]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^bundle \S+ does not verify \(at checkpoint \d+: [^\n]*x\\x0a\\x1b\[2Kreplayed[^\n]*\); nothing was replayed\n$/);
  });

  it('refuses a candidate that does not compile, naming its file and the path in it', async () => {
    const bad = join(cfg.dir, 'bad.yaml');
    writeFileSync(bad, 'rules:\n  - id: x\n    when: facts.nope ==\n    effect: allow\n');
    const r = await runCliHere(['policy', 'replay', bad, '--config', cfg.configPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toContain('rules[0]');
  });
});

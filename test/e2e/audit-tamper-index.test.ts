/**
 * Someone with write access to the database but not to the signing key, and
 * a request carried into a period: its submission, written before the
 * period, is found through the events' indexed `request_id` and `type`
 * columns, which are not hashed. Pointing another request's submission at it
 * (a genuine, signed event, so it proves in the tree) must not make an
 * evidence report that shows the approved action as that other, harmless one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let cfg: GatewayConfigFile;
const SLOW = 60_000;
const cli = (...args: string[]) => runCliHere(args);
/** The held payout, approved in the period; the harmless read, submitted before it. */
let payout = '';
let harmless = '';
let from = '';

const POLICY = `connections:\n  - { name: api, kind: http, url: "UPSTREAM" }\npolicy:\n  rules:\n    - { id: reads, when: "!facts.writes", effect: allow }\n    - { id: writes, when: "facts.writes", effect: approve, approvers: [{ groups: [sre], count: 1 }] }\n`;

beforeAll(async () => {
  upstream = await startUpstream();
  cfg = await writeGatewayConfig(POLICY.replace('UPSTREAM', upstream.url), { origin: 'countersign.test/e2e-tamper-index' });
  const gw = await cfg.start();
  const read = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', path: '/harmless' }, reason: 'a look' } });
  expect(read.status).toBe(200);
  harmless = read.body.id as string;
  const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: '/pay/everything' }, reason: 'payout' } });
  expect(held.status).toBe(202);
  payout = held.body.id as string;
  // The period starts after the payout was submitted and before it was approved (times are in milliseconds).
  await new Promise((r) => setTimeout(r, 20));
  from = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 20));
  expect((await gw.as('alice', `/v1/requests/${payout}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
  await gw.stop(); // signs a checkpoint over every event
}, SLOW);

afterAll(async () => {
  await upstream?.close();
  await cfg?.remove();
});

const report = (config: string, out: string) => cli('evidence', 'report', '--config', config, '--from', from, '--to', '2100-01-01', '--framework', 'soc2', '--out', join(cfg.dir, out));

interface Report {
  actions: { id: string; summary: string }[];
}

describe('a carried-over request whose submission is looked up through the request_id column', () => {
  it('the untouched store shows the approved payout as submitted', async () => {
    const r = await report(cfg.configPath, 'real.html');
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(join(cfg.dir, 'real.json'), 'utf8')) as Report;
    expect(json.actions.find((a) => a.id === payout)?.summary).toContain('/pay/everything');
  }, SLOW);

  it('is refused (AUDIT_INTEGRITY_FAILED) when another request’s submission is indexed as its own, and nothing is written', async () => {
    const path = join(cfg.dir, 'pointed.db');
    const src = new Database(cfg.dbPath, { readonly: true });
    await src.backup(path);
    src.close();
    const db = new Database(path);
    const changed = db.prepare("UPDATE audit_events SET request_id = ? WHERE request_id = ? AND type = 'request.submitted'").run(payout, harmless).changes;
    db.close();
    expect(changed).toBe(1);
    const r = await report(cfg.withStore(path), 'pointed.html');
    const written = existsSync(join(cfg.dir, 'pointed.json')) ? (JSON.parse(readFileSync(join(cfg.dir, 'pointed.json'), 'utf8')) as Report) : null;
    expect(written?.actions.find((a) => a.id === payout)?.summary ?? null).toBeNull();
    expect(r.stderr).toContain('the audit log does not verify, so no evidence is made of it');
    expect(r.code).not.toBe(0);
  }, SLOW);
});

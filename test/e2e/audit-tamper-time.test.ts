/**
 * Someone with write access to the database but not to the signing key, and
 * the period an evidence report or a bundle is asked for: where a period
 * starts is found through the events' indexed `time` column, which is not
 * hashed. Moving the column of the first events of a period back before it
 * (their signed bodies untouched) must not make a report or bundle of that
 * period that starts after them and still verifies: the actions at the start
 * of the quarter would be missing from its evidence, unseen.
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
/** The first event whose signed time is later than the one before it: a period can start exactly there. */
let start = 0;
let from = '';
let before = '';
/** Where a period can end (exclusive) with three events before it: the time of event `end`, later than the one before it. */
let end = 0;
let to = '';

beforeAll(async () => {
  upstream = await startUpstream();
  cfg = await writeGatewayConfig(`connections:\n  - { name: api, kind: http, url: "${upstream.url}" }\npolicy:\n  rules:\n    - { id: all, when: "true", effect: allow }\n`, { origin: 'countersign.test/e2e-tamper-time' });
  const gw = await cfg.start();
  for (const path of ['/a', '/b', '/c', '/d', '/e']) {
    expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path }, reason: `ticket ${path}` } })).status).toBe(200);
  }
  await gw.stop(); // signs a checkpoint over every event
  const db = new Database(cfg.dbPath, { readonly: true });
  const rows = db.prepare('SELECT seq, body FROM audit_events ORDER BY seq').all() as { seq: number; body: string }[];
  db.close();
  const times = rows.map((r) => (JSON.parse(r.body) as { time: string }).time);
  // Past the first few events (the policy load), so the period has events on both sides.
  const i = times.findIndex((t, j) => j >= 3 && j + 3 < times.length && t > times[j - 1]!);
  expect(i).toBeGreaterThan(0);
  start = rows[i]!.seq;
  from = times[i]!;
  before = times[i - 1]!;
  const j = times.findLastIndex((t, k) => k >= 4 && t > times[k - 1]!);
  expect(j).toBeGreaterThan(4);
  end = rows[j]!.seq;
  to = times[j]!;
}, SLOW);

afterAll(async () => {
  await upstream?.close();
  await cfg?.remove();
});

/** A copy of the store with the time column of three events set to `time`. */
async function moved(name: string, time: string, first: number): Promise<string> {
  const path = join(cfg.dir, name);
  const src = new Database(cfg.dbPath, { readonly: true });
  await src.backup(path);
  src.close();
  const db = new Database(path);
  expect(db.prepare('UPDATE audit_events SET time = ? WHERE seq BETWEEN ? AND ?').run(time, first, first + 2).changes).toBe(3);
  db.close();
  return cfg.withStore(path);
}

/** Events start…start+2 put back to the time of the event before them. */
const movedBack = (name: string) => moved(name, before, start);

describe('a period whose first events had their time column moved back before it', () => {
  it('the untouched store gives a report that starts at the first event of the period', async () => {
    const r = await cli('evidence', 'report', '--config', cfg.configPath, '--from', from, '--to', '2100-01-01', '--framework', 'soc2', '--out', join(cfg.dir, 'real.html'));
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(cfg.dir, 'real.json'), 'utf8')) as { coverage: { firstSeq: number } };
    expect(report.coverage.firstSeq).toBe(start);
  }, SLOW);

  it('evidence report refuses it (AUDIT_INTEGRITY_FAILED) and writes nothing, rather than start after them', async () => {
    const config = await movedBack('moved-report.db');
    const r = await cli('evidence', 'report', '--config', config, '--from', from, '--to', '2100-01-01', '--framework', 'soc2', '--out', join(cfg.dir, 'moved.html'));
    expect(r.stderr).toContain('the audit log does not verify, so no period is read from it');
    expect(r.stderr).toContain(`event ${start + 2} was written at `);
    expect(r.code).not.toBe(0);
    expect(existsSync(join(cfg.dir, 'moved.json'))).toBe(false);
  }, SLOW);

  it('audit export --out of the period refuses it too, rather than write a bundle that starts after them', async () => {
    const config = await movedBack('moved-bundle.db');
    const out = join(cfg.dir, 'moved-bundle');
    const r = await cli('audit', 'export', '--config', config, '--from', from, '--out', out);
    expect(r.stderr).toContain('the audit log does not verify, so no period is read from it');
    expect(r.stderr).toContain(`event ${start + 2} was written at `);
    expect(r.code).not.toBe(0);
    expect(existsSync(out)).toBe(false);
  }, SLOW);

  it('a bundle whose --to falls after the last events of the period, their column moved past it, is refused too', async () => {
    const config = await moved('moved-end.db', to, end - 3);
    const out = join(cfg.dir, 'moved-end');
    const r = await cli('audit', 'export', '--config', config, '--from', '1', '--to', to, '--out', out);
    expect(r.stderr).toContain('the audit log does not verify, so no period is read from it');
    expect(r.stderr).toContain(`event ${end - 3} was written at `);
    expect(r.code).not.toBe(0);
    expect(existsSync(out)).toBe(false);
  }, SLOW);
});

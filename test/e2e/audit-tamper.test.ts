/**
 * Someone with write access to the database but not to the signing key: what
 * they change must not pass for the signed log. The evidence report is read
 * from the same rows as `audit verify`, so it refuses a log whose events no
 * longer have the roots their checkpoints signed; and the indexed columns an
 * event is found by (its request, type, actor, time) must say what its hashed
 * body says, or an edit there hides it from a request's history unseen.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainEvent, type AuditEvent } from '../../src/core/audit.ts';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let cfg: GatewayConfigFile;
let signed = 0;
const SLOW = 60_000;
const cli = (...args: string[]) => runCliHere(args);

beforeAll(async () => {
  upstream = await startUpstream();
  cfg = await writeGatewayConfig(`connections:\n  - { name: api, kind: http, url: "${upstream.url}" }\npolicy:\n  rules:\n    - { id: all, when: "true", effect: allow }\n`, { origin: 'countersign.test/e2e-tamper' });
  const gw = await cfg.start();
  for (const path of ['/a', '/b', '/c']) {
    expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path }, reason: `ticket ${path}` } })).status).toBe(200);
  }
  await gw.stop(); // signs a checkpoint over every event
  const db = new Database(cfg.dbPath, { readonly: true });
  signed = db.prepare('SELECT MAX(size) FROM checkpoints').pluck().get() as number;
  db.close();
  expect(signed).toBeGreaterThan(6);
}, SLOW);

afterAll(async () => {
  await upstream?.close();
  await cfg?.remove();
});

async function copyStore(name: string, mutate: (db: Database.Database) => void): Promise<string> {
  const path = join(cfg.dir, name);
  const src = new Database(cfg.dbPath, { readonly: true });
  await src.backup(path);
  src.close();
  const db = new Database(path);
  mutate(db);
  db.close();
  return cfg.withStore(path);
}

/** Changes the first event whose body holds `from`, and re-chains every event after it so each link holds: all without the key. */
function rewrite(db: Database.Database, from: string, to: string): number {
  const rows = db.prepare('SELECT seq, body FROM audit_events ORDER BY seq').all() as { seq: number; body: string }[];
  const at = rows.findIndex((r) => r.body.includes(from));
  expect(at).toBeGreaterThan(0);
  let prev: AuditEvent | null = null;
  const update = db.prepare('UPDATE audit_events SET body = ?, hash = ? WHERE seq = ?');
  for (const [i, r] of rows.entries()) {
    const e = JSON.parse(i === at ? r.body.replace(from, to) : r.body) as AuditEvent;
    prev = chainEvent(prev, { type: e.type, time: e.time, requestId: e.requestId, actor: e.actor, data: e.data });
    if (i >= at) update.run(prev.body, prev.hash, r.seq);
  }
  return rows[at]!.seq;
}

const evidence = (config: string, out: string) => cli('evidence', 'report', '--config', config, '--from', '2000-01-01', '--to', '2100-01-01', '--framework', 'soc2', '--out', join(cfg.dir, out));

describe('evidence report over a tampered store', () => {
  it('the untouched store gives a report', async () => {
    const r = await evidence(cfg.configPath, 'real.html');
    expect(r.stdout).toContain(`covered by the signed checkpoint at size ${signed}`);
    expect(r.code).toBe(0);
  }, SLOW);

  it('refuses a store whose covered event was edited and re-chained, and writes nothing', async () => {
    let seq = 0;
    const config = await copyStore('edited.db', (db) => (seq = rewrite(db, 'ticket /b', 'ticket /z')));
    const verify = await cli('audit', 'verify', '--config', config);
    expect(verify.stdout).toContain(`BROKEN at checkpoint ${signed}`);
    expect(verify.code).toBe(1);
    expect(seq).toBeLessThan(signed);
    const r = await evidence(config, 'edited.html');
    expect(r.stderr).toContain('the audit log does not verify, so no evidence is made of it');
    expect(r.stderr).toContain(`do not have the root checkpoint ${signed} signed`);
    expect(r.code).not.toBe(0);
    expect(existsSync(join(cfg.dir, 'edited.html'))).toBe(false);
  }, SLOW);

  it('refuses a store with a covered event deleted', async () => {
    const config = await copyStore('gap.db', (db) => expect(db.prepare('DELETE FROM audit_events WHERE seq = ?').run(signed - 2).changes).toBe(1));
    const r = await evidence(config, 'gap.html');
    expect(r.stderr).toContain('the audit log does not verify, so no evidence is made of it');
    expect(r.stderr).toContain(`no event ${signed - 2}`);
    expect(r.code).not.toBe(0);
  }, SLOW);

  it('refuses a checkpoint whose signed note was swapped for another size', async () => {
    const config = await copyStore('swapped.db', (db) => {
      db.prepare('DELETE FROM checkpoints WHERE size < ?').run(signed);
      db.prepare('UPDATE checkpoints SET root = ? WHERE size = ?').run('0'.repeat(64), signed);
    });
    const r = await evidence(config, 'swapped.html');
    expect(r.stderr).toContain('the audit log does not verify, so no evidence is made of it');
    expect(r.code).not.toBe(0);
  }, SLOW);
});

describe('audit verify: the columns an event is found by', () => {
  for (const [column, value] of [
    ['request_id', 'req_someone_else'],
    ['type', 'request.cancelled'],
    ['actor', 'alice'],
    ['time', '2001-01-01T00:00:00.000Z'],
  ] as const) {
    it(`fails when ${column} no longer says what the hashed body says`, async () => {
      const seq = signed - 1;
      const config = await copyStore(`column-${column}.db`, (db) => expect(db.prepare(`UPDATE audit_events SET ${column} = ? WHERE seq = ?`).run(value, seq).changes).toBe(1));
      const r = await cli('audit', 'verify', '--config', config);
      expect(r.stdout).toContain(`audit log BROKEN at event ${seq}: its ${column} column`);
      expect(r.code).toBe(1);
    }, SLOW);
  }
});

describe('a checkpoint signed over history rewritten in the database', () => {
  it('is refused: the key signs no head its last signed checkpoint is not a prefix of, even with every checkpoint row deleted', async () => {
    const config = await copyStore('resign.db', (db) => {
      rewrite(db, 'ticket /b', 'ticket /z');
      db.prepare('DELETE FROM checkpoints').run();
      db.prepare('DELETE FROM merkle_nodes').run();
    });
    const exported = await cli('audit', 'export', '--config', config, '--out', join(cfg.dir, 'resigned-bundle'));
    expect(exported.stderr).toContain('the audit log does not verify');
    expect(exported.code).not.toBe(0);
    const verify = await cli('audit', 'verify', '--config', config);
    expect(verify.stdout).toContain('BROKEN');
    expect(verify.code).toBe(1);
  }, SLOW);
});


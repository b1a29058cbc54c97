/**
 * Audit bundles as an auditor gets them: a real gateway records an allowed,
 * a held-then-approved and a denied action; the real CLI exports the log as a
 * bundle and verifies it offline. Editing or deleting a row in the SQLite
 * file, editing a bundle's events by hand or altering a checkpoint's signature
 * is caught, naming the event or checkpoint; periods by seq or by time start
 * and end where asked.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import { eventually } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let cfg: GatewayConfigFile;
/** Between the two runs of the gateway: every event before it is in the first checkpoint. */
let between: Date;
/** Checkpoint sizes the gateway signed, smallest first. */
let signed: number[];
let rows: { seq: number; type: string; time: string }[];

const SLOW = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seqOf = (type: string) => rows.find((r) => r.type === type)!.seq;

async function copyStore(name: string): Promise<string> {
  const path = join(cfg.dir, name);
  const db = new Database(cfg.dbPath, { readonly: true });
  await db.backup(path);
  db.close();
  return path;
}

const cli = (...args: string[]) => runCliHere(args);
async function exportBundle(out: string, opts: { config?: string; from?: string; to?: string } = {}) {
  const range = [...(opts.from ? ['--from', opts.from] : []), ...(opts.to ? ['--to', opts.to] : [])];
  return cli('audit', 'export', '--config', opts.config ?? cfg.configPath, '--out', join(cfg.dir, out), ...range);
}
/** Verified as an auditor does: with the log's verifier key, received out of band (its .pub file). */
const verify = (bundle: string) => cli('audit', 'verify', join(cfg.dir, bundle), '--verifier-key', join(cfg.keyDir, 'keys', readdirSync(join(cfg.keyDir, 'keys')).find((f) => f.endsWith('.pub'))!));

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ status: 200, body: { echo: call.url } }));
  cfg = await writeGatewayConfig(
    `connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "billing-api" && !facts.writes
      effect: allow
    - id: no-deletes
      when: facts.http.method == "DELETE"
      effect: deny
      message: deletes are never allowed from agents
    - id: writes
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`,
    { origin: 'countersign.test/e2e-bundle' },
  );
  // First run: two allowed reads; stopping signs the first checkpoint.
  let gw = await cfg.start();
  for (const path of ['/invoices', '/customers']) {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'GET', path }, reason: 'read' } });
    expect(res.body.status).toBe('succeeded');
  }
  await gw.stop();
  await sleep(20);
  between = new Date();
  await sleep(20);

  // Second run: a held refund alice approves, and a denied delete.
  gw = await cfg.start();
  const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'POST', path: '/refunds', body: { amount: 42 } }, reason: 'refund' } });
  expect(held.status).toBe(202);
  expect((await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
  await eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${held.body.id}`)).body.status === 'succeeded' ? true : undefined));
  const denied = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'DELETE', path: '/customers/7' }, reason: 'cleanup' } });
  expect(denied.status).toBe(403);
  await gw.stop();

  const db = new Database(cfg.dbPath, { readonly: true });
  rows = db.prepare('SELECT seq, type, time FROM audit_events ORDER BY seq').all() as typeof rows;
  signed = (db.prepare('SELECT size FROM checkpoints ORDER BY size').pluck().all() as number[]);
  db.close();
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  await cfg?.remove();
});

describe('a bundle of the whole log', () => {
  it('is exported by the CLI and verifies offline, every checkpoint the gateway signed', async () => {
    const last = rows.length;
    expect(signed).toHaveLength(2);
    expect(signed.at(-1)).toBe(last);

    const exported = await exportBundle('whole.tar');
    expect(exported.stdout).toContain(`events 1–${last} (${last}), 2 signed checkpoints, origin countersign.test/e2e-bundle`);
    expect(exported.code).toBe(0);
    const verified = await verify('whole.tar');
    expect(verified.stdout).toContain(`bundle OK: events 1–${last} (${last}) of countersign.test/e2e-bundle`);
    expect(verified.stdout).toContain(`verified at sizes ${signed.join(', ')}`);
    expect(verified.code).toBe(0);
  }, SLOW);
});

describe('a store tampered with after the fact', () => {
  it('an edited row: the export verifies no more, naming that event', async () => {
    const path = await copyStore('edited.db');
    const seq = seqOf('review.recorded');
    const db = new Database(path);
    const changed = db.prepare(`UPDATE audit_events SET body = replace(body, '"alice"', '"mallory"') WHERE seq = ?`).run(seq);
    db.close();
    expect(changed.changes).toBe(1);

    const exported = await exportBundle('edited.tar', { config: cfg.withStore(path) });
    expect(exported.code).toBe(0);
    const verified = await verify('edited.tar');
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`bundle FAILED at event ${seq}:`);
  }, SLOW);

  it('a deleted row: the export leaves a gap the verifier names', async () => {
    const path = await copyStore('deleted.db');
    const seq = seqOf('request.held');
    const db = new Database(path);
    expect(db.prepare('DELETE FROM audit_events WHERE seq = ?').run(seq).changes).toBe(1);
    db.close();

    const exported = await exportBundle('deleted.tar', { config: cfg.withStore(path) });
    expect(exported.code).toBe(0);
    const verified = await verify('deleted.tar');
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`bundle FAILED at event ${seq}: at position ${seq}: event ${seq} is missing (deleted)`);
  }, SLOW);

  it('a deleted row inside a period: the bundle still stops at its checkpoint, and the gap is named', async () => {
    const path = await copyStore('deleted-early.db');
    const db = new Database(path);
    expect(db.prepare('DELETE FROM audit_events WHERE seq = 2').run().changes).toBe(1);
    db.close();

    expect((await exportBundle('deleted-early', { config: cfg.withStore(path), to: '3' })).code).toBe(0);
    const seqs = readFileSync(join(cfg.dir, 'deleted-early', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: signed[0]! }, (_, i) => i + 1).filter((s) => s !== 2));
    const verified = await verify('deleted-early');
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain('bundle FAILED at event 2: at position 2: event 2 is missing (deleted)');
  }, SLOW);
});

describe('a bundle tampered with after export', () => {
  it('an event line edited by hand is named', async () => {
    expect((await exportBundle('by-hand')).code).toBe(0);
    const file = join(cfg.dir, 'by-hand', 'events.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    const seq = seqOf('request.denied');
    expect(lines[seq - 1]).toContain('deletes are never allowed');
    lines[seq - 1] = lines[seq - 1]!.replace('deletes are never allowed', 'deletes are allowed');
    writeFileSync(file, lines.join('\n'));

    const verified = await verify('by-hand');
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`bundle FAILED at event ${seq}:`);
  }, SLOW);

  it('a checkpoint whose signature was altered is named', async () => {
    expect((await exportBundle('forged')).code).toBe(0);
    const size = signed[0]!;
    const file = join(cfg.dir, 'forged', 'checkpoints', `${String(size).padStart(12, '0')}.note`);
    const note = readFileSync(file, 'utf8');
    const at = note.lastIndexOf(' ') + 20; // inside the Ed25519 signature, past the key ID
    writeFileSync(file, note.slice(0, at) + (note[at] === 'A' ? 'B' : 'A') + note.slice(at + 1));

    const verified = await verify('forged');
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`bundle FAILED at checkpoint ${size}:`);
    expect(verified.stdout).toContain('does not verify');
  }, SLOW);
});

describe('a period', () => {
  it('by seq starts at --from and runs on past --to to the checkpoint that covers it', async () => {
    const [first, last] = [2, signed[0]!];
    expect(last).toBeGreaterThan(3);
    const exported = await exportBundle('seq.tar', { from: String(first), to: '3' });
    expect(exported.stdout).toContain(`events ${first}–${last} (${last - first + 1}), 1 signed checkpoints`);
    const verified = await verify('seq.tar');
    expect(verified.stdout).toContain(`bundle OK: events ${first}–${last} (${last - first + 1})`);
    expect(verified.code).toBe(0);
  }, SLOW);

  it('by seq ending at the newest checkpoint, starting mid-log', async () => {
    const [first, last] = [signed[0]! + 2, rows.length];
    expect((await exportBundle('tail.tar', { from: String(first) })).code).toBe(0);
    const verified = await verify('tail.tar');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`bundle OK: events ${first}–${last} (${last - first + 1}) of countersign.test/e2e-bundle, written ${rows[first - 1]!.time} to ${rows[last - 1]!.time}; signed checkpoints verified at sizes ${last}`);
  }, SLOW);

  it('by ISO time: --to takes the events written before it, --from those at or after it', async () => {
    const iso = between.toISOString();
    const firstAfter = rows.find((r) => Date.parse(r.time) >= between.getTime())!.seq;
    expect(firstAfter).toBe(signed[0]! + 1);

    expect((await exportBundle('before.tar', { to: iso })).code).toBe(0);
    const before = await verify('before.tar');
    expect(before.stdout).toContain(`bundle OK: events 1–${signed[0]} (${signed[0]})`);
    expect(before.code).toBe(0);

    expect((await exportBundle('after.tar', { from: iso })).code).toBe(0);
    const after = await verify('after.tar');
    expect(after.stdout).toContain(`bundle OK: events ${firstAfter}–${rows.length} (${rows.length - firstAfter + 1})`);
    expect(after.code).toBe(0);
  }, SLOW);

  it('with no events in it is refused by the export', async () => {
    const r = await exportBundle('empty.tar', { from: String(rows.length + 1) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the period holds no events');
  }, SLOW);
});

/**
 * What `audit verify` trusts. A bundle edited and re-signed with another key
 * carries that key in its keys.txt: it fails once the log's real key is
 * pinned, and without a pin the CLI says loudly that it proved only internal
 * consistency and exits 2: nothing but a pinned key vouches for a bundle.
 * The store itself is held to its signed checkpoints: deleting the newest
 * events, or all of them, no longer verifies "OK".
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainEvent, type AuditEvent } from '../../src/core/audit.ts';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import { makeBundle, newLogKey } from '../support/audit-log.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let cfg: GatewayConfigFile;
let pubFile: string;
let signedSizes: number[];
/** The store as it stood after the first round: what restoring an old backup of it puts back. */
let firstRoundCopy: string;
const SLOW = 60_000;
const cli = (...args: string[]) => runCliHere(args);

beforeAll(async () => {
  upstream = await startUpstream();
  cfg = await writeGatewayConfig(`connections:\n  - { name: api, kind: http, url: "${upstream.url}" }\npolicy:\n  rules:\n    - { id: all, when: "true", effect: allow }\n`, { origin: 'countersign.test/e2e-trust' });
  for (const round of [1, 2]) {
    const gw = await cfg.start();
    for (const path of ['/a', '/b']) {
      expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', path }, reason: `round ${round}` } })).status).toBe(200);
    }
    await gw.stop(); // signs a checkpoint
    if (round === 1) {
      firstRoundCopy = join(cfg.dir, 'round-1.db');
      const db = new Database(cfg.dbPath, { readonly: true });
      await db.backup(firstRoundCopy);
      db.close();
    }
  }
  const pubs = readdirSync(join(cfg.keyDir, 'keys')).filter((f) => f.endsWith('.pub'));
  expect(pubs).toHaveLength(1);
  pubFile = join(cfg.keyDir, 'keys', pubs[0]!);
  const db = new Database(cfg.dbPath, { readonly: true });
  signedSizes = db.prepare('SELECT size FROM checkpoints ORDER BY size').pluck().all() as number[];
  db.close();
  expect(signedSizes).toHaveLength(2);
}, SLOW);

afterAll(async () => {
  await upstream?.close();
  await cfg?.remove();
});

/** The exported log with one event's reason changed, re-chained and re-signed by a key the forger holds, under the log's own origin. */
function forge(from: string, to: string): void {
  const lines = readFileSync(join(from, 'events.jsonl'), 'utf8').trim().split('\n');
  const events: AuditEvent[] = [];
  for (const line of lines) {
    const e = JSON.parse(line.replace('round 1', 'round X')) as AuditEvent;
    events.push(chainEvent(events.at(-1) ?? null, { type: e.type, time: e.time, requestId: e.requestId, actor: e.actor, data: e.data }));
  }
  expect(events.map((e) => e.body).join('\n')).toContain('round X');
  const files = makeBundle(events, newLogKey(cfg.origin), { sizes: signedSizes });
  mkdirSync(join(to, 'checkpoints'), { recursive: true });
  writeFileSync(join(to, 'manifest.json'), files.manifest);
  writeFileSync(join(to, 'events.jsonl'), files.events);
  writeFileSync(join(to, 'keys.txt'), files.keys);
  for (const [name, text] of files.notes) writeFileSync(join(to, name), text);
}

describe('audit verify <bundle>', () => {
  it('with the log key pinned: the genuine bundle verifies, a re-signed forgery does not', async () => {
    expect((await cli('audit', 'export', '--config', cfg.configPath, '--out', join(cfg.dir, 'real'))).code).toBe(0);
    forge(join(cfg.dir, 'real'), join(cfg.dir, 'forged'));

    const real = await cli('audit', 'verify', join(cfg.dir, 'real'), '--verifier-key', pubFile);
    expect(real.stdout).toContain('bundle OK');
    expect(real.stdout).toContain('with the pinned key');
    expect(real.stderr).not.toContain('WARNING');
    expect(real.code).toBe(0);

    const inline = readFileSync(pubFile, 'utf8').trim();
    const forged = await cli('audit', 'verify', join(cfg.dir, 'forged'), '--verifier-key', inline);
    expect(forged.stdout).toContain(`bundle FAILED at checkpoint ${signedSizes[0]}:`);
    expect(forged.stdout).toContain('no known key signed this note');
    expect(forged.code).toBe(1);
  }, SLOW);

  it('without a pinned key: a bundle that vouches for itself is not verified, forged or genuine (exit 2)', async () => {
    for (const name of ['forged', 'real']) {
      const r = await cli('audit', 'verify', join(cfg.dir, name));
      expect(r.stderr, name).toContain('WARNING: no --verifier-key given');
      expect(r.stdout, name).toMatch(/^bundle consistent, NOT AUTHENTICATED: events 1–\d+ \(\d+\) of countersign\.test\/e2e-trust, written \S+ to \S+; checkpoints checked only with the keys inside the bundle \(UNPINNED\)/);
      expect(r.stdout, name).not.toContain('bundle OK');
      expect(r.code, name).toBe(2);
    }
  }, SLOW);

  it('a bundle cut back to an earlier checkpoint verifies for what it holds, and says when its first and last events were written', async () => {
    const cut = join(cfg.dir, 'cut');
    const size = signedSizes[0]!;
    const lines = readFileSync(join(cfg.dir, 'real', 'events.jsonl'), 'utf8').trim().split('\n');
    mkdirSync(join(cut, 'checkpoints'), { recursive: true });
    writeFileSync(join(cut, 'events.jsonl'), `${lines.slice(0, size).join('\n')}\n`);
    writeFileSync(join(cut, 'keys.txt'), readFileSync(join(cfg.dir, 'real', 'keys.txt')));
    const manifest = JSON.parse(readFileSync(join(cfg.dir, 'real', 'manifest.json'), 'utf8')) as { events: { last: number; count: number; lastHash: string }; checkpoints: { size: number; file: string }[] };
    const kept = manifest.checkpoints.filter((c) => c.size <= size);
    for (const c of kept) writeFileSync(join(cut, c.file), readFileSync(join(cfg.dir, 'real', c.file)));
    writeFileSync(join(cut, 'manifest.json'), JSON.stringify({ ...manifest, events: { ...manifest.events, last: size, count: size, lastHash: null }, checkpoints: kept }));
    const time = (line: string) => (JSON.parse(line) as { time: string }).time;
    const r = await cli('audit', 'verify', cut, '--verifier-key', pubFile);
    expect(r.stdout).toContain(`bundle OK: events 1–${size} (${size}) of countersign.test/e2e-trust, written ${time(lines[0]!)} to ${time(lines[size - 1]!)};`);
    expect(r.code).toBe(0);
  }, SLOW);

  it('a tar that holds a file twice is refused: the copy verified would not be the one every reader takes', async () => {
    // `tar -x` keeps the last copy, `tar -xO`, a listing or a reader that stops at the first match shows the forged one.
    const tar = join(cfg.dir, 'twice.tar');
    execFileSync('tar', ['-cf', tar, '-C', join(cfg.dir, 'forged'), 'events.jsonl']);
    execFileSync('tar', ['-rf', tar, '-C', join(cfg.dir, 'real'), 'manifest.json', 'events.jsonl', 'keys.txt', 'checkpoints']);
    expect(execFileSync('tar', ['-xOf', tar, 'events.jsonl'], { encoding: 'utf8' })).toContain('round X');
    const r = await cli('audit', 'verify', tar, '--verifier-key', pubFile);
    expect(r.stdout).not.toContain('bundle OK');
    expect(r.stdout).toMatch(/^bundle FAILED at the bundle: the bundle holds events.jsonl twice/);
    expect(r.code).toBe(1);
  }, SLOW);

  it('prints what a tampered manifest says on one line, its control characters named: no forged "bundle OK" line, no terminal escapes', async () => {
    const fake = 'bundle OK: events 1–4 (4) of countersign.test/e2e-trust; signed checkpoints verified at sizes 2, 4 with the pinned key';
    const cases: ((m: { origin: string; checkpoints: { size: number; file: string }[] }) => void)[] = [
      (m) => m.checkpoints.unshift({ size: 1, file: `x\r\n\x1b[1A\x1b[2K${fake}\n` }),
      (m) => (m.origin = `o\n\x1b]0;t\x07\x1b[2K\r${fake}`),
    ];
    for (const [i, edit] of cases.entries()) {
      const dir = join(cfg.dir, `injected-${i}`);
      mkdirSync(join(dir, 'checkpoints'), { recursive: true });
      for (const f of ['events.jsonl', 'keys.txt']) writeFileSync(join(dir, f), readFileSync(join(cfg.dir, 'real', f)));
      for (const f of readdirSync(join(cfg.dir, 'real', 'checkpoints'))) writeFileSync(join(dir, 'checkpoints', f), readFileSync(join(cfg.dir, 'real', 'checkpoints', f)));
      const manifest = JSON.parse(readFileSync(join(cfg.dir, 'real', 'manifest.json'), 'utf8')) as { origin: string; checkpoints: { size: number; file: string }[] };
      edit(manifest);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
      const r = await cli('audit', 'verify', dir, '--verifier-key', pubFile);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^bundle FAILED at [^\n]*\n$/);
      expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
      expect(r.stdout).toContain('\\x1b');
    }
  }, SLOW);
});

describe('audit verify --config', () => {
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

  it('the untouched store verifies against its signed checkpoints', async () => {
    const r = await cli('audit', 'verify', '--config', cfg.configPath);
    expect(r.stdout).toContain(`signed checkpoints verified (the keys in ${cfg.keyDir}) at sizes ${signedSizes.join(', ')}`);
    expect(r.code).toBe(0);
  }, SLOW);

  it('fails when the newest events were deleted', async () => {
    const last = signedSizes.at(-1)!;
    const config = await copyStore('tail.db', (db) => expect(db.prepare('DELETE FROM audit_events WHERE seq > ?').run(last - 2).changes).toBe(2));
    const r = await cli('audit', 'verify', '--config', config);
    expect(r.stdout).toContain(`checkpoint ${last} signs ${last} events, but the store holds ${last - 2}: events ${last - 1}–${last} were deleted`);
    expect(r.code).toBe(1);
  }, SLOW);

  it('fails when the newest events and the Merkle tree nodes were deleted together', async () => {
    const last = signedSizes.at(-1)!;
    const config = await copyStore('tail-tree.db', (db) => {
      db.prepare('DELETE FROM audit_events WHERE seq > ?').run(last - 1);
      db.prepare('DELETE FROM merkle_nodes').run();
    });
    const r = await cli('audit', 'verify', '--config', config);
    expect(r.stdout).toContain('were deleted');
    expect(r.code).toBe(1);
  }, SLOW);

  it('fails when the store was put back to an older backup, its later events and checkpoints gone with it', async () => {
    // A whole, self-consistent log (chain, tree and its own signed checkpoint all agree), only shorter than what the
    // key signed since: the key directory remembers the newest checkpoint it signed, the store no longer has it.
    const r = await cli('audit', 'verify', '--config', cfg.withStore(firstRoundCopy));
    expect(r.stdout).toContain(`the key in ${cfg.keyDir} signed a checkpoint of ${signedSizes.at(-1)} events, but the store holds ${signedSizes[0]}`);
    expect(r.code).toBe(1);
  }, SLOW);

  it('fails when events past an older checkpoint were rewritten and re-chained, and the checkpoint over them deleted', async () => {
    const config = await copyStore('rewritten.db', (db) => {
      const rows = db.prepare('SELECT seq, body FROM audit_events ORDER BY seq').all() as { seq: number; body: string }[];
      let prev: AuditEvent | null = null;
      const update = db.prepare('UPDATE audit_events SET body = ?, hash = ? WHERE seq = ?');
      for (const r of rows) {
        const e = JSON.parse(r.body.replace('round 2', 'round Y')) as AuditEvent;
        prev = chainEvent(prev, { type: e.type, time: e.time, requestId: e.requestId, actor: e.actor, data: e.data });
        if (r.seq > signedSizes[0]!) update.run(prev.body, prev.hash, r.seq);
      }
      expect(db.prepare('DELETE FROM checkpoints WHERE size > ?').run(signedSizes[0]).changes).toBe(1);
    });
    const r = await cli('audit', 'verify', '--config', config);
    expect(r.stdout).toContain(`do not have the root of the checkpoint the key in ${cfg.keyDir} signed at that size`);
    expect(r.code).toBe(1);
  }, SLOW);

  it('fails when every event was deleted', async () => {
    const config = await copyStore('none.db', (db) => db.prepare('DELETE FROM audit_events').run());
    const r = await cli('audit', 'verify', '--config', config);
    expect(r.stdout).toContain(`but the store holds 0: events 1–${signedSizes.at(-1)} were deleted`);
    expect(r.code).toBe(1);
  }, SLOW);

  it('fails when every event and every checkpoint was deleted', async () => {
    const config = await copyStore('bare.db', (db) => {
      db.prepare('DELETE FROM audit_events').run();
      db.prepare('DELETE FROM checkpoints').run();
    });
    const r = await cli('audit', 'verify', '--config', config);
    expect(r.stdout).toContain('the log is empty and no signed checkpoint is stored');
    expect(r.code).toBe(1);
  }, SLOW);

  it('names the control characters of an edited event it reports: no forged "audit chain OK" line', async () => {
    const { canonicalJson, sha256Hex } = await import('../../src/core/digest.ts');
    const config = await copyStore('injected.db', (db) => {
      const row = db.prepare('SELECT body FROM audit_events WHERE seq = 1').get() as { body: string };
      const body = canonicalJson({ ...(JSON.parse(row.body) as object), seq: '1\n\x1b[1A\x1b[2Kaudit chain OK: 4 events' });
      db.prepare('UPDATE audit_events SET body = ?, hash = ? WHERE seq = 1').run(body, sha256Hex(body));
    });
    const r = await cli('audit', 'verify', '--config', config);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^audit log BROKEN at event 1: [^\n]*\\x0a\\x1b\[1A[^\n]*\n\(0 events before it verify\)\n$/);
  }, SLOW);

  it('fails when a checkpoint was re-signed by another key', async () => {
    const other = newLogKey(cfg.origin);
    const { signNote } = await import('../../src/core/note.ts');
    const config = await copyStore('resigned.db', (db) => {
      const row = db.prepare('SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1').get() as { size: number; note: string };
      const text = row.note.slice(0, row.note.lastIndexOf('\n\n') + 1);
      db.prepare('UPDATE checkpoints SET note = ? WHERE size = ?').run(signNote(text, [{ name: other.origin, privateKey: other.privateKey }]), row.size);
    });
    const r = await cli('audit', 'verify', '--config', config);
    expect(r.stdout).toContain(`BROKEN at checkpoint ${signedSizes.at(-1)}: checkpoint ${signedSizes.at(-1)}: signature or format invalid`);
    expect(r.code).toBe(1);
  }, SLOW);
});

/**
 * Raw upstream sessions against the real PostgreSQL (trust for 127.0.0.1, TLS
 * off) and, for what that server never asks (a password, TLS), against a fake
 * server on 127.0.0.1 that checks cleartext, MD5 and SCRAM-SHA-256 proofs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { startFakePostgres, type FakeAuth, type FakePostgres } from '../../../../test/support/fake-postgres-auth.ts';
import { query, scalar } from '../../../../test/support/upstream-query.ts';
import { openUpstreamSession, type UpstreamSession } from './upstream-session.ts';

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

const db = await createTestDatabase();

describe.skipIf(!db)('upstream session on the real PostgreSQL', () => {
  const role = `cs_test_${process.pid}_pins`;
  let admin: pg.Client;
  let url: string;
  let roleUrl: string;
  const open: UpstreamSession[] = [];
  const connect = async (u: string): Promise<UpstreamSession> => {
    const s = await openUpstreamSession({ name: 'orders', url: u });
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    url = db?.url ?? '';
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // A role whose own defaults contradict the pins: the startup options must win over them.
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'role-pw'`);
    await admin.query(`ALTER ROLE ${role} SET standard_conforming_strings = off`);
    await admin.query(`ALTER ROLE ${role} SET backslash_quote = on`);
    const u = new URL(url);
    u.username = role;
    u.password = 'role-pw';
    roleUrl = u.toString();
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await admin?.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
    await admin?.query(`DROP ROLE IF EXISTS ${role}`);
    await admin?.end();
    await db?.drop();
  });

  it('resolves at ReadyForQuery with the server parameters and a backend id', async () => {
    const s = await connect(url);
    expect(s.pid).toBeGreaterThan(0);
    expect(s.parameters.get('server_version')).toMatch(/^\d+/);
    expect(s.parameters.get('client_encoding')).toBe('UTF8');
    expect(s.parameters.get('standard_conforming_strings')).toBe('on');
    expect(s.parameters.get('integer_datetimes')).toBe('on');
    expect(await scalar(s, 'SELECT pg_backend_pid()')).toBe(String(s.pid));
    expect(await scalar(s, 'SHOW application_name')).toBe('countersign');
  });

  it('pins the parser settings as startup options, over the role’s own defaults', async () => {
    const s = await connect(roleUrl);
    expect(await scalar(s, 'SELECT current_user')).toBe(role);
    expect(await scalar(s, 'SHOW standard_conforming_strings')).toBe('on');
    expect(await scalar(s, 'SHOW backslash_quote')).toBe('safe_encoding');
    expect(await scalar(s, 'SHOW client_encoding')).toBe('UTF8');
    // DISCARD ALL returns to the startup values, not the role's.
    await query(s, 'SET standard_conforming_strings = off');
    await query(s, 'DISCARD ALL');
    expect(await scalar(s, 'SHOW standard_conforming_strings')).toBe('on');
  });

  it('refuses a missing database with its SQLSTATE and no secret', async () => {
    const u = new URL(roleUrl);
    u.pathname = `/cs_test_${process.pid}_missing`;
    const err = await rejection(openUpstreamSession({ name: 'orders', url: u.toString() }));
    expect(err.message).toBe('could not connect to orders: 3D000');
    for (const secret of ['role-pw', role, '127.0.0.1', u.port || '5432', u.toString()]) {
      expect(err.message).not.toContain(secret);
      expect(JSON.stringify(err)).not.toContain(secret);
    }
  });

  it('says only the errno when nothing listens', async () => {
    const err = await rejection(openUpstreamSession({ name: 'orders', url: `postgres://app:hunter2@127.0.0.1:${await closedPort()}/x` }));
    expect(err.message).toBe('could not connect to orders: ECONNREFUSED');
  });

  it('says only INVALID_URL for a URL it cannot read', async () => {
    const err = await rejection(openUpstreamSession({ name: 'orders', url: 'mysql://app:hunter2@db/x' }));
    expect(err.message).toBe('could not connect to orders: INVALID_URL');
  });

  it('cancels a running statement with a CancelRequest (57014), and the session goes on', async () => {
    const s = await connect(url);
    const running = query(s, 'SELECT pg_sleep(30)');
    // Cancel only once the backend is really in the sleep, or the request could land before it.
    for (;;) {
      const { rows } = await admin.query(`SELECT wait_event FROM pg_stat_activity WHERE pid = $1`, [s.pid]);
      if (rows[0]?.wait_event === 'PgSleep') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await s.cancel();
    const messages = await running;
    expect(messages.find((m) => m.name === 'error')?.['code']).toBe('57014');
    expect(await scalar(s, 'SELECT 1')).toBe('1');
  });

  it('reports a backend terminated under it through onClose, without secrets', async () => {
    const s = await connect(url);
    const closed = new Promise<Error | undefined>((resolve) => s.onClose(resolve));
    await admin.query('SELECT pg_terminate_backend($1)', [s.pid]);
    const err = await closed;
    expect(s.closed).toBe(true);
    expect(err?.message).toMatch(/^lost the connection to orders/);
  });

  it('falls back to plain text under sslmode=prefer and fails closed under require when the server has no TLS', async () => {
    const { rows } = await admin.query<{ ssl: string }>('SHOW ssl');
    if (rows[0]?.ssl !== 'off') return; // only meaningful on a server without TLS, as the shared one is
    const prefer = await connect(`${url}?sslmode=prefer`);
    expect(await scalar(prefer, 'SELECT 1')).toBe('1');
    const err = await rejection(openUpstreamSession({ name: 'orders', url: `${url}?sslmode=require` }));
    expect(err.message).toBe('could not connect to orders: SSL_NOT_SUPPORTED');
  });
});

describe('upstream session authentication (fake server that checks the password)', () => {
  const fakes: FakePostgres[] = [];
  const sessions: UpstreamSession[] = [];
  let certDir: string;
  let cert: Buffer;
  let key: Buffer;
  beforeAll(() => {
    certDir = mkdtempSync(join(tmpdir(), 'cs-upstream-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = readFileSync(join(certDir, 'cert.pem'));
    key = readFileSync(join(certDir, 'key.pem'));
  });
  afterAll(async () => {
    for (const s of sessions) s.close();
    for (const f of fakes) await f.close();
    rmSync(certDir, { recursive: true, force: true });
  });
  const fake = async (auth: FakeAuth, extra: Partial<Parameters<typeof startFakePostgres>[0]> = {}): Promise<FakePostgres> => {
    const f = await startFakePostgres({ auth, password: 's3cret-pw', ...extra });
    fakes.push(f);
    return f;
  };
  const url = (f: FakePostgres, password = 's3cret-pw', query = 'sslmode=disable'): string =>
    `postgres://app_user:${encodeURIComponent(password)}@127.0.0.1:${f.port}/orders?${query}`;
  const open = async (u: string): Promise<UpstreamSession> => {
    const s = await openUpstreamSession({ name: 'fake', url: u });
    sessions.push(s);
    return s;
  };

  it.each(['cleartext', 'md5', 'scram'] as const)('answers %s with the right password', async (auth) => {
    const f = await fake(auth);
    const s = await open(url(f));
    expect(s.pid).toBe(4242);
    expect(s.parameters.get('server_version')).toBe('15.0 (fake)');
    const params = f.startups[0]?.params ?? {};
    expect(params).toMatchObject({ user: 'app_user', database: 'orders', application_name: 'countersign' });
    expect(params['options']).toBe('-c standard_conforming_strings=on -c backslash_quote=safe_encoding -c client_encoding=UTF8');
  });

  it.each(['cleartext', 'md5', 'scram'] as const)('fails a wrong %s password with 28P01 and no secret', async (auth) => {
    const f = await fake(auth);
    const err = await rejection(openUpstreamSession({ name: 'fake', url: url(f, 'wrong-pw') }));
    expect(err.message).toBe('could not connect to fake: 28P01');
    expect(JSON.stringify({ m: err.message, e: err })).not.toMatch(/wrong-pw|app_user|127\.0\.0\.1/);
  });

  it('refuses a server that ends SCRAM without proving it knows the password', async () => {
    const f = await fake('scram', { skipScramFinal: true });
    const err = await rejection(openUpstreamSession({ name: 'fake', url: url(f) }));
    expect(err.message).toBe('could not connect to fake: SCRAM_INCOMPLETE');
  });

  it('refuses an authentication method it does not speak', async () => {
    const f = await fake('gss');
    const err = await rejection(openUpstreamSession({ name: 'fake', url: url(f) }));
    expect(err.message).toBe('could not connect to fake: AUTH_METHOD_UNSUPPORTED');
  });

  it('keeps the bytes that came in the same read as ReadyForQuery', async () => {
    const notice = Buffer.from([0x4e, 0, 0, 0, 4 + 4, 0x53, 0x78, 0, 0]); // NoticeResponse {S: 'x'}
    const f = await fake('scram', { afterReady: notice });
    const s = await open(url(f));
    const received = await new Promise<Buffer>((resolve) => {
      let got = Buffer.alloc(0);
      s.onData((chunk) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= notice.length) resolve(got);
      });
    });
    expect(received.equals(notice)).toBe(true);
  });

  it('times out a server that never answers, saying only ETIMEDOUT', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const err = await rejection(openUpstreamSession({ name: 'fake', url: `postgres://a:b@127.0.0.1:${port}/x`, connectTimeoutMs: 200 }));
      expect(err.message).toBe('could not connect to fake: ETIMEDOUT');
    } finally {
      silent.close();
    }
  });

  it('negotiates TLS under sslmode=require and runs SCRAM inside it', async () => {
    const f = await fake('scram', { tls: { key, cert } });
    const s = await open(url(f, 's3cret-pw', 'sslmode=require'));
    expect(s.pid).toBe(4242);
    expect(f.startups[0]?.tls).toBe(true);
    // Over TLS without the -PLUS mechanism offered, the client says it could bind but the server did not offer it.
    expect(f.startups[0]?.gs2).toBe('y,,');
  });

  it('binds SCRAM to the TLS channel (SCRAM-SHA-256-PLUS) when the server offers it', async () => {
    const f = await fake('scram', { tls: { key, cert }, channelBinding: true });
    const s = await open(url(f, 's3cret-pw', 'sslmode=require'));
    expect(s.pid).toBe(4242);
    expect(f.startups[0]?.gs2).toBe('p=tls-server-end-point,,');
  });

  it('checks the certificate under verify-full with sslrootcert, and refuses an unknown one', async () => {
    const f = await fake('scram', { tls: { key, cert } });
    const ok = await open(url(f, 's3cret-pw', `sslmode=verify-full&sslrootcert=${encodeURIComponent(join(certDir, 'cert.pem'))}`));
    expect(ok.pid).toBe(4242);
    const err = await rejection(openUpstreamSession({ name: 'fake', url: url(f, 's3cret-pw', 'sslmode=verify-full') }));
    expect(err.message).toBe('could not connect to fake: DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(f.startups).toHaveLength(1);
  });

  it('sends the CancelRequest over TLS when the session used it', async () => {
    const f = await fake('md5', { tls: { key, cert } });
    const s = await open(url(f, 's3cret-pw', 'sslmode=require'));
    await s.cancel();
    expect(f.cancels).toEqual([{ pid: 4242, secret: 77 }]);
  });
});

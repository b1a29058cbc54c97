/**
 * The Postgres wire listener with pgbench (simple, extended and prepared
 * protocols, select-only and TPC-B-like) and over TLS: psql with
 * sslmode=require, and cleartext refused from a non-loopback address.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { POLICY, psql, requests, run } from '../support/pg-wire-clients.ts';

const db = await createTestDatabase();
const WAIT = 60_000;
afterAll(() => db?.drop());

const BENCH_POLICY = `connections:
  - name: bench-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: bench-reads
      when: facts.sql.readOnly
      effect: allow
    - id: bench-writes
      when: >-
        facts.sql.statements.all(s, s.type in ["select", "insert", "update", "transaction"])
        && facts.sql.tables.all(t, t.startsWith("pgbench_"))
        && !facts.sql.unboundedWrite
      effect: allow
`;

describe.skipIf(!db)('pgbench through the listener', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    const init = await run('pgbench', ['-i', '-s', '1', '-q', db!.url], {});
    expect(init.code, init.stderr).toBe(0);
    gw = await startTestGateway(BENCH_POLICY, {
      env: { APP_DB_URL: db!.url },
      server: 'postgres: { port: 0, holdSeconds: 30 }',
      // The helpers list every statement's request as alice, allowed ones included: an auditor sees them all.
      principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)),
    });
  }, WAIT);

  afterAll(async () => {
    await gw?.stop();
  });

  const pgbench = (args: string[]) =>
    run('pgbench', ['-h', '127.0.0.1', '-p', String(gw.postgresPort), '-U', 'deploy-bot', ...args, 'bench-db'], {
      PGPASSWORD: gw.keys['deploy-bot'],
      PGSSLMODE: 'disable',
    });

  it('select-only (-S) and TPC-B-like, in the simple, extended and prepared protocols: exit 0, and the statements are recorded', async () => {
    // Two clients each, a few transactions apiece: enough for every protocol's statements to reach the gateway from
    // sessions side by side (each TPC-B-like transaction is 7 statements, each a request judged and recorded).
    const s = await pgbench(['-n', '-S', '-t', '10', '-c', '2']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain('number of transactions actually processed: 20/20');
    const b = await pgbench(['-n', '-t', '5', '-c', '2']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('number of transactions actually processed: 10/10');
    for (const mode of ['extended', 'prepared']) {
      const m = await pgbench(['-n', '-t', '3', '-c', '2', '-M', mode]);
      expect(m.code, `${mode}: ${m.stderr}`).toBe(0);
      expect(m.stdout).toContain('number of transactions actually processed: 6/6');
    }
    const done = await requests(gw, 'succeeded');
    expect(done.some((q) => q.action.input.sql.startsWith('INSERT INTO pgbench_history'))).toBe(true);
    expect(done.some((q) => q.action.input.sql.startsWith('UPDATE pgbench_branches'))).toBe(true);
    expect((await requests(gw, 'denied')).length).toBe(0);
  }, WAIT * 2);
});

/** This machine's first non-loopback IPv4 address, if it has one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe.skipIf(!db)('TLS on the listener', () => {
  let gw: TestGateway;
  let dir: string;
  const outside = outsideAddress();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-pgwire-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    gw = await startTestGateway(POLICY, {
      env: { APP_DB_URL: db!.url, PG_CERT: readFileSync(join(dir, 'cert.pem'), 'utf8'), PG_KEY: readFileSync(join(dir, 'key.pem'), 'utf8') },
      server: 'postgres: { host: 0.0.0.0, port: 0, holdSeconds: 30, tls: { cert: "${PG_CERT}", key: "${PG_KEY}" } }',
    });
  });

  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('psql with sslmode=require connects over TLS and runs a read', async () => {
    const r = await psql(gw, 'deploy-bot', ['-A', '-t', '-c', "SELECT 'over tls' AS note"], '', { PGSSLMODE: 'require' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('over tls\n');
    const info = await psql(gw, 'deploy-bot', ['-c', '\\conninfo'], '', { PGSSLMODE: 'require' });
    expect(info.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
  });

  it.skipIf(!outside)('from a non-loopback address: cleartext is refused before the password, TLS is served', async () => {
    const plain = await run('psql', ['-X', '-h', outside!, '-p', String(gw.postgresPort), '-U', 'deploy-bot', '-d', 'app-db', '-c', 'SELECT 1'], {
      PGPASSWORD: gw.keys['deploy-bot'],
      PGSSLMODE: 'disable',
    });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('a password is accepted only over TLS or from this machine');
    const tls = await run('psql', ['-X', '-h', outside!, '-p', String(gw.postgresPort), '-U', 'deploy-bot', '-d', 'app-db', '-A', '-t', '-c', 'SELECT 7 AS seven'], {
      PGPASSWORD: gw.keys['deploy-bot'],
      PGSSLMODE: 'require',
    });
    expect(tls.stderr).toBe('');
    expect(tls.stdout).toBe('7\n');
  });
});

/** Sensitive values reach the target but the audit log keeps only their HMAC, which `audit hash` reproduces. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(
    `connections:
  - { name: pay, kind: http, url: "${upstream.url}" }
policy:
  rules:
    - { id: all, when: "true", effect: allow }
`,
    { audit: 'sensitive: [body.card_number, query.token]' },
  );
});
afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

it('sends the real values upstream and keeps HMACs in the audit log', async () => {
  const res = await gw.as('deploy-bot', '/v1/actions', {
    body: { connection: 'pay', input: { method: 'POST', path: '/charge', query: { token: 'tok-9f8e7d6c' }, headers: { 'X-Api-Key': 'agent-key-123456' }, body: { card_number: '4111111111111111', amount: 42 } }, reason: 'charge' },
  });
  expect(res.body.status).toBe('succeeded');
  const call = upstream.calls.at(-1)!;
  expect(JSON.parse(call.body)).toEqual({ card_number: '4111111111111111', amount: 42 });
  expect(call.url).toBe('/charge?token=tok-9f8e7d6c');

  const db = new Database(gw.dbPath, { readonly: true });
  const bodies = (db.prepare('SELECT body FROM audit_events').pluck().all() as string[]).join('\n');
  db.close();
  for (const secret of ['4111111111111111', 'tok-9f8e7d6c', 'agent-key-123456']) expect(bodies).not.toContain(secret);

  // An auditor holding a known value finds it: the CLI computes the same HMAC with the deployment's key.
  const yaml = join(gw.dir, 'gw.yaml');
  writeFileSync(yaml, `store: { sqlite: { path: ${JSON.stringify(gw.dbPath)} } }\naudit: { keyDir: ${JSON.stringify(join(gw.dir, 'keys'))} }\n`);
  for (const secret of ['4111111111111111', 'tok-9f8e7d6c', 'agent-key-123456']) {
    const out = spawnSync(process.execPath, [resolve('bin/countersign.js'), 'audit', 'hash', '-', '--config', yaml], { input: secret, encoding: 'utf8' });
    expect(out.status).toBe(0);
    const hmac = out.stdout.trim();
    expect(hmac).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(bodies).toContain(hmac);
  }
});

it('keeps no masked value in clear in the facts when the masked input no longer reads as a request (a masked path, a JSON body masked whole)', async () => {
  const g = await startTestGateway(
    `connections:
  - { name: pay, kind: http, url: "${upstream.url}" }
policy:
  rules:
    - { id: all, when: "true", effect: allow }
`,
    { audit: 'sensitive: [path, body, query.token]' },
  );
  try {
    const reset = await g.as('deploy-bot', '/v1/actions', { body: { connection: 'pay', input: { method: 'POST', path: '/reset/rst-5e4d3c2b1a', body: {} }, reason: 'reset' } });
    expect(reset.body.status).toBe('succeeded');
    const charge = await g.as('deploy-bot', '/v1/actions', {
      body: { connection: 'pay', input: { method: 'POST', path: '/charge', query: { token: 'tok-1a2b3c4d5e' }, headers: { 'content-type': 'application/json' }, body: { amount: 7 } }, reason: 'charge' },
    });
    expect(charge.body.status).toBe('succeeded');
    expect(upstream.calls.map((c) => c.url)).toEqual(expect.arrayContaining(['/reset/rst-5e4d3c2b1a', '/charge?token=tok-1a2b3c4d5e']));
    const db = new Database(g.dbPath, { readonly: true });
    const bodies = (db.prepare("SELECT body FROM audit_events WHERE type = 'request.submitted'").pluck().all() as string[]).join('\n');
    db.close();
    expect(bodies).toMatch(/hmac-sha256:[0-9a-f]{64}/);
    for (const secret of ['rst-5e4d3c2b1a', 'tok-1a2b3c4d5e']) expect(bodies).not.toContain(secret);
  } finally {
    await g.stop();
  }
});

describe('a Postgres connection with secret columns', async () => {
  const { createTestDatabase } = await import('../support/postgres.ts');
  const db = await createTestDatabase();
  it.skipIf(!db)('runs the real values and keeps HMACs of the secret columns’ values in the log', async () => {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: db!.url });
    await client.connect();
    await client.query('CREATE TABLE users (id int PRIMARY KEY, email text, password text)');
    const g = await startTestGateway(
      `connections:
  - { name: users-db, kind: postgres, url: "${db!.url}", secretColumns: [users.password] }
policy:
  rules:
    - { id: all, when: "true", effect: allow }
`,
    );
    try {
      const res = await g.as('deploy-bot', '/v1/actions', {
        body: { connection: 'users-db', input: { sql: "INSERT INTO users (id, email, password) VALUES (1, 'a@example.com', 'hunter2-secret'); UPDATE users SET password = 'n3w-secret' WHERE id = 1" }, reason: 'reset' },
      });
      expect(res.body.status).toBe('succeeded');
      expect((await client.query('SELECT password FROM users')).rows).toEqual([{ password: 'n3w-secret' }]);
      const log = new Database(g.dbPath, { readonly: true });
      const bodies = (log.prepare('SELECT body FROM audit_events').pluck().all() as string[]).join('\n');
      log.close();
      expect(bodies).not.toContain('hunter2-secret');
      expect(bodies).not.toContain('n3w-secret');
      expect(bodies).toContain('a@example.com'); // only the secret column is masked
      expect(bodies).toMatch(/'hmac-sha256:[0-9a-f]{64}'/);
    } finally {
      await g.stop();
      await client.end();
      await db!.drop();
    }
  });
});

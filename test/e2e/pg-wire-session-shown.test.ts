/**
 * The Postgres wire listener: what a held statement's session changed is shown to its reviewers. The agent may SET
 * DateStyle (allowed), and then `DELETE … WHERE created < '03/04/2026'` reads 3 April where a reviewer reads 4 March;
 * a temporary `orders` is found before the real one. The request records how the session differs from a new one
 * (settings against their reset values, temporary objects), and the API, the console page and the Slack card show it
 * with a risk flag; a session that changed nothing shows nothing of the kind.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPage, signIn } from '../support/console.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { storedAudit } from '../support/store-view.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

/** ATTACK_POLICY, and: SET and scratch CREATE allowed; DELETE held like UPDATE. */
const POLICY = ATTACK_POLICY.replace(
  'rules:\n',
  'rules:\n    - id: settings\n      when: facts.sql.statements.all(s, s.type in ["set", "create"])\n      effect: allow\n' +
    '    - id: deletes\n      when: facts.sql.statements.all(s, s.type == "delete")\n      effect: approve\n      approvers: [{ groups: [sre], count: 1 }]\n',
);

describe.skipIf(!db)('the Postgres wire listener: reviewers see how the held statement’s session differs from a new one', () => {
  let gw: TestGateway;
  let slack: FakeSlack;
  let direct: pg.Client;
  /** DateStyle as a new session has it (the server's default). */
  let dateStyle: string;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    await direct.query("CREATE TABLE orders (id int, created date); INSERT INTO orders VALUES (1, '2026-03-10')");
    dateStyle = (await direct.query<{ d: string }>("SELECT reset_val AS d FROM pg_settings WHERE name = 'DateStyle'")).rows[0]!.d;
    expect(dateStyle).not.toBe('ISO, DMY');
    slack = await startFakeSlack();
    gw = await startTestGateway(`channels:\n${slack.channelYaml()}\n  publicUrl: https://countersign.example.com\n${POLICY}`, {
      env: { APP_DB_URL: db!.url },
      server: 'postgres: { port: 0, holdSeconds: 0 }',
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await slack?.close();
    await direct?.end();
  });

  const connect = async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: 'deploy-bot', password: gw.keys['deploy-bot'], database: 'app-db', ssl: false });
    await c.connect();
    return c;
  };
  /** Sends `setup`, then `sql`, which is held: the request's id. */
  const hold = async (setup: readonly string[], sql: string) => {
    const c = await connect();
    try {
      for (const s of setup) await c.query(s);
      const held = (await c.query(sql).catch((e: unknown) => e)) as pg.DatabaseError;
      expect(held).toMatchObject({ code: 'CS001' });
      return /request (req_[a-z0-9]+)/.exec(held.message)![1]!;
    } finally {
      await c.end();
    }
  };
  const cardOf = (id: string) => slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id), 10_000);
  const pageOf = async (id: string) => (await getPage(gw.url, await signIn(gw.url, gw.keys['alice']!), `/requests/${id}`)).text();

  it('SET DateStyle, then a held DELETE: the API, the audit, the console and Slack show the setting and its default', async () => {
    const id = await hold(["SET DateStyle = 'ISO, DMY'"], "DELETE FROM orders WHERE created < '03/04/2026'");
    const line = `DateStyle = "ISO, DMY" (default ${JSON.stringify(dateStyle)})`;

    const view = (await gw.as('alice', `/v1/requests/${id}`)).body as Record<string, any>;
    expect(view['session']).toEqual({ settings: [line], objects: [] });

    const submitted = (await storedAudit(gw.deps.store, id)).find((e) => e.type === 'request.submitted')!;
    expect((submitted.data as { context: Record<string, string> }).context['sessionSettings']).toBe(line);

    const page = await pageOf(id);
    expect(page).toContain('Session differs from a new one');
    expect(page).toContain('DateStyle = &quot;ISO, DMY&quot;');
    expect(page).toMatch(/class="risk-flag">session state</);

    const card = JSON.stringify((await cardOf(id)).body['blocks']);
    expect(card).toContain('Risk: writes · deletes · session state');
    expect(card).toContain(JSON.stringify(line).slice(1, -1));
  });

  it('a temporary table that hides the real one: shown as such', async () => {
    const id = await hold(['CREATE TEMP TABLE orders (id int, created date)'], 'DELETE FROM orders WHERE id = 1');
    const view = (await gw.as('alice', `/v1/requests/${id}`)).body as Record<string, any>;
    expect(view['session']).toEqual({ settings: [], objects: ['temporary table orders'] });
    expect(await pageOf(id)).toContain('temporary table orders');
    expect(JSON.stringify((await cardOf(id)).body['blocks'])).toContain('temporary table orders');
  });

  it('a session that changed nothing: nothing extra on any channel', async () => {
    const id = await hold([], "DELETE FROM orders WHERE created < '2026-03-04'");
    const view = (await gw.as('alice', `/v1/requests/${id}`)).body as Record<string, any>;
    expect(view['status']).toBe('pending');
    expect(view['session']).toBeUndefined();
    const submitted = (await storedAudit(gw.deps.store, id)).find((e) => e.type === 'request.submitted')!;
    const context = (submitted.data as { context: Record<string, string> }).context;
    expect(context['sessionState']).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(context).filter((k) => k.startsWith('session'))).toEqual(['sessionState']);
    expect(await pageOf(id)).not.toContain('Session differs');
    const card = JSON.stringify((await cardOf(id)).body['blocks']);
    expect(card).toContain('Risk: writes · deletes · irreversible');
    expect(card).not.toContain('session state');
    expect(card).not.toContain('Session differs');
  });
});

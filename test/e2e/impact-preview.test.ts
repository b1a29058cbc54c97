/**
 * Impact preview end to end: a real gateway on a real PostgreSQL database,
 * a fake Slack and a webhook receiver. A held UPDATE is answered at once;
 * shortly after, its reviewers see "would change N rows in table T" on the
 * console page, the Slack card, the webhook and the REST view, the audit log
 * records the counts (no values), and the table is as it was. The requesting
 * side never sees the counts; a write the gateway cannot prove transactional
 * is shown as not previewed, with why, and nothing of it ran.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPage, signIn } from '../support/console.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('impact preview of a held SQL write', () => {
  let slack: FakeSlack;
  let receiver: Upstream;
  let gw: TestGateway;
  const admin = new pg.Client({ connectionString: db?.url });

  const checksum = async (): Promise<string> => (await admin.query(`SELECT string_agg(id || ':' || balance, ',' ORDER BY id) AS s FROM accounts`)).rows[0].s as string;
  const cardsOf = (id: string) => [...slack.callsOf('chat.postMessage'), ...slack.callsOf('chat.update')].filter((c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE SEQUENCE ids; CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
      INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 10) g`);
    slack = await startFakeSlack();
    receiver = await startUpstream(() => ({ status: 204 }));
    gw = await startTestGateway(`channels:
${slack.channelYaml()}
  publicUrl: https://countersign.example.com
  webhooks:
    - { name: ops, url: "${receiver.url}/hooks", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }
connections:
  - name: ledger
    kind: postgres
    url: "${db?.url}"
    preview: { timeoutMs: 2000 }
  - name: ledger-quiet
    kind: postgres
    url: "${db?.url}"
    preview: false
policy:
  rules:
    - { id: writes, when: "facts.writes", effect: approve, approvers: [{ groups: [sre] }] }
`);
  });

  afterAll(async () => {
    await gw?.stop();
    await slack?.close();
    await receiver?.close();
    await admin.end();
    await db?.drop();
  });

  async function hold(connection: string, sql: string): Promise<string> {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input: { sql }, reason: 'tidy up' } });
    expect(res.status).toBe(202);
    expect(res.body.preview).toBeUndefined();
    return res.body.id as string;
  }
  const previewOf = (id: string) => eventually(async () => ((await gw.as('alice', `/v1/requests/${id}`)).body.preview as Record<string, any> | undefined));

  it('shows reviewers on every channel what the write would change, and changes nothing', async () => {
    const before = await checksum();
    const id = await hold('ledger', 'UPDATE accounts SET balance = balance - 5 WHERE id <= 3');
    const preview = await previewOf(id);
    expect(preview).toMatchObject({ status: 'previewed', statements: [{ command: 'UPDATE', table: 'accounts', rows: 3 }] });
    expect(preview['statements'][0].plan).toMatch(/^Update on accounts/);
    expect(await checksum()).toBe(before);

    // Console: the reviewer's request page.
    const alice = await signIn(gw.url, gw.keys['alice']!);
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(page).toContain('Impact preview');
    expect(page).toContain('would change 3 rows in table accounts (UPDATE)');

    // Slack: the card is updated with the count.
    const card = await slack.waitFor('chat.update', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && JSON.stringify(c.body['blocks']).includes('would change 3 rows in table accounts'));
    expect(card.body['channel']).toBeDefined();

    // Webhook: a request.previewed event with the counts.
    const hook = await eventually(async () => receiver.calls.map((c) => JSON.parse(c.body)).find((b) => b.type === 'request.previewed' && b.data.requestId === id));
    expect(hook.data).toMatchObject({
      event: 'request.previewed',
      status: 'pending',
      data: { status: 'previewed', statements: [{ command: 'UPDATE', table: 'accounts', rows: 3 }] },
      preview: { status: 'previewed', statements: [{ command: 'UPDATE', table: 'accounts', rows: 3 }] },
    });

    // Audit: counts and tables, not the SQL's values.
    const events = (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'request.previewed');
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toEqual({ status: 'previewed', statements: [{ command: 'UPDATE', table: 'accounts', rows: 3 }] });
  });

  it('keeps the counts from the agent and the human it acts for', async () => {
    const id = await hold('ledger', 'DELETE FROM accounts WHERE balance > 70');
    await previewOf(id);
    const asAgent = await gw.as('deploy-bot', `/v1/requests/${id}`);
    expect(asAgent.status).toBe(200);
    expect(asAgent.body.preview).toBeUndefined();
    const asCarol = await gw.as('carol', `/v1/requests/${id}`);
    expect(asCarol.status).toBe(200);
    expect(asCarol.body.preview).toBeUndefined();
    const carol = await signIn(gw.url, gw.keys['carol']!);
    const page = await (await getPage(gw.url, carol, `/requests/${id}`)).text();
    expect(page).not.toContain('would change');
  });

  it('says why a write that could act outside the transaction is not previewed, and runs none of it', async () => {
    const seq = async () => (await admin.query('SELECT last_value, is_called FROM ids')).rows[0];
    const before = await seq();
    const id = await hold('ledger', "UPDATE accounts SET balance = nextval('ids') WHERE id = 1");
    expect(await previewOf(id)).toMatchObject({ status: 'skipped', reason: 'calls pg_catalog.nextval, which could act outside the transaction' });
    await slack.waitFor('chat.update', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && JSON.stringify(c.body['blocks']).includes('not previewed: calls pg_catalog.nextval'));
    expect(await seq()).toEqual(before);
  });

  it('never previews on a connection with preview: false', async () => {
    const id = await hold('ledger-quiet', 'UPDATE accounts SET balance = 0 WHERE id = 2');
    const other = await hold('ledger', 'UPDATE accounts SET balance = 0 WHERE id = 2');
    // The other request, submitted after, has its preview: this one's would have landed by now.
    await previewOf(other);
    await eventually(async () => (cardsOf(other).some((c) => JSON.stringify(c.body['blocks']).includes('would change 1 row in table accounts')) ? true : undefined));
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.preview).toBeUndefined();
    expect((await storedAudit(gw.deps.store, id)).map((e) => e.type)).not.toContain('request.previewed');
    expect(cardsOf(id).every((c) => !JSON.stringify(c.body['blocks']).includes('preview'))).toBe(true);
  });
});

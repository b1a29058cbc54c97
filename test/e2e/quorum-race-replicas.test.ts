/**
 * Two approvals of one request landing at the same moment on two replicas sharing one PostgreSQL store: bob, a
 * configured approver who never signed in to the console, and a person of another issuer the configuration does not
 * name (who may be bob under an address changed at the provider) are not two approvals toward a quorum of two, whichever
 * of them is written first (service/side-links.ts). Each judged against the reviews on the row it writes to, the
 * second is refused (IDENTITY_NOT_DISTINCT): the request stays pending and the upstream is never called.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { createTestDatabase, queryOnce } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const store = await createTestDatabase();
const keys = { bot: generateApiKey(), bob: generateApiKey() };
const ROUNDS = 8;

let dir: string;
let replicas: Replica[] = [];
let upstream: Upstream;
let op: TestOidcProvider;
let people: TestIssuer;
let stranger: string;

beforeAll(async () => {
  if (!store) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-quorum-race-'));
  upstream = await startUpstream();
  op = await startTestOidcProvider();
  people = await startTestIssuer('/people');
  writeFileSync(
    join(dir, 'countersign.yaml'),
    `server: { port: 0 }
store: { postgres: { url: ${JSON.stringify(store.url)}, poolSize: 6 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
identity:
  issuers:
    - issuer: ${people.issuer}
      audience: countersign
      principal: { kind: human, id: sub, groups: groups, email: email }
      groupMap: { people-sre: [sre] }
${op.loginYaml()}    principal: { id: name }
    groupMap: { idp-sre: [sre] }
principals:
  - { id: ops-bot, kind: agent, apiKeys: ["${keys.bot.hash}"] }
  - { id: bob, kind: human, email: bob@example.com, groups: [sre], apiKeys: ["${keys.bob.hash}"] }
connections:
  - { name: ops-api, kind: http, url: ${upstream.url}/ops }
policy:
  default: deny
  rules:
    - { id: two-sre, when: "true", effect: approve, approvers: [{ groups: [sre], count: 2 }], ttl: 1h }
`,
  );
  replicas = [await startReplica(join(dir, 'countersign.yaml')), await startReplica(join(dir, 'countersign.yaml'))];
  // bob's address at the provider is robert@ now: under it, he is someone the configuration does not name.
  stranger = await people.sign({ sub: 'robert', email: 'robert@example.com', email_verified: true, groups: ['people-sre'], aud: 'countersign' });
}, 180_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all([op?.close(), people?.close(), upstream?.close()]);
  await store?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!store)('a configured approver who never signed in and a stranger approve at once on two replicas', () => {
  it('are never two approvals toward a quorum of two: the request stays pending and never runs', async () => {
    const outcomes: unknown[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const path = `/payout/${i}`;
      const held = await replicas[0]!.as(keys.bot.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'payout' } });
      expect(held.status).toBe(202);
      const id = (held.body as { id: string }).id;
      const [a, b] = await Promise.all([
        replicas[i % 2]!.as(keys.bob.key, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } }),
        replicas[(i + 1) % 2]!.as(stranger, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } }),
      ]);
      const [row] = await queryOnce(store!.url, `SELECT status FROM requests WHERE id = '${id}'`);
      const reviews = await queryOnce(store!.url, `SELECT reviewer FROM reviews WHERE request_id = '${id}'`);
      outcomes.push({ statuses: [a.status, b.status].sort(), status: row?.status, reviews: reviews.length, ran: upstream.calls.filter((c) => c.url === `/ops${path}`).length });
    }
    // One of the two is recorded; the other is refused, whichever came second.
    expect(outcomes).toEqual(Array.from({ length: ROUNDS }, () => ({ statuses: [200, 403], status: 'pending', reviews: 1, ran: 0 })));
  });
});

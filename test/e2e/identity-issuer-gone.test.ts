/**
 * An approval given with a token counts, when approvals are counted, only while the configuration in force still
 * takes tokens of its issuer for humans. Once a restart removes that issuer (it was compromised, or replaced), its
 * word is worth no more than a new token of it would be, which is refused: a person known only through it (no
 * configured principal) counts for nothing, and a configured human keeps the groups the configuration gives them,
 * never those the removed issuer's groups granted. As a console session it opened ends (identity-login-provider-gone).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedReviewers } from '../support/store-view.ts';
import { releaseTestStore, storeYaml } from '../support/test-store.ts';

let people: TestIssuer;
let dir: string;
const running: TestGateway[] = [];

beforeAll(async () => {
  people = await startTestIssuer('/people');
  dir = mkdtempSync(join(tmpdir(), 'cs-issuer-gone-'));
});
afterAll(async () => {
  await Promise.all(running.map((g) => g.stop()));
  await people?.close();
  await releaseTestStore(join(dir, 'countersign.db'));
  rmSync(dir, { recursive: true, force: true });
});

const body = (issuers: string) => `${issuers}connections:
  - { name: ops-api, kind: http, url: http://127.0.0.1:9/ops }
policy:
  default: deny
  rules:
    - { id: two-sre, when: "true", effect: approve, approvers: [{ groups: [sre], count: 2 }] }
`;
const withPeople = () => `identity:
  issuers:
    - issuer: ${people.issuer}
      audience: countersign
      principal: { kind: human, id: sub, email: email, groups: groups }
      groupMap: { idp-sre: [sre] }
`;

it('an approval by its token no longer fills a place once the issuer is removed: held for another approver', async () => {
  const humans = [...DEFAULT_PRINCIPALS.map((p) => ({ ...p, email: p.kind === 'human' ? `${p.id}@example.com` : undefined })), { id: 'frank', kind: 'human' as const, groups: [], email: 'frank@example.com' }];
  const keys: Record<string, string> = {};
  const db = join(dir, 'countersign.db');
  const first = await startTestGateway(await storeYaml(configYaml(humans, keys, body(withPeople()), db)), { dir, keys });
  running.push(first);
  const ids: string[] = [];
  // zoe is known only through the issuer; frank is configured, in sre only by the issuer's groups.
  for (const [sub, email] of [['zoe', 'zoe@example.com'], ['frank', 'frank@example.com']] as const) {
    const held = await first.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: `/${sub}` }, reason: 'issuer gone' } });
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    ids.push(id);
    const token = await people.sign({ aud: 'countersign', sub, email, email_verified: true, groups: ['idp-sre'] });
    const res = await fetch(`${first.url}/v1/requests/${id}/reviews`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ verdict: 'approve' }) });
    expect(res.status, await res.text()).toBe(200);
  }
  await first.stop();
  running.splice(running.indexOf(first), 1);

  const second = await startTestGateway(await storeYaml(configYaml(humans, keys, body(''), db)), { dir, keys });
  running.push(second);
  for (const id of ids) {
    expect((await second.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    // alice is one sre; the approval the removed issuer vouched for fills no place now.
    expect((await second.as('alice', `/v1/requests/${id}`)).body).toMatchObject({ status: 'pending' });
    expect((await storedReviewers(second.deps.store, id)).length).toBe(2);
  }
});

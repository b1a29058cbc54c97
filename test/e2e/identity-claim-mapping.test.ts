/**
 * `email_verified` is the provider's word about the `email` claim (OIDC Core
 * §5.1), and about no other. Where an issuer's mapping reads a human's email
 * from another claim (`principal.email`), that value names someone only when
 * it is the verified `email` itself: otherwise whoever can set it (a profile
 * attribute, a username) would be any configured human by typing her address.
 * A groups claim that is one string is one group (providers send a lone group
 * so), never split at its spaces: `Helpdesk Admins` is not `Admins`. Only
 * `scp` and `scope` are space-separated lists (RFC 8693 §4.2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';

let idp: TestIssuer;
let gw: TestGateway;

const PRINCIPALS: TestPrincipal[] = [
  { id: 'deploy-bot', kind: 'agent' },
  { id: 'alice', kind: 'human', groups: ['sre'], email: 'alice@example.com' },
];

beforeAll(async () => {
  idp = await startTestIssuer('/people');
  gw = await startTestGateway(
    `identity:
  issuers:
    - issuer: ${idp.issuer}
      audience: countersign
      principal: { kind: human, id: sub, email: profile.contact_email, groups: memberOf }
      groupMap: { Admins: [ops] }
policy:
  default: deny
`,
    { principals: PRINCIPALS },
  );
});

afterAll(async () => {
  await gw?.stop();
  await idp?.close();
});

async function whoami(claims: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const token = await idp.sign({ aud: 'countersign', ...claims });
  const res = await fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

describe('a human’s email read from another claim than `email`', () => {
  it('names no one when it is not the verified email: another person’s address typed into a profile is not theirs', async () => {
    const res = await whoami({ sub: '00u-mallory', email: 'mallory@evil.example', email_verified: true, profile: { contact_email: 'alice@example.com' } });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.unlinked' });
    const none = await whoami({ sub: '00u-mallory', email_verified: true, profile: { contact_email: 'Alice@Example.com' } });
    expect(none.status).toBe(401);
  });

  it('names the configured human when it is the verified email, in any case', async () => {
    const res = await whoami({ sub: '00u-alice', email: 'alice@example.com', email_verified: true, profile: { contact_email: 'ALICE@example.com' } });
    expect(res).toMatchObject({ status: 200, body: { id: 'alice', kind: 'human', groups: ['sre'] } });
  });
});

describe('a groups claim that is one string', () => {
  const dana = { sub: '00u-dana', email: 'dana@example.com', email_verified: true, profile: { contact_email: 'dana@example.com' } };

  it('is one group name, spaces and all: a group whose name holds a mapped one grants nothing', async () => {
    for (const memberOf of ['Helpdesk Admins', 'Admins ', 'Not Admins Anymore']) {
      expect(await whoami({ ...dana, memberOf }), memberOf).toMatchObject({ status: 200, body: { id: 'dana@example.com', groups: [] } });
    }
  });

  it('grants its mapping when it is the mapped name, as a one-element list does', async () => {
    expect(await whoami({ ...dana, memberOf: 'Admins' })).toMatchObject({ status: 200, body: { groups: ['ops'] } });
    expect(await whoami({ ...dana, memberOf: ['Helpdesk Admins', 'Admins'] })).toMatchObject({ status: 200, body: { groups: ['ops'] } });
  });
});

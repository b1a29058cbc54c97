/**
 * The cookie that carries a single sign-on's flow is sealed with an HMAC, and
 * anyone gets one sealed for them: /auth/oidc/start needs no credential, and
 * the sealed payload is in clear. A seal keyed by the login client's secret
 * is then an offline test of guesses at that secret, two HMACs a guess, with
 * nothing the gateway can see or limit; a client secret an operator chose
 * (Dex's static clients, Keycloak's) falls to a word list. The seal is keyed
 * by the deployment's own random key (derived from the audit HMAC key, which
 * every replica mounts), so a right guess of the client secret verifies no
 * better than a wrong one. Real parts: the gateway and the `oidc-provider`
 * package.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, withHumanEmails, type TestGateway } from '../support/gateway.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';

let op: TestOidcProvider;
let gw: TestGateway;

beforeAll(async () => {
  op = await startTestOidcProvider();
  gw = await startTestGateway(`identity:
${op.loginYaml()}connections:
  - name: ops-api
    kind: http
    url: http://127.0.0.1:9/ops
policy:
  default: deny
  rules: []
`, { principals: withHumanEmails(DEFAULT_PRINCIPALS) });
  await op.configure({ redirectUris: [`${gw.url}/auth/oidc/callback`], accounts: {} });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await op?.close();
});

/** The seal a guess of the client secret predicts for a payload, as the gateway sealed flows with the client secret. */
const sealWith = (guess: string, payload: string) =>
  createHmac('sha256', createHmac('sha256', guess).update('countersign oidc flow cookie v1').digest()).update(payload).digest('base64url');

describe('the flow cookie a sign-in starts with, asked for without any credential', () => {
  it('is sealed with no key a guess of the client secret can check', async () => {
    const res = await fetch(`${gw.url}/auth/oidc/start?next=/`, { redirect: 'manual' });
    expect([302, 303]).toContain(res.status);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('countersign_oidc='));
    expect(cookie).toBeDefined();
    const [payload, tag] = cookie!.slice('countersign_oidc='.length).split(';')[0]!.split('.');
    // The payload is in clear, as it always was (state, verifier, nonce, where to go next).
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'))).toMatchObject({ next: '/' });
    // The right secret predicts the seal no better than a wrong one.
    expect(tag).not.toBe(sealWith(op.clientSecret, payload!));
    expect(tag).not.toBe(sealWith(`${op.clientSecret}x`, payload!));
  }, 30_000);
});

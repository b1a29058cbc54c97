/**
 * Step-up answers signed by the reviewer's own passkey but made outside a
 * browser: whoever holds the key (malware on the laptop, an authenticator
 * cloned from a backup) can sign any bytes, so the gateway must check what the
 * signature covers. Chromium registers a passkey for alice through the console
 * with a virtual authenticator; its private key, read back over the DevTools
 * protocol, then signs assertions made here: for another origin, for another
 * RP id, without user verification, and with a signature counter that went
 * back. Each is refused STEP_UP_REQUIRED and records nothing; one made the
 * way a browser makes it counts, so the refusals are the gateway's and not
 * a fault of the assertions made here.
 */
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { consoleOrigin, holdRequest, postAssertion, refusedWith as refused, registerPasskey, signInReviewer, stepUpOptions, type Reviewer } from '../support/step-up.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;
let browser: TestBrowser;
/** The console as a browser must reach it for WebAuthn: a secure context on the RP id `localhost`. */
let origin: string;
let alice: Reviewer;
/** Alice's passkey as the virtual authenticator holds it. */
let passkey: { id: string; key: ReturnType<typeof createPrivateKey>; userHandle: string };

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  gw = await startTestGateway(
    `connections:
  - { name: ops, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: risky
      when: facts.http.path.startsWith("/risky")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      stepUp: webauthn
`,
    { principals: DEFAULT_PRINCIPALS.map((p) => (p.kind === 'human' ? { ...p, email: `${p.id}@example.com` } : p)) },
  );
  origin = consoleOrigin(gw);
  browser = await launchBrowser();
  alice = await signInReviewer(browser, gw, 'alice');
  await registerPasskey(alice, 'alice key');
  const { credentials } = await alice.cdp.send('WebAuthn.getCredentials', { authenticatorId: alice.authenticatorId });
  const held = credentials[0]!;
  passkey = {
    id: Buffer.from(held.credentialId, 'base64').toString('base64url'),
    key: createPrivateKey({ key: Buffer.from(held.privateKey, 'base64'), format: 'der', type: 'pkcs8' }),
    userHandle: Buffer.from(held.userHandle ?? '', 'base64').toString('base64url'),
  };
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await upstream?.close();
});

const hold = (path: string) => holdRequest(gw, path);

const challengeFor = async (id: string, digest: string): Promise<string> => (await stepUpOptions(alice, id, digest)).challenge;

/**
 * An assertion over `challenge` signed with alice's passkey, as an authenticator makes one (WebAuthn §6.1: RP id hash,
 * flags, counter; the signature over authenticatorData ‖ SHA-256(clientDataJSON)), with what a forger may change.
 */
function assertion(challenge: string, o: { origin?: string; rpId?: string; flags?: number; counter: number }): Record<string, unknown> {
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: o.origin ?? origin, crossOrigin: false }));
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(o.counter);
  // UP (0x01) and UV (0x04) unless told otherwise.
  const authenticatorData = Buffer.concat([createHash('sha256').update(o.rpId ?? 'localhost').digest(), Buffer.from([o.flags ?? 0x05]), counter]);
  // Whichever algorithm the authenticator chose from those the gateway offered: Ed25519 signs without a digest of its own.
  const signature = sign(passkey.key.asymmetricKeyType === 'ed25519' ? null : 'sha256', Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]), passkey.key);
  return {
    id: passkey.id,
    rawId: passkey.id,
    type: 'public-key',
    clientExtensionResults: {},
    response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authenticatorData), signature: b64url(signature), userHandle: passkey.userHandle },
  };
}

const send = (id: string, digest: string, answer: Record<string, unknown>): Promise<Response> => postAssertion(alice, id, digest, answer);

const recorded = async (id: string) => (await storedAudit(gw.deps.store, id)).filter((e) => e.type === 'review.recorded');

describe('a step-up answer signed with the reviewer’s own passkey outside a browser', () => {
  it('is refused for another origin, another RP id, without user verification, and with a counter that went back; made as a browser makes it, it counts', async () => {
    const { id, digest } = await hold('/risky/one');
    await refused(await send(id, digest, assertion(await challengeFor(id, digest), { origin: 'https://countersign.evil.example', counter: 100 })), /did not verify.*origin/i);
    await refused(await send(id, digest, assertion(await challengeFor(id, digest), { rpId: 'evil.example', counter: 100 })), /did not verify.*RP ID/i);
    await refused(await send(id, digest, assertion(await challengeFor(id, digest), { flags: 0x01, counter: 100 })), /did not verify.*user could not be verified/i);
    expect(await recorded(id)).toEqual([]);
    // The same key, the same request, bound as a browser binds it: it counts (1 of 2), and the counter is now 100.
    expect((await send(id, digest, assertion(await challengeFor(id, digest), { counter: 100 }))).status).toBe(200);
    expect((await recorded(id)).map((e) => e.data['stepUp'])).toEqual([{ method: 'webauthn', credentialId: passkey.id }]);

    // A copy of the authenticator still at an older counter (or the same one) on another request: refused, nothing recorded.
    const other = await hold('/risky/two');
    await refused(await send(other.id, other.digest, assertion(await challengeFor(other.id, other.digest), { counter: 99 })), /counter/i);
    await refused(await send(other.id, other.digest, assertion(await challengeFor(other.id, other.digest), { counter: 100 })), /counter/i);
    expect(await recorded(other.id)).toEqual([]);
    // Past the counter, it counts there too.
    expect((await send(other.id, other.digest, assertion(await challengeFor(other.id, other.digest), { counter: 101 }))).status).toBe(200);
    expect(await recorded(other.id)).toHaveLength(1);
    expect(upstream.calls).toHaveLength(0);
  }, 90_000);
});

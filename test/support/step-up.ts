/**
 * What the step-up files share: a reviewer's browser in Chromium with a
 * virtual authenticator (DevTools protocol, WebAuthn domain) signed in to the
 * console, passkey registration through the console, assertions made in that
 * browser, the step-up routes, and the gateway the step-up-approvals,
 * step-up-break-glass and step-up-passkeys files run against (its rules, its
 * principals, a fake Slack and an upstream). step-up-forged-assertions starts
 * a gateway of its own and uses the reviewer helpers.
 */
import type { CDPSession, Page } from 'playwright-core';
import { expect } from 'vitest';
import { launchBrowser, type TestBrowser } from './browser.ts';
import { manualClock } from './clock.ts';
import { postForm, type ConsoleUser } from './console.ts';
import { startFakeSlack, type FakeSlack } from './fake-slack.ts';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from './gateway.ts';
import { storedAudit } from './store-view.ts';
import { startUpstream, type Upstream } from './upstream.ts';

export interface Reviewer {
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  user: ConsoleUser;
  /** The console as a browser must reach it for WebAuthn: a secure context on the RP id `localhost`. */
  origin: string;
}

/** The console as a browser must reach it for WebAuthn: a secure context on the RP id `localhost`. */
export const consoleOrigin = (gw: TestGateway): string => gw.url.replace('127.0.0.1', 'localhost');

/** A browser of `who`, signed in at the console's origin, with a virtual platform authenticator that verifies its user. */
export async function signInReviewer(browser: TestBrowser, gw: TestGateway, who: string): Promise<Reviewer> {
  const origin = consoleOrigin(gw);
  const { context, page } = await browser.page();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  await page.goto(`${origin}/login`);
  await page.getByLabel('Your API key').fill(gw.keys[who]!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${origin}/`);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'countersign_session')!;
  const csrf = (await page.locator('input[name=_csrf]').first().getAttribute('value'))!;
  return { page, cdp, authenticatorId, user: { cookie: `${session.name}=${session.value}`, csrf, setCookie: '' }, origin };
}

export async function registerPasskey(r: Reviewer, label: string): Promise<void> {
  await r.page.goto(`${r.origin}/account/passkeys`);
  await r.page.getByLabel(/Label/).fill(label);
  await r.page.getByRole('button', { name: 'Register a passkey' }).click();
  await r.page.waitForURL(`${r.origin}/account/passkeys?done=registered`);
}

/** A request of deploy-bot's to `path` on the `ops` connection, held for review. */
export async function holdRequest(gw: TestGateway, path: string): Promise<{ id: string; digest: string }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path }, reason: 'needed' } });
  expect(res.status).toBe(202);
  return { id: res.body.id as string, digest: res.body.digest as string };
}

/**
 * In `r`'s browser: an assertion by its authenticator over `options` (PublicKeyCredentialRequestOptionsJSON), encoded
 * as the console's script sends it; `userVerification` and `allowCredentials` may be overridden, as a modified client would.
 */
export async function assertWith(r: Reviewer, options: Record<string, any>, override: { userVerification?: string; anyCredential?: boolean } = {}): Promise<Record<string, unknown>> {
  return r.page.evaluate(
    async ({ options, override }) => {
      const buf = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
      const text = (b: ArrayBuffer | null) => (b ? btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : undefined);
      const cred = await (globalThis as any).navigator.credentials.get({
        publicKey: {
          ...options,
          challenge: buf(options.challenge),
          allowCredentials: override.anyCredential ? [] : (options.allowCredentials ?? []).map((c: { id: string; type: 'public-key' }) => ({ id: buf(c.id), type: c.type })),
          userVerification: override.userVerification ?? options.userVerification,
        },
      });
      const res = cred.response;
      return {
        id: cred.id,
        rawId: text(cred.rawId),
        type: cred.type,
        clientExtensionResults: {},
        response: { clientDataJSON: text(res.clientDataJSON), authenticatorData: text(res.authenticatorData), signature: text(res.signature), userHandle: text(res.userHandle) },
      };
    },
    { options, override },
  );
}

/** Step-up options for `id` as `r` (its session), straight from the console route. */
export async function stepUpOptions(r: Reviewer, id: string, digest: string): Promise<Record<string, any>> {
  const res = await postForm(r.origin, r.user, `/requests/${id}/step-up/options`, { _csrf: r.user.csrf, digest });
  expect(res.status).toBe(200);
  return ((await res.json()) as { options: Record<string, any> }).options;
}

export function postAssertion(r: Reviewer, id: string, digest: string, assertion: unknown): Promise<Response> {
  return postForm(r.origin, r.user, `/requests/${id}/step-up`, { _csrf: r.user.csrf, digest, comment: '', credential: JSON.stringify(assertion) });
}

/** In `r`'s browser: a registration by its authenticator sent with no confirmation (a new credential stands for a thief's). */
export async function registerUnconfirmed(r: Reviewer): Promise<{ confirmAsked: boolean; status: number; body: { error: { code: string; message: string } } }> {
  return r.page.evaluate(async (csrf) => {
    const post = (url: string, fields: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    const o = (await (await post('/account/passkeys/options', { _csrf: csrf })).json()) as { registration: any; confirm: unknown };
    const buf = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
    const text = (b: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const reg = o.registration;
    // The authenticator's own passkey is excluded by nobody: a second, different one stands for the thief's.
    const cred = await (globalThis as any).navigator.credentials.create({ publicKey: { ...reg, challenge: buf(reg.challenge), user: { ...reg.user, id: buf(reg.user.id) }, excludeCredentials: [] } });
    const res = cred.response;
    const credential = { id: cred.id, rawId: text(cred.rawId), type: cred.type, clientExtensionResults: {}, response: { clientDataJSON: text(res.clientDataJSON), attestationObject: text(res.attestationObject), transports: [] } };
    const sent = await post('/account/passkeys', { _csrf: csrf, label: 'thief', credential: JSON.stringify(credential) });
    return { confirmAsked: o.confirm !== null, status: sent.status, body: (await sent.json()) as { error: { code: string; message: string } } };
  }, r.user.csrf);
}

export async function refusedWith(res: Response, pattern: RegExp): Promise<void> {
  expect(res.status).toBe(403);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('STEP_UP_REQUIRED');
  expect(body.error.message).toMatch(pattern);
}

const EMAILS: Record<string, string> = { alice: 'alice@example.com', bob: 'bob@example.com' };

export interface StepUpWorld {
  slack: FakeSlack;
  upstream: Upstream;
  gw: TestGateway;
  browser: TestBrowser;
  origin: string;
}

/**
 * The gateway of the step-up files: rules that ask for a passkey on one approval (/risky), on each of a quorum
 * (/two), on approvals and break-glass (/glass) and on an approval that gives a grant (/granted); alice and bob
 * with emails (Slack), erin in sre and oncall, root an administrator; a manual clock. A test file starts it in its
 * beforeAll and stops it in its afterAll; `reviewers` keeps the browsers `reviewer` signed in, by principal.
 */
export function stepUpGateway() {
  const clock = manualClock();
  const reviewers: Record<string, Reviewer> = {};
  /** What start has started so far: stop closes it, whatever failed on the way. */
  let world: Partial<StepUpWorld> = {};
  const w = (): StepUpWorld => {
    if (!world.browser) throw new Error('the step-up gateway is not started');
    return world as StepUpWorld;
  };
  return {
    clock,
    reviewers,
    async start(): Promise<StepUpWorld> {
      world = {};
      const slack = (world.slack = await startFakeSlack());
      for (const [id, email] of Object.entries(EMAILS)) slack.users.set(`U${id.toUpperCase()}`, { id: `U${id.toUpperCase()}`, email });
      const upstream = (world.upstream = await startUpstream(() => ({ status: 200, body: { ok: true } })));
      const gw = await startTestGateway(
        `channels:
${slack.channelYaml()}
connections:
  - { name: ops, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: risky
      when: facts.http.path.startsWith("/risky")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      stepUp: webauthn
    - id: risky-two
      when: facts.http.path.startsWith("/two")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
    - id: two-step-up
      when: facts.http.path.startsWith("/two")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      stepUp: webauthn
    - id: glass
      when: facts.http.path.startsWith("/glass")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      stepUp: webauthn
      breakGlass: { groups: [oncall] }
    - id: granted-step-up
      when: facts.http.path.startsWith("/granted")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      stepUp: webauthn
      grant: { maxUses: 2, maxDuration: 1h, vary: [body.n] }
`,
        { principals: [...DEFAULT_PRINCIPALS.map((p) => (EMAILS[p.id] ? { ...p, email: EMAILS[p.id] } : p)), { id: 'erin', kind: 'human', groups: ['sre', 'oncall'] }, { id: 'root', kind: 'human', groups: [], roles: ['admin'] }], clock },
      );
      world.gw = gw;
      world.origin = consoleOrigin(gw);
      world.browser = await launchBrowser();
      return world as StepUpWorld;
    },
    async stop(): Promise<void> {
      await world.browser?.close();
      await world.gw?.stop();
      await world.slack?.close();
      await world.upstream?.close();
      world = {};
    },
    /** A request to `path` held for review (a step-up rule's by default). */
    hold: (path = '/risky/restart') => holdRequest(w().gw, path),
    status: async (id: string) => (await w().gw.as('alice', `/v1/requests/${id}`)).body.status as string,
    /** `who`'s browser (signInReviewer), kept in `reviewers`. */
    async reviewer(who: string): Promise<Reviewer> {
      const r = await signInReviewer(w().browser, w().gw, who);
      reviewers[who] = r;
      return r;
    },
    removedEvents: async () => (await storedAudit(w().gw.deps.store)).filter((e) => e.type === 'passkey.removed'),
  };
}

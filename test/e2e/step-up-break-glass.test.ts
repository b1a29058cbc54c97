/**
 * Breaking the glass on a step-up request needs a passkey too, end to end on
 * the step-up gateway (test/support/step-up.ts): refused over REST, the CLI
 * and the plain form, run once from the console with one (Chromium with a
 * virtual authenticator), and an answer to an approval's challenge does not
 * break the glass (nor the other way round).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, signIn } from '../support/console.ts';
import type { TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { human } from '../support/fixtures.ts';
import { runCli } from '../support/run-cli.ts';
import { assertWith, postAssertion, refusedWith, registerPasskey, stepUpGateway, stepUpOptions } from '../support/step-up.ts';
import type { Upstream } from '../support/upstream.ts';
import { breakGlass } from '../../src/service/break-glass.ts';
import { mintStepUp } from '../../src/service/step-up-evidence.ts';

const steps = stepUpGateway();
const { reviewers, hold, status, reviewer } = steps;
let upstream: Upstream;
let gw: TestGateway;
let origin: string;

beforeAll(async () => {
  ({ upstream, gw, origin } = await steps.start());
}, 60_000);

afterAll(() => steps.stop());

describe('step-up with a passkey', () => {
  it('refuses break-glass on a step-up request without a passkey (REST, CLI, plain form): 403 STEP_UP_REQUIRED naming the console page, audited, nothing runs', async () => {
    const { id } = await hold('/glass/restart');
    const res = await gw.as('erin', `/v1/requests/${id}/break-glass`, { body: { justification: 'checkout is down, INC-4211' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('STEP_UP_REQUIRED');
    expect(res.body.error.message).toContain(`/requests/${id}`);
    const cli = await runCli({ url: gw.url, key: gw.keys['erin']!, credentials: '/nonexistent/countersign-credentials.json' }).command(['requests', 'break-glass', id, '-m', 'checkout is down, INC-4211']).done;
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('STEP_UP_REQUIRED');
    expect(cli.stderr).toContain(`/requests/${id}`);
    // The console's plain form (no script) is refused the same way.
    const form = await signIn(gw.url, gw.keys['erin']!);
    const plain = await postForm(gw.url, form, `/requests/${id}/break-glass`, { _csrf: form.csrf, justification: 'checkout is down, INC-4211' });
    expect(plain.status).toBe(403);
    expect(await plain.text()).toContain('STEP_UP_REQUIRED');
    expect(await status(id)).toBe('pending');
    const events = await storedAudit(gw.deps.store, id);
    expect(events.filter((e) => e.type === 'break_glass.refused').map((e) => [e.actor, e.data['code'], e.data['via'] ?? null])).toEqual([
      ['erin', 'STEP_UP_REQUIRED', null],
      ['erin', 'STEP_UP_REQUIRED', null],
      ['erin', 'STEP_UP_REQUIRED', 'console'],
    ]);
    expect(events.filter((e) => e.type === 'request.break_glass' || e.type === 'request.executing')).toEqual([]);
    // Evidence that a passkey confirmed an approval is not evidence for breaking the glass.
    const { digest } = (await gw.as('erin', `/v1/requests/${id}`)).body as { digest: string };
    const forApproval = mintStepUp({ method: 'webauthn', purpose: 'approve', credentialId: 'c', human: 'erin', requestId: id, digest });
    await expect(breakGlass(gw.deps, { by: human('erin', ['sre', 'oncall']), requestId: id, justification: 'INC-4211', stepUp: forApproval })).rejects.toMatchObject({ code: 'STEP_UP_REQUIRED' });
    expect(await status(id)).toBe('pending');
    expect(upstream.calls.filter((c) => c.url.startsWith('/glass/restart'))).toEqual([]);
  }, 60_000);

  it('breaks the glass on a step-up request in the console with a passkey: runs once, the audit names the passkey', async () => {
    const erin = await reviewer('erin');
    await registerPasskey(erin, 'erin phone');
    const [passkey] = await gw.deps.store.passkeysOf('erin');
    const { id } = await hold('/glass/failover');
    await erin.page.goto(`${origin}/requests/${id}`);
    await expect(erin.page.locator('#break-glass-step-up').textContent()).resolves.toContain('Breaking the glass needs your passkey');
    await erin.page.getByLabel(/Justification/).fill('primary is down, INC-5150');
    await erin.page.getByRole('button', { name: 'Break the glass and run it' }).click();
    await erin.page.waitForURL(`${origin}/requests/${id}?done=break-glass`);
    expect(await status(id)).toBe('succeeded');
    expect(upstream.calls.filter((c) => c.url === '/glass/failover')).toHaveLength(1);
    const events = await storedAudit(gw.deps.store, id);
    const broke = events.filter((e) => e.type === 'request.break_glass');
    expect(broke).toHaveLength(1);
    expect(broke[0]!.data).toMatchObject({ by: 'erin', justification: 'primary is down, INC-5150', via: 'console', stepUp: { method: 'webauthn', credentialId: passkey!.id } });
    expect(events.filter((e) => e.type === 'request.executing').map((e) => e.data['by'])).toEqual(['break-glass']);
    expect((await gw.as('erin', `/v1/requests/${id}`)).body.breakGlass.stepUp).toEqual({ method: 'webauthn', credentialId: passkey!.id });
  }, 90_000);

  it('does not break the glass with an answer to an approval’s challenge, nor approve with one to a break-glass challenge', async () => {
    const erin = reviewers['erin']!;
    const { id, digest } = await hold('/glass/purge');
    // Erin is an approver (sre) as well as on call: the approval challenge is hers, for this request and digest.
    const forApproval = await assertWith(erin, await stepUpOptions(erin, id, digest));
    const moved = await postForm(origin, erin.user, `/requests/${id}/break-glass/step-up`, { _csrf: erin.user.csrf, digest, justification: 'INC-6000', credential: JSON.stringify(forApproval) });
    await refusedWith(moved, /another purpose \(approve\)/);
    const options = await postForm(origin, erin.user, `/requests/${id}/break-glass/step-up/options`, { _csrf: erin.user.csrf, digest });
    expect(options.status).toBe(200);
    const forBreaking = await assertWith(erin, ((await options.json()) as { options: Record<string, any> }).options);
    // No justification: refused before the challenge is used (the next refusal is about its purpose, not its use).
    const bare = await postForm(origin, erin.user, `/requests/${id}/break-glass/step-up`, { _csrf: erin.user.csrf, digest, justification: ' ', credential: JSON.stringify(forBreaking) });
    expect([bare.status, ((await bare.json()) as { error: { code: string } }).error.code]).toEqual([400, 'JUSTIFICATION_REQUIRED']);
    await refusedWith(await postAssertion(erin, id, digest, forBreaking), /another purpose \(break-glass\)/);
    expect(await status(id)).toBe('pending');
    const events = await storedAudit(gw.deps.store, id);
    expect(events.filter((e) => e.type === 'request.break_glass' || e.type === 'review.recorded')).toEqual([]);
    expect(upstream.calls.filter((c) => c.url === '/glass/purge')).toEqual([]);
  }, 60_000);
});

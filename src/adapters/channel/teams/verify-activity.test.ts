import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeBotFramework, type FakeBotFramework } from '../../../../test/support/fake-botframework.ts';
import { createActivityVerifier } from './verify-activity.ts';

let bf: FakeBotFramework;
beforeAll(async () => {
  bf = await startFakeBotFramework();
});
afterAll(() => bf.close());

const verifier = () => createActivityVerifier({ appId: bf.appId, tenantId: bf.tenantId, openIdMetadataUrl: bf.openIdMetadataUrl });
const click = () => bf.invokeActivity({ verb: 'approve', requestId: 'req_abc' });

describe('verifying a Teams activity', () => {
  it('returns the activity and the token claims when every check passes', async () => {
    const v = await verifier().verify(`Bearer ${await bf.signToken()}`, click());
    expect(v.ok).toBe(true);
    if (v.ok) {
      expect(v.activity.channelId).toBe('msteams');
      expect(v.claims.serviceUrl).toBe(bf.serviceUrl);
    }
  });

  it('compares tenant ids without regard to case, and refuses two differing tenants', async () => {
    const upper = { ...click(), channelData: { tenant: { id: bf.tenantId.toUpperCase() } }, conversation: { id: '19:x', tenantId: bf.tenantId.toUpperCase() } };
    expect((await verifier().verify(`Bearer ${await bf.signToken()}`, upper)).ok).toBe(true);
    const split = { ...click(), conversation: { id: '19:x', tenantId: '00000000-0000-0000-0000-000000000000' } };
    expect(await verifier().verify(`Bearer ${await bf.signToken()}`, split)).toEqual({ ok: false, reason: 'teams.tenant_mismatch' });
  });

  it('refuses an activity from another channel, or one without the fields the checks need', async () => {
    const token = `Bearer ${await bf.signToken()}`;
    expect(await verifier().verify(token, { ...click(), channelId: 'webchat' })).toEqual({ ok: false, reason: 'teams.channel_invalid' });
    expect(await verifier().verify(token, { type: 'invoke' })).toEqual({ ok: false, reason: 'teams.activity_invalid' });
    expect(await verifier().verify(token, null)).toEqual({ ok: false, reason: 'teams.activity_invalid' });
  });

  it('refuses odd headers and kids before looking up any key', async () => {
    expect(await verifier().verify('Basic abc', click())).toEqual({ ok: false, reason: 'teams.token_missing' });
    expect(await verifier().verify(`Bearer ${await bf.signToken({ header: { kid: 'no spaces or "quotes"' } })}`, click())).toEqual({ ok: false, reason: 'teams.kid_invalid' });
  });

  it('refuses a token not yet valid beyond the tolerance, and a bad signature', async () => {
    const future = await bf.signToken({ now: new Date(Date.now() + 10 * 60_000) });
    expect(await verifier().verify(`Bearer ${future}`, click())).toEqual({ ok: false, reason: 'teams.not_yet_valid' });
    const [h, p] = (await bf.signToken()).split('.');
    const other = (await bf.signToken({ claims: { extra: 1 } })).split('.')[2];
    expect(await verifier().verify(`Bearer ${h}.${p}.${other}`, click())).toEqual({ ok: false, reason: 'teams.signature_invalid' });
  });

  it('refuses everything while the keys cannot be fetched, without retrying on every call', async () => {
    const down = createActivityVerifier({ appId: bf.appId, tenantId: bf.tenantId, openIdMetadataUrl: `${bf.origin}/nowhere`, timeoutMs: 2000 });
    const token = `Bearer ${await bf.signToken()}`;
    const before = bf.fetches.other;
    expect(await down.verify(token, click())).toEqual({ ok: false, reason: 'teams.keys_unavailable' });
    expect(await down.verify(token, click())).toEqual({ ok: false, reason: 'teams.keys_unavailable' });
    expect(bf.fetches.other - before).toBe(1);
  });
});

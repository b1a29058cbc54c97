import { describe, expect, it } from 'vitest';
import { flowCookieKey, openFlow, sealFlow } from './oidc-flow-cookie.ts';

const flow = { state: 's', verifier: 'v', nonce: 'n', next: '/' };

describe('the OIDC flow cookie key', () => {
  it('a public client: replicas deriving from the same shared secret open each other\'s cookies', () => {
    const onA = flowCookieKey(undefined, Buffer.from('shared'));
    const onB = flowCookieKey(undefined, Buffer.from('shared'));
    expect(openFlow(onB, sealFlow(onA, flow))).toEqual(flow);
  });

  it('a cookie sealed under another deployment\'s secret is refused', () => {
    expect(openFlow(flowCookieKey(undefined, Buffer.from('other')), sealFlow(flowCookieKey(undefined, Buffer.from('shared')), flow))).toBeUndefined();
  });

  it('a confidential client keys it by its client secret, not the shared one', () => {
    const k = flowCookieKey('client-secret', Buffer.from('shared'));
    expect(openFlow(flowCookieKey('client-secret', Buffer.from('different')), sealFlow(k, flow))).toEqual(flow);
    expect(openFlow(flowCookieKey(undefined, Buffer.from('shared')), sealFlow(k, flow))).toBeUndefined();
  });
});

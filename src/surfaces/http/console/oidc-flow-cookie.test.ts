import { describe, expect, it } from 'vitest';
import { flowCookieKey, FLOW_MAX_AGE_SECONDS, openFlow, sealFlow } from './oidc-flow-cookie.ts';

const began = Date.parse('2026-12-07T10:00:00Z');
const flow = { state: 's', verifier: 'v', nonce: 'n', next: '/', at: began };
const now = new Date(began + 1000);

describe('the OIDC flow cookie key', () => {
  it('replicas deriving from the same shared secret open each other\'s cookies', () => {
    const onA = flowCookieKey(Buffer.from('shared'));
    const onB = flowCookieKey(Buffer.from('shared'));
    expect(openFlow(onB, sealFlow(onA, flow), now)).toEqual(flow);
  });

  it('a cookie sealed under another deployment\'s secret is refused', () => {
    expect(openFlow(flowCookieKey(Buffer.from('other')), sealFlow(flowCookieKey(Buffer.from('shared')), flow), now)).toBeUndefined();
  });
});

describe('the OIDC flow cookie’s age', () => {
  const key = flowCookieKey(Buffer.from('shared'));
  it('opens up to ten minutes after the flow began, and not after, whatever the browser kept', () => {
    expect(openFlow(key, sealFlow(key, flow), new Date(began + FLOW_MAX_AGE_SECONDS * 1000))).toEqual(flow);
    expect(openFlow(key, sealFlow(key, flow), new Date(began + FLOW_MAX_AGE_SECONDS * 1000 + 1))).toBeUndefined();
  });
  it('refuses a flow sealed without its time', () => {
    const { at: _at, ...timeless } = flow;
    expect(openFlow(key, sealFlow(key, timeless as typeof flow), now)).toBeUndefined();
  });
});

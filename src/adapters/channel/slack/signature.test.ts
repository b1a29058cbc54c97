import { describe, expect, it } from 'vitest';
import { slackSignature, verifySlackSignature } from './signature.ts';

// The worked example of https://api.slack.com/authentication/verifying-requests-from-slack
const secret = '8f742231b10e8888abcd99yyyzzz85a5';
const timestamp = '1531420618';
const body =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const signature = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const at = (offsetSeconds: number) => new Date((Number(timestamp) + offsetSeconds) * 1000);
const check = (over: Partial<Parameters<typeof verifySlackSignature>[0]> = {}) =>
  verifySlackSignature({ secret, timestamp, signature, body: Buffer.from(body), now: at(0), ...over });

describe('Slack request signature', () => {
  it("computes the signature of Slack's documented example", () => {
    expect(slackSignature(secret, timestamp, body)).toBe(signature);
  });

  it('accepts the example within five minutes either way', () => {
    expect(check()).toEqual({ ok: true });
    expect(check({ now: at(300) })).toEqual({ ok: true });
    expect(check({ now: at(-300) })).toEqual({ ok: true });
  });

  it('refuses a timestamp more than five minutes old or ahead', () => {
    expect(check({ now: at(301) })).toEqual({ ok: false, reason: 'timestamp.outside_window' });
    expect(check({ now: at(-301) })).toEqual({ ok: false, reason: 'timestamp.outside_window' });
  });

  it('refuses one changed body byte, another secret, a v1= prefix and missing headers', () => {
    expect(check({ body: Buffer.from(body.replace('roadrunner', 'roadrunnes')) })).toEqual({ ok: false, reason: 'signature.mismatch' });
    expect(check({ secret: `${secret}x` })).toEqual({ ok: false, reason: 'signature.mismatch' });
    expect(check({ signature: signature.replace('v0=', 'v1=') })).toEqual({ ok: false, reason: 'signature.version' });
    expect(check({ signature: undefined })).toEqual({ ok: false, reason: 'signature.missing' });
    expect(check({ timestamp: undefined })).toEqual({ ok: false, reason: 'signature.missing' });
    expect(check({ timestamp: '15314206l8' })).toEqual({ ok: false, reason: 'timestamp.malformed' });
  });
});

import { describe, expect, it } from 'vitest';
import { verifyWebhookSignature, webhookSignature } from './sign.ts';

// The example of the Standard Webhooks specification (https://www.standardwebhooks.com).
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const timestamp = 1614265330;
const body = '{"test": 2432232314}';

describe('Standard Webhooks signature', () => {
  it("matches the specification's example", () => {
    expect(webhookSignature(secret, id, timestamp, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verifies for a receiver, and refuses another body or an old timestamp', () => {
    const headers = { id, timestamp: String(timestamp), signature: `v1,bogus ${webhookSignature(secret, id, timestamp, body)}` };
    expect(verifyWebhookSignature(secret, headers, body, new Date(timestamp * 1000))).toBe(true);
    expect(verifyWebhookSignature(secret, headers, `${body} `, new Date(timestamp * 1000))).toBe(false);
    expect(verifyWebhookSignature(secret, headers, body, new Date((timestamp + 301) * 1000))).toBe(false);
  });
});

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, spec §"Signature scheme"):
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
 * keyed with the base64 bytes after the secret's `whsec_` prefix.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The key bytes of a `whsec_…` secret; throws when it is not one. */
export function webhookKey(secret: string): Buffer {
  if (!secret.startsWith('whsec_')) throw new Error('a webhook secret starts with whsec_');
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  if (key.length < 24) throw new Error('a webhook secret holds at least 24 random bytes');
  return key;
}

/**
 * @example
 * webhookSignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
 * // 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
 */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** Verifies a `webhook-signature` header (any of its space-separated signatures) for a receiver. */
export function verifyWebhookSignature(secret: string, headers: { id: string; timestamp: string; signature: string }, body: string, now: Date, toleranceSeconds = 300): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(now.getTime() / 1000 - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, headers.id, ts, body));
  return headers.signature.split(' ').some((s) => {
    const given = Buffer.from(s);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

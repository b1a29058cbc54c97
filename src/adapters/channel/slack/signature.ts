/**
 * Slack request signing (https://api.slack.com/authentication/verifying-requests-from-slack):
 * `v0=` + hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}` with
 * the app's signing secret, compared in constant time; a timestamp more than
 * five minutes from now, either way, is refused so a captured call cannot be
 * replayed later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RefusalReason } from '../../../core/refusals.ts';

/** Slack's own window: five minutes. */
export const SLACK_MAX_SKEW_SECONDS = 300;

export type SlackSignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: RefusalReason };

/**
 * @example
 * slackSignature('8f742231b10e8888abcd99yyyzzz85a5', '1531420618', 'token=xyz…'); // 'v0=a2114d57…'
 */
export function slackSignature(secret: string, timestamp: string, body: string | Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`v0:${timestamp}:`);
  mac.update(body);
  return `v0=${mac.digest('hex')}`;
}

/**
 * Checks one incoming call; the reason names the check that failed (never the secret or the signature).
 *
 * @example
 * verifySlackSignature({ secret, timestamp: req.header('x-slack-request-timestamp'), signature: req.header('x-slack-signature'), body, now: new Date() });
 */
export function verifySlackSignature(args: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  now: Date;
}): SlackSignatureCheck {
  if (args.timestamp === undefined || args.signature === undefined) return { ok: false, reason: 'signature.missing' };
  if (!/^\d{1,12}$/.test(args.timestamp)) return { ok: false, reason: 'timestamp.malformed' };
  const skew = Math.abs(args.now.getTime() / 1000 - Number(args.timestamp));
  if (skew > SLACK_MAX_SKEW_SECONDS) return { ok: false, reason: 'timestamp.outside_window' };
  if (!args.signature.startsWith('v0=')) return { ok: false, reason: 'signature.version' };
  const expected = Buffer.from(slackSignature(args.secret, args.timestamp, args.body), 'utf8');
  const given = Buffer.from(args.signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature.mismatch' };
  return { ok: true };
}

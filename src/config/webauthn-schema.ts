/**
 * `console.webauthn`: the relying party of the passkeys that step-up approvals
 * (`stepUp: webauthn`) are confirmed with. Its id is a host name — browsers
 * refuse an IP address as an RP id — and the origins are where the console's
 * pages are served. Unset, both come from the console's public address
 * (console.origin, else channels.publicUrl, else the listening address, where
 * a loopback IP becomes `localhost`).
 */
import { z } from 'zod';
import type { RelyingParty } from '../core/passkey-ceremony.ts';
import { hasUserInfo, USER_INFO_REFUSED } from './primitives.ts';

const IP = /^(\d{1,3}(\.\d{1,3}){3}|\[?[0-9a-f:]+\]?)$/i;
const origin = z
  .string()
  .regex(/^https?:\/\/[^/\s]+$/, 'an origin such as https://countersign.example.com (no path)')
  .refine((u) => !hasUserInfo(u), USER_INFO_REFUSED);

export const webauthnSchema = z.strictObject({
  /** The host name passkeys are bound to (countersign.example.com); a passkey works on it and its subdomains' pages. */
  rpId: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, 'a host name such as countersign.example.com')
    .refine((h) => !IP.test(h), 'a host name: browsers refuse an IP address as a WebAuthn RP id')
    .optional(),
  /** What an authenticator shows its user. */
  rpName: z.string().min(1).max(100).default('Countersign'),
  /** The origins the console is reached at (default: the console's public origin). */
  origins: z.array(origin).min(1).optional(),
  /**
   * Which console sign-ins may enrol a human's first passkey (always one of the last 10 minutes): `any-sign-in`
   * (an API key or the identity provider) or `sso` (only a sign-in through the identity provider, so that a stolen
   * API key cannot enrol the thief's authenticator for a human who has none).
   */
  enrolment: z.enum(['any-sign-in', 'sso']).default('any-sign-in'),
});

export type WebauthnConfig = z.output<typeof webauthnSchema>;

const LOOPBACK = /^(127(\.\d{1,3}){3}|\[::1\]|::1|0\.0\.0\.0)$/;

/**
 * The relying party, given the console's public origin (its configured or listening address).
 *
 * @example
 * relyingPartyOf(undefined, 'http://127.0.0.1:8700'); // { rpId: 'localhost', rpName: 'Countersign', origins: ['http://localhost:8700'] }
 */
export function relyingPartyOf(config: WebauthnConfig | undefined, publicUrl: string): RelyingParty {
  const url = new URL(publicUrl);
  if (LOOPBACK.test(url.hostname)) url.hostname = 'localhost';
  const rpId = config?.rpId ?? url.hostname;
  return { rpId, rpName: config?.rpName ?? 'Countersign', origins: config?.origins ?? [url.origin] };
}

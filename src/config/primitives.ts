/** The smallest shapes of the config schema, shared by its parts: ids and durations. */
import { z } from 'zod';

export const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@:\/-]{0,199}$/, 'an id of letters, digits and . _ @ : / -');

/** `90`, `90s`, `15m`, `1h`, `7d` → seconds. */
export const duration = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(s|m|h|d)?$/, 'a duration such as 90s, 15m, 1h or 7d')
    .transform((s) => {
      const n = Number.parseInt(s, 10);
      const unit = s.replace(/^\d+/, '') || 's';
      return n * { s: 1, m: 60, h: 3600, d: 86_400 }[unit as 's' | 'm' | 'h' | 'd'];
    })
    .refine((n) => n > 0, 'a positive duration'),
]);

/**
 * Whether an http(s) URL carries a user or password. fetch refuses such a URL, quoting it whole in its error (which
 * the gateway keeps as a delivery's last error and logs): it could never be used, and would only spread the password.
 */
export function hasUserInfo(u: string): boolean {
  try {
    const url = new URL(u);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

/** The refusal of a URL that carries a user or password where none is ever sent: it would only go where the URL goes. */
export const USER_INFO_REFUSED = 'a user or password in the url is never sent and would be shown wherever the url goes (messages, links, logs): remove it';

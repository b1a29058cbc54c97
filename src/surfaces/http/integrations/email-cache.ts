/**
 * The email a chat platform gives for one of its accounts, kept for a while:
 * every click would otherwise ask the platform again.
 */

/** How long an account's email is trusted before the platform is asked again. */
const EMAIL_TTL_MS = 10 * 60_000;

/**
 * @example
 * const emails = createEmailCache();
 * const email = await emails.get('U123', () => api.userInfo('U123').then((u) => u.email));
 */
export function createEmailCache(): { get(account: string, lookup: () => Promise<string | null>): Promise<string | null> } {
  const emails = new Map<string, { email: string | null; at: number }>();
  return {
    async get(account, lookup) {
      const hit = emails.get(account);
      if (hit && Date.now() - hit.at < EMAIL_TTL_MS) return hit.email;
      const email = await lookup();
      emails.set(account, { email, at: Date.now() });
      return email;
    },
  };
}

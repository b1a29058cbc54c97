/**
 * The card a chat click came from, among the messages the gateway remembered
 * for the request. A card is remembered just after the platform answered its
 * post, and the platform shows it at once: a click in between (or on a
 * replica reading before that write) is looked for again, for up to 2 s, well
 * inside Slack's 3 s trigger and Teams' invoke timeout. A click that matches
 * no remembered card after that is from no card of the request's.
 */

/** How long a click waits for its card to be remembered. */
export const CARD_WAIT_MS = 2_000;

/**
 * @example
 * const clicked = await postedCard(() => deps.store.channelMessages(id, 'teams'), (m) => m.ref['activityId'] === replyToId);
 */
export async function postedCard<T>(read: () => Promise<readonly T[]>, matches: (m: T) => boolean, budgetMs = CARD_WAIT_MS): Promise<{ found: T | undefined; posted: readonly T[] }> {
  for (let wait = 0, waited = 0; ; waited += wait, wait = Math.min(2 * wait || 50, budgetMs - waited)) {
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const posted = await read();
    const found = posted.find(matches);
    if (found !== undefined || waited >= budgetMs) return { found, posted };
  }
}

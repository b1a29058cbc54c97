/**
 * Agent-supplied text is untrusted in a Slack message. Slack's formatting
 * docs ask for exactly three escapes — & < > — which is also what turns
 * `<!here>`, `<@U123>` and `<https://evil|innocent link>` into inert text;
 * `@here`/`@channel` typed plainly do not notify from a bot message, but
 * are broken with a zero-width joiner anyway so no client ever highlights
 * them as a mention. Code blocks need their fence broken, or the text
 * after a ``` would be formatted.
 */
import { visibleText } from '../../../core/visible-text.ts';

/** Text shown as plain words inside mrkdwn. */
export function escapeMrkdwn(text: string): string {
  // Hidden characters first (bidi overrides, zero-width, line separators): as U+FFFD, the length unchanged.
  return visibleText(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@(here|channel|everyone)\b/gi, '@\u2060$1');
}

/**
 * Text inside a ``` code block: escaped, with any fence inside it broken.
 * Every backtick followed by another is kept apart from it: breaking ```
 * three at a time left the last three of a run of five whole, a fence that
 * closed the block and let the rest render as mrkdwn.
 *
 * @example
 * escapeCode('x`````'); // 'x`\u200b`\u200b`\u200b`\u200b`'
 */
export function escapeCode(text: string): string {
  return escapeMrkdwn(text).replace(/`(?=`)/g, '`\u200b');
}

/** At most `max` characters, with an ellipsis when cut. */
export function truncate(text: string, max: number): { text: string; cut: boolean } {
  return text.length <= max ? { text, cut: false } : { text: `${text.slice(0, max - 1)}…`, cut: true };
}

/**
 * The console's only way to make HTML: a tagged template that escapes every
 * interpolated value unless it is already `Html` made by this module. Agent
 * text (reasons, inputs, results) can only ever become text, never markup.
 */
import { visibleText } from '../../../core/visible-text.ts';

/** Markup made by `html` (or, for trusted constants only, `raw`). */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text as it may stand in an element or a double-quoted attribute; bidi
 * overrides, zero-width and other hidden characters shown as U+FFFD, so a
 * value cannot draw itself as other words (core/visible-text.ts).
 */
export function escapeHtml(text: string): string {
  return visibleText(text).replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);
}

/** A value in a template: Html as is, lists joined, nothing for null/undefined/false, anything else as escaped text. */
function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(String(v));
}

/**
 * @example
 * html`<p title="${reason}">${reason}</p>`.value; // '<p title="&lt;script&gt;">&lt;script&gt;</p>' for reason '<script>'
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Markup that is not escaped: for constants of this code base only, never for data. */
export function raw(markup: string): Html {
  return new Html(markup);
}

/** JSON, pretty-printed, as escaped text (for <pre>). */
export function json(value: unknown): Html {
  return new Html(escapeHtml(JSON.stringify(value, null, 2) ?? 'undefined'));
}

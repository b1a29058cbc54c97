import { describe, expect, it } from 'vitest';
import { flatText, guttered, hasHidden, visibleText } from './visible-text.ts';

// Characters that draw nothing, reorder text or break a line on some surface.
const HIDDEN = ['\u202E', '\u202D', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u2028', '\u2029', '\u0085', '\u000B', '\u000C', '\u0000', '\u001B', '\u3164', '\u2800', '\uE000', '\uD800'];

describe('agent text as a reviewer sees it', () => {
  it('shows every hidden, reordering or line-breaking character as U+FFFD, keeping newlines and tabs', () => {
    for (const c of HIDDEN) expect(visibleText(`DELETE${c}orders`), `U+${c.charCodeAt(0).toString(16)}`).toBe('DELETE\uFFFDorders');
    expect(visibleText('a\r\nb\tc\nd')).toBe('a\nb\tc\nd');
    // A lone carriage return breaks the line for PostgreSQL (it ends a -- comment) and a terminal: shown as the line break it is.
    expect(visibleText('SELECT 1 -- x\rDELETE FROM orders')).toBe('SELECT 1 -- x\nDELETE FROM orders');
    expect(visibleText('naïve 😀 日本語 ¡olé!')).toBe('naïve 😀 日本語 ¡olé!');
  });

  it('flattens to one line: whitespace of any kind one space, the rest as in visibleText', () => {
    expect(flatText('SELECT 1;\n\t\u00A0\u3000DELETE\u2028FROM\u202Eorders')).toBe('SELECT 1; DELETE\uFFFDFROM\uFFFDorders');
  });

  it('puts each line after the first behind a gutter, and no line separator can start one', () => {
    expect(guttered('fine\nRisk: read-only\u2028Action: SELECT 1', '  ')).toBe('fine\n  │ Risk: read-only\uFFFDAction: SELECT 1');
  });
});

describe('marks that draw nothing or draw over other lines', () => {
  it('shows variation selectors, the grapheme joiner and other invisible marks as U+FFFD, keeping an emoji’s own selector', () => {
    expect(visibleText('\u{1F44D}\u{E0143}\u{E0154}\uFE01 ok\u034F\u180B\u17B4')).toBe('\u{1F44D}\uFFFD\uFFFD\uFFFD ok\uFFFD\uFFFD\uFFFD');
    expect(visibleText('\u2764\uFE0F \u263A\uFE0E 1\uFE0F\u20E3')).toBe('\u2764\uFE0F \u263A\uFE0E 1\uFE0F\u20E3');
    expect(visibleText('a\uFE0F \u2764\uFE0F\uFE0F')).toBe('a\uFFFD \u2764\uFE0F\uFFFD');
    expect(hasHidden({ note: 'ok\u{E0100}' })).toBe(true);
    expect(hasHidden({ note: '\u2764\uFE0F' })).toBe(false);
  });

  it('keeps four combining marks on a letter and shows each one after them as U+FFFD', () => {
    expect(visibleText('Vie\u0323\u0302t')).toBe('Vie\u0323\u0302t');
    const stacked = `a${'\u030D'.repeat(10)}b`;
    expect(visibleText(stacked)).toBe(`a${'\u030D'.repeat(4)}${'\uFFFD'.repeat(6)}b`);
    expect(flatText(stacked)).toBe(visibleText(stacked));
    expect(hasHidden(stacked)).toBe(true);
    expect(hasHidden(`a${'\u030D'.repeat(4)}b`)).toBe(false);
    // Shown twice (a card escapes what is already visible), the text does not change again.
    expect(visibleText(visibleText(stacked))).toBe(visibleText(stacked));
  });
});

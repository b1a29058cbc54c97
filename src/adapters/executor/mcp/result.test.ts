import { describe, expect, it } from 'vitest';
import { createScrubber, scrubbedResult } from './result.ts';

const SECRET = 'mcp_token_7Hq2Zx9Lm4';
const scrubber = createScrubber([SECRET]);
const utf16 = (s: string) => [...s].map((c) => `${c}\u0000`).join('');

describe('a tool result', () => {
  it('holding a secret in UTF-16 or UTF-32 (a NUL beside each character) is withheld', () => {
    for (const text of [utf16(SECRET), `file: ${[...SECRET].map((c) => `\u0000\u0000\u0000${c}`).join('')}`]) {
      const { output } = scrubbedResult({ content: [{ type: 'text', text }] }, scrubber);
      expect(JSON.stringify(output).replaceAll('\\u0000', '')).not.toContain(SECRET);
      expect(JSON.stringify(output)).toMatch(/\[withheld/);
    }
  });

  it('with NULs and no secret is kept as it was', () => {
    const { output } = scrubbedResult({ content: [{ type: 'text', text: utf16('hello world') }] }, scrubber);
    expect(output).toEqual({ content: [{ type: 'text', text: utf16('hello world') }] });
  });
});

import { describe, expect, it } from 'vitest';
import { escapeCode, escapeMrkdwn } from './mrkdwn.ts';

describe('Slack mrkdwn escaping of agent-supplied text', () => {
  it('renders a mention, a broadcast and a disguised link inert', () => {
    const out = escapeMrkdwn('APPROVED by security <!here> <@U0ADMIN> <https://evil.example|docs> & @channel');
    expect(out).toBe('APPROVED by security &lt;!here&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example|docs&gt; &amp; @\u2060channel');
    expect(out).not.toMatch(/<[!@#]/);
  });

  it('keeps a code block closed whatever the input holds', () => {
    expect(escapeCode('select 1; ``` *bold* <!channel>')).not.toContain('```');
  });

  it.each([2, 3, 4, 5, 6, 7, 8, 11])('leaves no two backticks of a run of %i together', (n) => {
    const out = escapeCode(`x${'`'.repeat(n)}*bold*`);
    expect(out).not.toContain('``');
    expect(out.replace(/\u200b/g, '')).toBe(`x${'`'.repeat(n)}*bold*`);
  });
});

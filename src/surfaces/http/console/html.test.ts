import { describe, expect, it } from 'vitest';
import { escapeHtml, html, json, raw } from './html.ts';

describe('html', () => {
  it('escapes interpolated text in elements and attributes', () => {
    const evil = `<script>alert("x")</script>' onload='x`;
    expect(html`<p title="${evil}">${evil}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#39;x">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#39;x</p>',
    );
  });

  it('keeps nested templates as markup, joins lists and drops null, undefined and false', () => {
    const items = ['a<b', 'c'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.value).toBe('<ul><li>a&lt;b</li><li>c</li></ul>0');
  });

  it('escapes & first, so entities in data are shown, not decoded', () => {
    expect(escapeHtml('&lt;b&gt;')).toBe('&amp;lt;b&amp;gt;');
  });

  it('renders JSON as escaped text and raw only as given', () => {
    expect(json({ a: '</pre><script>' }).value).toBe('{\n  &quot;a&quot;: &quot;&lt;/pre&gt;&lt;script&gt;&quot;\n}');
    expect(html`${raw('<hr>')}`.value).toBe('<hr>');
  });
});

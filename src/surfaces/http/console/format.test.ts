import { describe, expect, it } from 'vitest';
import { ident, scrollingTable } from './format.ts';
import { html } from './html.ts';

describe('ident', () => {
  it('offers a line break only after dots, underscores, slashes, colons and hyphens', () => {
    expect(ident('request.submitted').value).toBe('<code class="ident">request.<wbr>submitted</code>');
    expect(ident('refunds_over.two-approvers').value).toBe('<code class="ident">refunds_<wbr>over.<wbr>two-<wbr>approvers</code>');
    expect(ident('reads').value).toBe('<code class="ident">reads</code>');
    expect(ident('trailing.').value).toBe('<code class="ident">trailing.</code>');
  });

  it('escapes what it shows', () => {
    expect(ident('<b>.x').value).toBe('<code class="ident">&lt;b&gt;.<wbr>x</code>');
  });
});

describe('scrollingTable', () => {
  it('is a labelled region a keyboard can reach', () => {
    expect(scrollingTable('Rules "in force"', html`<table></table>`).value).toBe('<div class="table-wrap" role="region" aria-label="Rules &quot;in force&quot;" tabindex="0"><table></table></div>');
  });
});

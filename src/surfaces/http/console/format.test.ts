import { describe, expect, it } from 'vitest';
import { requestRecord } from '../../../../test/support/fixtures.ts';
import { makeFacts } from '../../../core/facts.ts';
import { actionSummary, ident, scrollingTable } from './format.ts';
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

describe('actionSummary, the one line of a request on the Activity page', () => {
  const sql = (text: string, types: string[]) =>
    requestRecord({ action: { ...requestRecord().action, input: { sql: text } }, facts: makeFacts('postgres', { writes: true, sql: { statements: types.map((type) => ({ type, tables: ['public.orders'] })), tables: ['public.orders'], readOnly: false } as never }) });

  it('marks where a line comment ends: flattened, what runs after it does not read as commented out', () => {
    expect(actionSummary(sql('SELECT 1 -- checked\nDELETE FROM orders', ['select', 'delete']))).toContain('-- checked ⏎ DELETE FROM orders');
  });

  it('names the statement kinds first when the SQL is cut, so a write past the cut is still said', () => {
    const summary = actionSummary(sql(`SELECT 1; /* ${'x'.repeat(300)} */ DELETE FROM orders`, ['select', 'delete']));
    expect(summary.length).toBeLessThanOrEqual(160);
    expect(summary).toMatch(/\(DELETE, SELECT\)/);
  });
});

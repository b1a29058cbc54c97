import { describe, expect, it } from 'vitest';
import { requestRecord } from '../../../../test/support/fixtures.ts';
import { inputView } from './input-view.ts';

describe('the console view of an input', () => {
  it('shows the size, line count, digest and start of the rows a COPY FROM STDIN loads, escaped', () => {
    const copy = { sha256: 'cd'.repeat(32), bytes: 30, lines: 2, preview: '1\t<script>x</script>\n2\tok\n' };
    const r = requestRecord({ action: { connection: 'app-db', operation: 'sql.query', input: { sql: 'COPY t FROM STDIN', copy }, reason: 'load' } });
    const page = inputView(r).toString();
    expect(page).toContain('<h3>COPY data</h3>');
    expect(page).toContain(`<code>${'cd'.repeat(32)}</code>`);
    expect(page).toContain('<code>30</code>');
    expect(page).toContain('1\t&lt;script&gt;x&lt;/script&gt;\n2\tok\n');
    expect(page).not.toContain('<script>');
  });
});

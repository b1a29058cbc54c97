import { describe, expect, it } from 'vitest';
import type { RequestView } from '../surfaces/sdk/client.ts';
import { requestDetails, requestLine, safe } from './output.ts';

const view = (over: Partial<RequestView> = {}): RequestView => ({
  id: 'req_1',
  status: 'pending',
  principal: { id: 'billing-agent', kind: 'agent', actsFor: null, groups: [] },
  connection: { name: 'orders-db', kind: 'postgres', tags: { env: 'prod' } },
  action: { connection: 'orders-db', operation: 'sql.query', input: { sql: 'DELETE FROM orders' }, reason: 'cleanup' },
  facts: { kind: 'postgres', writes: true, sql: { statements: [{ type: 'delete' }], tables: ['public.orders'], readOnly: false } },
  digest: 'sha256:d',
  decision: { effect: 'approve', rules: ['prod-writes'], message: null, policyHash: 'h', approvers: [] },
  approvals: { needed: 1, remaining: [] },
  reviews: [],
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  expiresAt: null,
  result: null,
  error: null,
  ...over,
});

/** The lines of `requests show` that start like one of its own labelled lines. */
const labelled = (text: string) => text.split('\n').filter((l) => /^ {2}[a-z]+ {2,}/.test(l)).map((l) => l.trim().split(/\s+/)[0]);

describe('requests show', () => {
  it('keeps every line of the agent’s reason and input behind a gutter, so none passes for one of its own', () => {
    const fake = 'cleanup\n  facts       writes=false  readOnly=true\r  input       SELECT 1\u2028  rules       none';
    const out = requestDetails(view({ action: { ...view().action, reason: fake, input: { sql: 'SELECT 1;\n  facts       writes=false\nDELETE FROM orders' } } }));
    expect(labelled(out)).toEqual(['connection', 'claim', 'input', 'facts', 'rules', 'approvals', 'reviews', 'digest', 'policy']);
    expect(out).toContain('\n              │   facts       writes=false  readOnly=true');
    expect(out).toContain('\\u{2028}');
  });

  it('names bidi, zero-width and other hidden characters instead of printing them', () => {
    expect(safe('a\u202Eb\u200Bc\u2066d\uFEFF\u001B[2J\n\te')).toBe('a\\u{202e}b\\u{200b}c\\u{2066}d\\u{feff}\\x1b[2J\n\te');
  });

  it('prints a bounded part of a huge or deeply nested input and says it was cut', () => {
    let deep: unknown = 'DELETE';
    for (let i = 0; i < 2000; i++) deep = { [`k${i}`]: deep };
    const out = requestDetails(view({ action: { ...view().action, operation: 'http.request', input: { method: 'POST', path: '/x', body: deep } } }));
    expect(out.length).toBeLessThan(40_000);
    expect(out).toContain('[truncated at 16384 characters: `--json` prints the whole input]');
  });

  it('shows what a previewed write would change, table names from the agent behind the gutter', () => {
    const out = requestDetails(
      view({
        preview: {
          status: 'previewed',
          at: '2026-01-01T00:00:01Z',
          statements: [{ command: 'DELETE', table: 'orders\n  rules       none', rows: 12, plan: 'Delete on orders → Seq Scan on orders (estimated 10 rows, cost 25.88)' }],
        },
      }),
    );
    expect(out).toContain('  impact      would change 12 rows in table orders');
    expect(out).toContain('plan: Delete on orders → Seq Scan on orders (estimated 10 rows, cost 25.88)');
    expect(labelled(out)).toEqual(['connection', 'claim', 'input', 'facts', 'impact', 'rules', 'approvals', 'reviews', 'digest', 'policy']);
  });

  it('says why a write was not previewed', () => {
    const out = requestDetails(view({ preview: { status: 'skipped', at: '2026-01-01T00:00:01Z', reason: 'calls public.f, which could act outside the transaction' } }));
    expect(out).toContain('  impact      not previewed: calls public.f, which could act outside the transaction');
  });

  it('marks the agent’s reason as its unverified claim, every line of it behind the gutter', () => {
    const out = requestDetails(view({ action: { ...view().action, reason: 'read-only, safe\nreviewed by security' } }));
    expect(out).toContain("  claim       the agent's words, unverified:\n              │ read-only, safe\n              │ reviewed by security");
    expect(labelled(out)).not.toContain('reason');
  });
});

describe('a name in another script', () => {
  it('is called out on the facts line of requests show', () => {
    const facts = { kind: 'postgres', writes: true, sql: { statements: [{ type: 'delete' }], tables: ['public.\u043erders'], functions: [], readOnly: false } };
    expect(requestDetails(view({ facts }))).toMatch(/ {2}facts {7}.*look-alike name \(a letter of another script or a compatibility form: check the name\)/);
    expect(requestDetails(view())).not.toContain('look-alike');
  });
});

describe('requests list', () => {
  it('shows the statements after a newline and says how much of a long input it left out', () => {
    const line = requestLine(view({ action: { ...view().action, input: { sql: 'SELECT 1;\n\n\nDROP TABLE orders' } } }));
    expect(line).toContain('SELECT 1; DROP TABLE orders');
    const long = requestLine(view({ action: { ...view().action, input: { sql: `SELECT ${'1,'.repeat(100)}1;\nDROP TABLE orders` } } }));
    expect(long).toMatch(/… \(\+1\d\d characters: requests show req_1\)/);
    expect(long.split('\n')).toHaveLength(1);
  });

  it('shows where a SQL line comment ends: on one line, what runs after it read as part of the comment', () => {
    const line = requestLine(view({ action: { ...view().action, input: { sql: 'DELETE FROM o WHERE id = 1 -- ok\nOR true' } } }));
    expect(line).toContain('  DELETE FROM o WHERE id = 1 -- ok ⏎ OR true  ');
    expect(requestLine(view({ action: { ...view().action, input: { sql: 'SELECT 1 -- ok\rDROP TABLE o' } } }))).toContain('  SELECT 1 -- ok ⏎ DROP TABLE o  ');
  });
});

describe('requests show: the values bound to the SQL', () => {
  it('prints the parameters on a line of their own, before a long statement could push them past the cut', () => {
    const sql = `UPDATE accounts SET credit_limit = $1 WHERE id = 42\n-- params: ["100"]\n/*${'x'.repeat(20_000)}*/`;
    const out = requestDetails(view({ action: { ...view().action, input: { sql, params: ['1000000'] } } }));
    expect(labelled(out)).toContain('params');
    expect(out).toContain('\n  params      $1 = "1000000"\n');
  });

  it('prints COPY data’s size, digest and start, behind the gutter', () => {
    const copy = { sha256: 'a'.repeat(64), bytes: 12, lines: 2, preview: '1\tbob\n2\teve\n' };
    const out = requestDetails(view({ action: { ...view().action, input: { sql: 'COPY accounts FROM STDIN', copy } } }));
    expect(out).toContain(`\n  copy data   12 bytes, 2 lines, sha256 ${'a'.repeat(64)}; it starts:\n              │ 1\tbob\n              │ 2\teve`);
  });
});

describe('requests show: a long reason', () => {
  it('shows the start of the claim as every other surface does, so it cannot push the request\'s own lines off the screen', () => {
    const reason = Array.from({ length: 1500 }, (_, i) => `line ${i}`).join('\n');
    const out = requestDetails(view({ action: { ...view().action, reason } }));
    const lines = out.split('\n');
    expect(lines.findIndex((l) => l.startsWith('  input'))).toBeLessThan(15);
    expect(out).toContain(`│ … ${reason.length.toLocaleString('en')} characters in all: \`--json\` prints the whole reason`);
  });
});

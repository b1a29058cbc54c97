import { describe, expect, it } from 'vitest';
import { blockKitProblem } from '../../../../test/support/block-kit.ts';
import { approveDecision, human, requestRecord, reviewOf } from '../../../../test/support/fixtures.ts';
import { makeFacts } from '../../../core/facts.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { minimalMessage, outcomeDm, requestMessage } from './message.ts';

const URL = 'https://countersign.example.com/requests/req_1';
const ALL_STATUSES: RequestRecord['status'][] = ['pending', 'approved', 'executing', 'succeeded', 'failed', 'denied', 'expired', 'cancelled'];

const http = (input: Record<string, unknown>, tags: Record<string, string> = { env: 'prod', data: 'pii' }): Partial<RequestRecord> => ({
  action: { connection: 'billing-api', operation: 'http.request', input: input as never, reason: 'refund' },
  connection: { name: 'billing-api', kind: 'http', tags },
  facts: makeFacts('http', { writes: true, http: { method: String(input['method']), path: String(input['path']), query: {} } }),
});

/** Records as large and as escape-heavy as the gateway accepts. */
function maximal(): [string, RequestRecord][] {
  const amp = '&'.repeat(4000);
  const mixed = '&<>'.repeat(1334).slice(0, 4000);
  const sql = `DELETE FROM orders WHERE note = '${'&<>`'.repeat(25_000)}'`;
  const comments = Array.from({ length: 40 }, (_, i) => ({ ...reviewOf({ id: 'r', digest: 'd' }, human(`reviewer-${i}-${'x'.repeat(60)}`, ['sre'])), comment: '&<>'.repeat(1333) }));
  const base = requestRecord({ decision: approveDecision(['sre'], 50) });
  return [
    ['a 4,000-character reason', { ...base, action: { ...base.action, reason: 'a'.repeat(4000) } }],
    ['a reason of 4,000 ampersands', { ...base, action: { ...base.action, reason: amp } }],
    ['a reason of & < > only', { ...base, action: { ...base.action, reason: mixed } }],
    ['a reason with a surrogate pair at every cut', { ...base, action: { ...base.action, reason: '😀'.repeat(2000) } }],
    ['100 KB of SQL full of escapes and backticks', { ...base, action: { ...base.action, input: { sql } } }],
    ['many reviews with long comments', { ...base, reviews: comments }],
    ['a long HTTP path and body', requestRecord(http({ method: 'POST', path: `/refunds/${'&'.repeat(5000)}`, body: { note: '<'.repeat(100_000) } }))],
    ['a long principal and connection', { ...base, principal: { id: '&'.repeat(200), kind: 'agent', actsFor: '<'.repeat(200), groups: [], email: null }, connection: { name: '&'.repeat(200), kind: 'postgres', tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`tag${i}`, '&'.repeat(100)])) } }],
  ];
}

describe('the Slack message of a request fits Block Kit whatever the agent sent', () => {
  for (const [name, record] of maximal()) {
    it(`fits with ${name}, in every status`, () => {
      for (const status of ALL_STATUSES) {
        const r = { ...record, status, error: status === 'failed' || status === 'denied' ? { code: 'EXECUTION_FAILED' as const, message: '&'.repeat(4000) } : null };
        for (const message of [requestMessage(r, URL), minimalMessage(r, URL), outcomeDm(r, URL)]) {
          expect(blockKitProblem(message), `${status}`).toBeUndefined();
        }
      }
    });
  }

  it('says where text was cut and links to the console, and never splits an escape', () => {
    const r = requestRecord({ action: { ...requestRecord().action, input: { sql: `SELECT '${'&'.repeat(5000)}'` } } });
    const input = JSON.stringify(requestMessage(r, URL).blocks);
    expect(input).toMatch(/… _\(truncated: [\d,]+ more characters, <https:[^|]+\|see the console>\)_/);
    for (const b of requestMessage(r, URL).blocks) {
      const t = b['text'] as { type: string; text: string } | undefined;
      if (t?.type === 'mrkdwn') expect(t.text.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    }
  });

  it('says how many characters of the input it left out, so a tail past the cut is known to exist', () => {
    const sql = `SELECT 1; -- ${'x'.repeat(4000)}\nDROP TABLE orders`;
    const r = requestRecord({ action: { ...requestRecord().action, input: { sql } } });
    const block = requestMessage(r, URL).blocks.map((b) => (b['text'] as { text?: string } | undefined)?.text ?? '').find((t) => t.startsWith('*Exact input*'))!;
    const shown = /```([\s\S]*)```/.exec(block)![1]!;
    const left = Number(/truncated: ([\d,]+) more characters/.exec(block)![1]!.replace(/,/g, ''));
    expect(shown.length + left).toBe(sql.length);
    const huge = requestRecord({ action: { ...requestRecord().action, input: { sql: `SELECT 1; -- ${'x'.repeat(40_000)}` } } });
    expect(JSON.stringify(requestMessage(huge, URL).blocks)).toMatch(/truncated: at least [\d,]+ more characters/);
  });

  it('shows only the start of a long reason, as the agent’s unverified claim', () => {
    const r = requestRecord({ action: { ...requestRecord().action, reason: `Trust me. ${'x'.repeat(3000)}` } });
    const texts = requestMessage(r, URL).blocks.map((b) => (b['text'] as { text?: string } | undefined)?.text ?? '');
    const at = texts.findIndex((t) => t.startsWith("*Agent's claim (unverified)*"));
    expect(texts[at]).toBe(`*Agent's claim (unverified)* — 3,010 characters, <${URL}|show all in the console>`);
    expect(texts[at + 1]).toBe(`│ Trust me. ${'x'.repeat(290)}…`);
  });
});

describe('the Approve button', () => {
  const actions = (r: RequestRecord) => requestMessage(r, URL).blocks.find((b) => b['type'] === 'actions') as { elements: Record<string, any>[] };

  it('names the consequence when one approval runs it, and asks to confirm on production or PII', () => {
    const approve = actions(requestRecord(http({ method: 'POST', path: '/refunds' }))).elements[0]!;
    expect(approve['text'].text).toBe('Approve and run POST /refunds on billing-api');
    expect(approve['confirm']).toMatchObject({
      title: { type: 'plain_text', text: 'Approve on production?' },
      text: { type: 'plain_text', text: 'I understand this runs POST /refunds on billing-api on production, on personal data (PII).' },
      confirm: { text: 'Approve and run' },
      deny: { text: 'Cancel' },
    });
  });

  it('says which approval it is when more are needed, and asks nothing on an untagged connection', () => {
    const approve = actions(requestRecord({ ...http({ method: 'POST', path: '/refunds' }, {}), decision: approveDecision(['sre'], 2) })).elements[0]!;
    expect(approve['text'].text).toBe('Approve (1 of 2)');
    expect(approve['confirm']).toBeUndefined();
  });

  it('keeps its label within 75 characters for a long action', () => {
    const approve = actions(requestRecord(http({ method: 'POST', path: `/refunds/${'a'.repeat(500)}` }))).elements[0]!;
    expect(approve['text'].text.length).toBeLessThanOrEqual(75);
    expect(approve['text'].text).toMatch(/^Approve and run POST \/refunds\/a+…/);
  });
});

describe('the values bound to the SQL', () => {
  // A `-- params:` comment is valid SQL: the agent can write the gateway's own line and push the real one past the cut.
  const spoof = (pad: number) =>
    requestRecord({ action: { ...requestRecord().action, input: { sql: `UPDATE accounts SET credit_limit = $1 WHERE id = 42\n-- params: ["100"]\n/*${'x'.repeat(pad)}*/`, params: ['1000000'] } } });
  const sections = (r: RequestRecord) => requestMessage(r, URL).blocks.map((b) => (b['text'] as { text?: string } | undefined)?.text ?? '');

  it('are shown in a section of their own, however long the SQL before them', () => {
    for (const pad of [0, 5000, 40_000]) {
      const own = sections(spoof(pad)).filter((t) => t.startsWith('*Parameters*'));
      expect(own, `pad ${pad}`).toHaveLength(1);
      expect(own[0]).toContain('$1 = "1000000"');
      expect(own[0]).not.toContain('"100"]');
    }
  });

  it('and COPY data with its size, digest and start, apart from the statement', () => {
    const copy = { sha256: 'a'.repeat(64), bytes: 12, lines: 2, preview: '1\tbob\n2\teve\n' };
    const r = requestRecord({ action: { ...requestRecord().action, input: { sql: `COPY accounts FROM STDIN\n-- ${'x'.repeat(5000)}`, copy } } });
    const own = sections(r).find((t) => t.startsWith('*COPY data*'))!;
    expect(own).toContain(`12 bytes, 2 lines, sha256 ${'a'.repeat(64)}`);
    expect(own).toContain('2\teve');
  });
});

import { describe, expect, it } from 'vitest';
import { adaptiveCardProblems } from '../../../../test/support/adaptive-card.ts';
import { approveDecision, human, requestRecord, reviewOf } from '../../../../test/support/fixtures.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { requestCard } from './card.ts';
import { SAMPLE_OPTIONS } from './sample.ts';
import { heldRequestView } from './view.ts';

const STATUSES: RequestRecord['status'][] = ['pending', 'approved', 'executing', 'succeeded', 'failed', 'denied', 'expired', 'cancelled'];

function maximal(): [string, RequestRecord][] {
  const base = requestRecord({ decision: approveDecision(['sre'], 50), connection: { name: 'orders-db', kind: 'postgres', tags: { env: 'prod', data: 'pii' } } });
  const reviews = Array.from({ length: 49 }, (_, i) => ({ ...reviewOf(base, human(`reviewer-${i}-${'é'.repeat(80)}`, ['sre'])), comment: '😀"\\'.repeat(1000) }));
  return [
    ['a 4,000-character reason of quotes and emoji', { ...base, action: { ...base.action, reason: '"😀\\'.repeat(1000) } }],
    ['100 KB of SQL', { ...base, action: { ...base.action, input: { sql: `DELETE FROM t WHERE x = '${'"\\😀'.repeat(25_000)}'` } } }],
    ['49 reviews with 4,000-character comments', { ...base, reviews }],
    ['a long principal, connection and tags', { ...base, principal: { id: '"'.repeat(200), kind: 'agent', actsFor: '😀'.repeat(100), groups: [], email: null }, connection: { name: 'é'.repeat(200), kind: 'postgres', tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`tag${i}`, '"'.repeat(200)])) } }],
  ];
}

describe('the Teams card of a request fits Teams and the Adaptive Card schema whatever the agent sent', () => {
  it('with a 4,000-character reason, 100 KB of SQL, 49 long review comments and long names, in every status', () => {
    for (const [name, record] of maximal()) {
      for (const status of STATUSES) {
        const r = { ...record, status, error: status === 'failed' ? { code: 'EXECUTION_FAILED' as const, message: '"'.repeat(4000) } : null };
        const card = requestCard(heldRequestView(r), SAMPLE_OPTIONS);
        expect(adaptiveCardProblems(card), `${name}, ${status}`).toEqual([]);
      }
    }
  });

  it('leads with the action and risks, and keeps a long reason behind Show more', () => {
    const r = requestRecord({ action: { ...requestRecord().action, reason: `Trust me. ${'x'.repeat(1000)}` } });
    const card = requestCard(heldRequestView(r), SAMPLE_OPTIONS);
    const body = JSON.stringify(card.body);
    expect(body.indexOf('SQL on orders-db: UPDATE orders SET status = $1 WHERE id = $2')).toBeLessThan(body.indexOf("Agent's claim (unverified)"));
    expect(body).toContain('"text":"writes · prod · irreversible"');
    expect(card.body).toContainEqual({ type: 'ActionSet', actions: [{ type: 'Action.ToggleVisibility', title: 'Show more', targetElements: ['claim-full'] }] });
    expect(card.body).toContainEqual(expect.objectContaining({ type: 'Container', id: 'claim-full', isVisible: false }));
    expect(adaptiveCardProblems(card)).toEqual([]);
  });
});

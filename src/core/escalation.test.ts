import { describe, expect, it } from 'vitest';
import { approversOf, dueRungs, ladderOf, nextRungAt, standingEscalations, widened } from './escalation.ts';
import type { RequestRecord } from './request.ts';

const created = '2026-01-01T10:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(created) + minutes * 60_000);

function request(patch: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 'req_1',
    status: 'pending',
    createdAt: created,
    decision: {
      effect: 'approve',
      rules: ['refunds', 'pii'],
      approvers: [
        { rule: 'refunds', groups: ['sre'], principals: [], count: 2 },
        { rule: 'pii', groups: ['privacy'], principals: [], count: 1 },
      ],
      escalations: [
        { key: 'refunds#1', rule: 'refunds', afterSeconds: 900, groups: ['oncall'], principals: [] },
        { key: 'refunds#2', rule: 'refunds', afterSeconds: 1800, groups: [], principals: ['mona'] },
      ],
      message: null,
      policyHash: 'h',
      ttlSeconds: 3600,
      errors: [],
    },
    ...patch,
  } as RequestRecord;
}

describe('escalation', () => {
  it('has a rung due at its delay after creation, not a moment before', () => {
    expect(dueRungs(request(), at(14.99))).toEqual([]);
    expect(dueRungs(request(), at(15)).map((r) => r.key)).toEqual(['refunds#1']);
    expect(dueRungs(request(), at(31)).map((r) => r.key)).toEqual(['refunds#1', 'refunds#2']);
  });

  it('never has a fired rung due again, nor any rung of a request no longer pending', () => {
    const fired = request({ escalations: [{ key: 'refunds#1', rule: 'refunds', groups: ['oncall'], principals: [], at: at(15).toISOString() }] });
    expect(dueRungs(fired, at(20))).toEqual([]);
    expect(nextRungAt(fired)).toBe(at(30).toISOString());
    expect(dueRungs(request({ status: 'approved' }), at(60))).toEqual([]);
  });

  it('widens only the requirements of the rung\'s own rule, and keeps their counts', () => {
    const fired = request({ escalations: [{ key: 'refunds#1', rule: 'refunds', groups: ['oncall'], principals: [], at: at(15).toISOString() }] });
    expect(approversOf(fired)).toEqual([
      { rule: 'refunds', groups: ['sre', 'oncall'], principals: [], count: 2 },
      { rule: 'pii', groups: ['privacy'], principals: [], count: 1 },
    ]);
    // A requirement open to any human but the requester stays open.
    expect(widened([{ rule: 'refunds', groups: [], principals: [], count: 1 }], fired.escalations)).toEqual([{ rule: 'refunds', groups: [], principals: [], count: 1 }]);
  });

  it('shows every rung with when it is due and when it fired', () => {
    const fired = request({ escalations: [{ key: 'refunds#1', rule: 'refunds', groups: ['oncall'], principals: [], at: at(16).toISOString() }] });
    expect(ladderOf(fired).map((r) => [r.key, r.dueAt, r.firedAt])).toEqual([
      ['refunds#1', at(15).toISOString(), at(16).toISOString()],
      ['refunds#2', at(30).toISOString(), null],
    ]);
  });
});

describe('standingEscalations', () => {
  const fired = [
    { key: 'refunds#1', rule: 'refunds', groups: ['oncall', 'sre-leads'], principals: [], at: at(15).toISOString() },
    { key: 'refunds#2', rule: 'refunds', groups: [], principals: ['mona'], at: at(30).toISOString() },
  ];
  const rung = (key: string, afterSeconds: number, groups: string[], principals: string[] = []) => ({ key, rule: 'refunds', afterSeconds, groups, principals });

  it('keeps a fired rung the ladder in force still names, due by now, with only what it still names', () => {
    const ladder = [rung('refunds#1', 900, ['oncall']), rung('refunds#2', 1800, [], ['mona'])];
    expect(standingEscalations(request({ escalations: fired }), ladder, at(40))).toEqual([{ ...fired[0], groups: ['oncall'] }, fired[1]]);
  });

  it('drops a rung taken out, sent elsewhere or not yet due under the ladder in force', () => {
    expect(standingEscalations(request({ escalations: fired }), undefined, at(40))).toEqual([]);
    expect(standingEscalations(request({ escalations: fired }), [rung('refunds#1', 900, ['managers'])], at(40))).toEqual([]);
    expect(standingEscalations(request({ escalations: fired }), [rung('refunds#1', 3600, ['oncall'])], at(40))).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { decisionsDiffer, groupChanges, groupLabel, type DecisionChange, type DecisionSide } from './decision-diff.ts';

const side = (effect: DecisionSide['effect'], rules: string[], approvers: DecisionSide['approvers'] = []): DecisionSide => ({ effect, rules, approvers, policyHash: 'sha256:x' });
const sre = (count: number, rule = 'r') => ({ rule, groups: ['sre'], principals: [], count });

describe('decisionsDiffer', () => {
  it('is another effect, or other approvers of a held action', () => {
    expect(decisionsDiffer(side('allow', ['a']), side('deny', ['b']))).toBe(true);
    expect(decisionsDiffer(side('allow', ['a']), side('error', []))).toBe(true);
    expect(decisionsDiffer(side('approve', ['a'], [sre(1)]), side('approve', ['a'], [sre(2)]))).toBe(true);
    expect(decisionsDiffer(side('approve', ['a'], [sre(1)]), side('approve', ['a'], [sre(1), sre(1, 'b')]))).toBe(true);
  });

  it('is not a renamed rule that decides the same, nor approvers listed in another order', () => {
    expect(decisionsDiffer(side('allow', ['a']), side('allow', ['b']))).toBe(false);
    expect(decisionsDiffer(side('deny', ['a']), side('deny', []))).toBe(false);
    const ops = { rule: 'x', groups: ['ops', 'sre'], principals: [], count: 1 };
    expect(decisionsDiffer(side('approve', ['a'], [sre(1, 'a'), ops]), side('approve', ['b'], [{ ...ops, groups: ['sre', 'ops'], rule: 'y' }, sre(1, 'b')]))).toBe(false);
  });
});

describe('groupChanges', () => {
  const change = (id: string, live: DecisionSide, candidate: DecisionSide): DecisionChange => ({ requestId: id, principal: 'bot', connection: 'db', time: '2026-12-01T00:00:00.000Z', live, candidate });

  it('groups by transition and the rules that now match or no longer do, largest first, with a few examples', () => {
    const groups = groupChanges(
      [
        change('req_1', side('allow', ['reads']), side('deny', ['no-drop'])),
        change('req_2', side('approve', ['w'], [sre(1)]), side('approve', ['w'], [sre(2)])),
        change('req_3', side('allow', ['reads']), side('deny', ['no-drop'])),
        change('req_4', side('allow', ['reads']), side('deny', ['no-drop'])),
      ],
      2,
    );
    expect(groups.map((g) => [g.transition, g.nowMatching, g.noLongerMatching, g.count, g.examples.map((e) => e.requestId)])).toEqual([
      ['allow → deny', ['no-drop'], ['reads'], 3, ['req_1', 'req_3']],
      ['approve → approve', [], [], 1, ['req_2']],
    ]);
    expect(groupLabel(groups[0]!, groups[0]!.examples[0])).toBe('rule no-drop, no longer rule reads');
    expect(groupLabel(groups[1]!, groups[1]!.examples[0])).toBe('rules w (changed)');
  });
});

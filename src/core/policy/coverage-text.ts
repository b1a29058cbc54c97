/** The coverage map in words, the same in the terminal and the console. */
import type { CoverageCell, CoverageOutcome } from './coverage.ts';
import type { ApproverRequirement } from './decision.ts';

const SHORT = { allow: 'allow', approve: 'hold', deny: 'deny' } as const;

/**
 * One cell in a few characters: `hold`, `allow|hold`; `!` marks a write on prod that can run unreviewed.
 *
 * @example
 * cellText(cell); // '!allow|hold'
 */
export function cellText(cell: CoverageCell): string {
  return `${cell.unreviewedProd ? '!' : ''}${cell.possible.map((e) => SHORT[e]).join('|')}`;
}

/**
 * @example
 * approversText([{ rule: 'r', groups: ['dba'], principals: [], count: 2 }]); // '2 of group dba'
 */
export function approversText(approvers: readonly ApproverRequirement[]): string {
  return approvers.map((a) => `${a.count} of ${[...a.groups.map((g) => `group ${g}`), ...a.principals].join(' or ') || 'any human but the requester'}`).join(' + ');
}

/**
 * One way a cell is decided, as a sentence.
 *
 * @example
 * outcomeText(o); // 'held for 2 of group dba (rules prod-writes) when "orders" in facts.sql.tables [orders]'
 */
export function outcomeText(o: CoverageOutcome): string {
  const effect = o.effect === 'approve' ? `held for ${approversText(o.approvers)}` : o.effect === 'allow' ? 'allowed' : 'denied';
  const by = o.rules.length ? ` (rules ${o.rules.join(', ')})` : ' (no rule matches: the default)';
  const when = o.via ? (o.via.fails ? `if rule ${o.via.rule} cannot be evaluated` : `when ${o.via.when} [${o.via.rule}]`) : 'when no conditional rule matches';
  return `${effect}${by} ${when}`;
}

/** The distinct sentences of a cell's outcomes, in order. */
export function cellSentences(cell: CoverageCell): string[] {
  return [...new Set(cell.outcomes.map(outcomeText))];
}

/** How `policy shadow` and `policy replay` print decision changes grouped by rule and transition. */
import { groupLabel, type ChangeGroup, type DecisionChange } from '../core/policy/decision-diff.ts';
import { safe } from './output.ts';

function example(c: DecisionChange, detailed: boolean): string {
  if (!detailed) return c.requestId;
  const notes = [c.factsAsRecorded ? 'facts as recorded' : '', c.candidate.errors?.length ? `candidate failed: ${c.candidate.errors.map((e) => `${e.rule}: ${e.message}`).join('; ')}` : ''].filter(Boolean);
  return `${c.requestId} ${c.principal} on ${c.connection}${c.input ? `: ${c.input}` : ''}${notes.length ? ` [${notes.join('; ')}]` : ''}`;
}

/**
 * One line per group (`rule drop-tables-deny: 12 actions allow → deny (examples: req_…, req_…)`); with `detailed`,
 * an indented line per example with its principal, connection and input.
 */
export function changeLines(groups: readonly ChangeGroup[], detailed = false): string {
  return groups
    .map((g) => {
      const head = `${groupLabel(g, g.examples[0])}: ${g.count} action${g.count === 1 ? '' : 's'} ${g.transition}`;
      if (!detailed) return `${head} (examples: ${g.examples.map((e) => example(e, false)).join(', ')})\n`;
      return `${head}\n${g.examples.map((e) => `    ${example(e, true)}\n`).join('')}`;
    })
    .map(safe)
    .join('');
}

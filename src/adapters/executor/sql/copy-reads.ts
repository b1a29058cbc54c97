/**
 * A COPY … TO STDOUT is never `readOnly` to policy (a rule allowing exports
 * names `copy`), but it reads as a SELECT does, and what its query reaches
 * without naming it — a view's function, a row-level-security policy, a
 * foreign table's server — runs as it would for the SELECT. Run as a write,
 * none of that passed the check a read passes (session-guard.ts):
 * `COPY (SELECT * FROM report) TO STDOUT` ran the DELETE the view `report`
 * calls, which `SELECT * FROM report` is refused for. So a string of COPYs
 * to the client and SELECTs, calling no function off the read allow-list,
 * runs as a read: in a read-only transaction, after the read's check.
 */
import type { SqlFacts } from '../../../core/facts.ts';
import { copyInShape } from './copy-in.ts';
import type { SqlNameUses } from './facts.ts';

/**
 * Whether SQL that is not read-only to policy runs as a read all the same: COPYs to the client and SELECTs only (no COPY FROM STDIN,
 * which a read-only transaction refuses), every function they name on `allowed`, no credential read.
 *
 * @example
 * runsAsRead('COPY (SELECT * FROM report) TO STDOUT', facts, names, allowed); // true
 */
export function runsAsRead(sql: string, facts: SqlFacts, names: SqlNameUses, allowed: ReadonlySet<string>): boolean {
  const types = facts.statements.map((s) => s.type);
  if (!types.includes('copy') || !types.every((t) => t === 'copy' || t === 'select')) return false;
  if (!facts.functions.every((f) => allowed.has(f)) || names.credentials.length > 0 || names.customSettings.length > 0) return false;
  return copyInShape(sql) === undefined;
}

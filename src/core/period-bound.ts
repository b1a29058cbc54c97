/**
 * The bounds of a period as people and scripts write them, read one way for
 * every surface (CLI flags, REST query parameters, console forms), so a bundle
 * and an evidence report of "the same period" cover the same events.
 */
import { CountersignError } from './errors.ts';

// A date, or a date and time with its zone: a time without a zone would mean whatever the local zone is.
const TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * `2026-07-01` (midnight UTC) or an ISO time with its zone; `name` names the
 * flag or parameter in the refusal (INVALID_REQUEST).
 *
 * @example
 * parsePeriodBound('2026-07-01', '--from'); // 2026-07-01T00:00:00.000Z
 */
export function parsePeriodBound(value: string, name: string): Date {
  const t = new Date(value);
  if (!TIME.test(value) || Number.isNaN(t.getTime())) {
    throw new CountersignError('INVALID_REQUEST', `${name}: a date such as 2026-07-01, or a time with its zone such as 2026-07-01T00:00:00Z (got ${JSON.stringify(value).slice(0, 60)})`);
  }
  return t;
}

/**
 * A bound of an audit export: a seq number (1 or more), or a date or time as
 * `parsePeriodBound` reads it.
 *
 * @example
 * parseExportBound('42', 'from'); // 42
 */
export function parseExportBound(value: string, name: string): number | Date {
  if (/^\d{1,15}$/.test(value)) {
    const n = Number(value);
    if (n < 1) throw new CountersignError('INVALID_REQUEST', `${name}: a seq number starts at 1`);
    return n;
  }
  return parsePeriodBound(value, name);
}

/** `--since 7d` / `?since=…`: a duration back from now (`90m`, `24h`, `7d`) or an ISO time with its zone. */
import { CountersignError } from './errors.ts';

const UNIT = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * @example
 * parseSince('7d', new Date('2026-12-08T00:00:00Z')); // 2026-12-01T00:00:00.000Z
 */
export function parseSince(value: string, now: Date): Date {
  const rel = /^(\d{1,6})([mhd])$/.exec(value);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT[rel[2] as keyof typeof UNIT]);
  const t = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) || Number.isNaN(t.getTime())) {
    throw new CountersignError('INVALID_REQUEST', `since: a duration such as 7d, 24h or 90m, or a time such as 2026-07-01T00:00:00Z (got ${JSON.stringify(value).slice(0, 60)})`);
  }
  return t;
}

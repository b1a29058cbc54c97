/** Reading claims by dotted path (`act.sub`, core/claim-path.ts), and the string forms a principal needs. */
import { claimAt, isIdString } from '../../../core/claim-path.ts';

/** A claim that is a string, a number (as GitHub's ids are in some tokens) or undefined. */
export function stringClaim(payload: Readonly<Record<string, unknown>>, path: string): string | undefined {
  const v = claimAt(payload, path);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return isIdString(v) ? v : undefined;
}

/** Groups: an array of strings, or one space-separated string (as `scp`/`scope` are). */
export function groupsClaim(payload: Readonly<Record<string, unknown>>, path: string): string[] {
  const v = claimAt(payload, path);
  if (Array.isArray(v)) return v.filter(isIdString);
  if (typeof v === 'string') return v.split(' ').filter(isIdString);
  return [];
}

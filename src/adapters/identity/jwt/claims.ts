/** Reading claims by dotted path (`act.sub`, core/claim-path.ts), and the string forms a principal needs. */
import { claimAt } from '../../../core/claim-path.ts';

/** A principal id, a human's id or a group must be a short printable string (no control characters). */
export function isIdString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 200 && !/[\u0000-\u001f\u007f]/.test(v);
}

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

/** Reading claims by dotted path (`act.sub`, core/claim-path.ts), and the string forms a principal needs. */
import { claimAt, isIdString } from '../../../core/claim-path.ts';

/** A claim that is a string, a number (as GitHub's ids are in some tokens) or undefined. */
export function stringClaim(payload: Readonly<Record<string, unknown>>, path: string): string | undefined {
  const v = claimAt(payload, path);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return isIdString(v) ? v : undefined;
}

/** The claims that are space-separated lists when they are one string (RFC 8693 §4.2, RFC 9068 §2.2.3). */
const SPACE_LISTS = new Set(['scp', 'scope']);

/**
 * Groups: an array of strings, or one string. That string is a space-separated list only for `scp` and `scope`;
 * elsewhere it is one group (a provider that sends a lone group as a string), whose name may hold spaces: split, a
 * member of `Helpdesk Admins` alone would be in `Admins`.
 */
export function groupsClaim(payload: Readonly<Record<string, unknown>>, path: string): string[] {
  const v = claimAt(payload, path);
  if (Array.isArray(v)) return v.filter(isIdString);
  if (typeof v !== 'string') return [];
  return SPACE_LISTS.has(path.split('.').pop() ?? '') ? v.split(' ').filter(isIdString) : isIdString(v) ? [v] : [];
}

/**
 * Whether the token carries every pinned claim with one of its values: a string, or an integer as its decimal text
 * (GitLab's `namespace_id: 1234`). A list, an object, a boolean or a missing claim matches nothing.
 *
 * @example
 * claimsPinned({ namespace_id: 1234 }, { namespace_id: ['1234'] }); // true
 * claimsPinned({ namespace_id: 999 }, { namespace_id: ['1234'] });  // false
 */
export function claimsPinned(payload: Readonly<Record<string, unknown>>, pins: Readonly<Record<string, readonly string[]>>): boolean {
  return Object.entries(pins).every(([path, values]) => {
    const v = stringClaim(payload, path);
    return v !== undefined && values.includes(v);
  });
}

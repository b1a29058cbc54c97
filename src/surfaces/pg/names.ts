/**
 * The names a wire client gives its prepared statements and portals, as the
 * listener keeps them apart from the gateway's own and from each other.
 */
import type { FrontendMessage } from './protocol.ts';

/** Names of the gateway's own prepared statements and portal on the upstream; a client may not use them. */
export const RESERVED = /^countersign_/;

/**
 * Postgres keys prepared statements and portals by their first 63 bytes
 * (NAMEDATALEN - 1): two longer names that share them are one name to the
 * server and two to the gateway, which would judge one statement and run
 * another. Longer names are refused.
 */
export const MAX_NAME_BYTES = 63;

/** The statement and portal names a message uses. */
export function namesOf(m: FrontendMessage): string[] {
  switch (m.type) {
    case 'parse':
    case 'describe':
    case 'close':
      return [m.name];
    case 'bind':
      return [m.portal, m.statement];
    case 'execute':
      return [m.portal];
    default:
      return [];
  }
}

/**
 * What may go upstream in the flight of an Execute (session.ts): the Parse,
 * Describe and Bind of the statement it runs, and messages that run nothing.
 *
 * A Parse runs the input of its literals (`'{1}'::d[]` runs domain d's
 * CHECK), and so does a Describe of a statement whose plan a schema change
 * invalidated (PostgreSQL parses it again first). Sent without an Execute,
 * they go in a read-only transaction of the gateway's (wire-session.ts sync).
 * Sent before the Execute of another statement, they would go in that
 * statement's flight: read-write for an approved or allowed write, and with
 * no transaction of the gateway's at all for transaction control, where the
 * client's BEGIN makes whatever the CHECK wrote part of its block. The code
 * they run belongs to no statement anyone judged, so such a batch runs nothing.
 */
import type { WirePart } from '../../core/ports.ts';

/**
 * The first part among an Execute's that runs code of a statement other than
 * the one executed, or undefined. Allowed: the last Parse of the statement its
 * Bind binds (before that Bind), a Describe of that statement after that Parse
 * (the Bind parses it again anyway when its plan went stale), a Describe of a
 * portal, and a Close. Without a Bind (a portal bound earlier), no Parse and no
 * Describe of a statement.
 *
 * @example
 * strayPart([parse('lit'), parse(''), bind(''), execute]); // the Parse of 'lit'
 */
export function strayPart(parts: readonly WirePart[]): WirePart | undefined {
  const at = parts.findIndex((p) => p.kind === 'bind');
  const name = at < 0 ? undefined : parts[at]!.statement;
  let own = -1;
  for (let i = 0; i < at; i++) if (parts[i]!.kind === 'parse' && parts[i]!.statement === name) own = i;
  return parts.find((p, i) => {
    if (p.kind === 'parse') return i !== own;
    // A Describe of a statement carries its name; one of a portal carries none.
    if (p.kind === 'describe' && p.statement !== undefined) return p.statement !== name || i < own;
    return false;
  });
}

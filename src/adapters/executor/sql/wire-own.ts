/**
 * The gateway's own statements on a wire client's upstream session (wire-session.ts): prepared once per session under
 * names a client may not use, and its portal.
 */
import { serialize } from 'pg-protocol';
import { LATCH_EXCLUSIVE_SQL, LATCH_SHARED_SQL } from './catalog-latch.ts';
import { GUARD_SQL } from './session-guard.ts';
import type { WireRelay } from './wire-relay.ts';

export { latchStep } from './catalog-latch.ts';

/** Names of the gateway's own prepared statements and portal; a client's names may not start so. */
export const RESERVED_PREFIX = 'countersign_';
export const PORTAL = `${RESERVED_PREFIX}p`;
export const OWN: Readonly<Record<string, string>> = {
  begin: 'BEGIN',
  begin_ro: 'BEGIN READ ONLY',
  // For a read, and a Parse sent alone (wire-input-check.ts): whatever the database's default, the check reads the
  // catalogs as the statement then runs under them (above READ COMMITTED, as of the latch's snapshot, taken before its wait).
  begin_ro_rc: 'BEGIN READ ONLY ISOLATION LEVEL READ COMMITTED',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  savepoint: `SAVEPOINT ${RESERVED_PREFIX}ro`,
  read_only: 'SET LOCAL transaction_read_only = on',
  undo: `ROLLBACK TO SAVEPOINT ${RESERVED_PREFIX}ro`,
  release: `RELEASE SAVEPOINT ${RESERVED_PREFIX}ro`,
  // Taken before the check, held until the statement it checked has ended (catalog-latch.ts).
  latch_shared: LATCH_SHARED_SQL,
  latch: LATCH_EXCLUSIVE_SQL,
  guard: `SELECT pg_catalog.row_to_json(g)::pg_catalog.text FROM (${GUARD_SQL}) g`,
  // The session check is a large query: planned once (generic plan) instead of on every run, inside a savepoint so the
  // settings go back to what the client had. Its estimated cost passes jit_above_cost, and compiling it takes about a
  // second for a query that runs in milliseconds: JIT is off for it.
  plan_savepoint: `SAVEPOINT ${RESERVED_PREFIX}g`,
  plan_generic: "SELECT pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true), pg_catalog.set_config('jit', 'off', true)",
  plan_undo: `ROLLBACK TO SAVEPOINT ${RESERVED_PREFIX}g`,
  plan_release: `RELEASE SAVEPOINT ${RESERVED_PREFIX}g`,
  fail: "DO $$BEGIN RAISE EXCEPTION 'a statement of this transaction was not run by the gateway'; END$$",
};

/**
 * The messages of a step on the gateway's portal that never change, built once: an Execute and a Close of the portal,
 * and the Bind of a statement without parameters (a few per statement; pg-protocol shares its own empty Execute the
 * same way). A socket write copies them or writes them as they are; nothing writes into them.
 */
export const EXECUTE_PORTAL = serialize.execute({ portal: PORTAL });
export const CLOSE_PORTAL = serialize.close({ type: 'P', name: PORTAL });
const bareBinds = new Map<string, Buffer>();

/** The Bind of the gateway's statement `key` on its portal; one without values is built once per key (OWN's, a fixed few). */
export function bindOwn(key: string, values: readonly (string | null)[] | undefined): Buffer {
  if (values && values.length > 0) return serialize.bind({ portal: PORTAL, statement: RESERVED_PREFIX + key, values: [...values] });
  let bytes = bareBinds.get(key);
  if (!bytes) bareBinds.set(key, (bytes = serialize.bind({ portal: PORTAL, statement: RESERVED_PREFIX + key, values: [] })));
  return bytes;
}

const TEXT_ARRAY = 1009;

/**
 * Prepares every one of the gateway's statements on the session, each closed first: after a DEALLOCATE of some other
 * name the rest still exist, and whatever holds a name now is replaced. True when the server took them all.
 *
 * @example
 * if (!(await prepareOwn(relay))) return refused('SQL_SESSION_UNSAFE', '…');
 */
export async function prepareOwn(relay: WireRelay): Promise<boolean> {
  const answers = Object.entries(OWN).flatMap(([key, text]) => [
    relay.send(serialize.close({ type: 'S', name: RESERVED_PREFIX + key }), 'close', 'gateway'),
    relay.send(serialize.parse({ name: RESERVED_PREFIX + key, text, types: key === 'guard' ? Array(6).fill(TEXT_ARRAY) : [] }), 'parse', 'gateway'),
  ]);
  await relay.send(serialize.sync(), 'sync', 'gateway');
  return (await Promise.all(answers)).every((a) => a.outcome === 'answered' && !a.error);
}

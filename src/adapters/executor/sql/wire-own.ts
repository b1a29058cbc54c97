/**
 * The gateway's own statements on a wire client's upstream session (wire-session.ts): prepared once per session under
 * names a client may not use, and its portal.
 */
import { GUARD_SQL } from './session-guard.ts';

/** Names of the gateway's own prepared statements and portal; a client's names may not start so. */
export const RESERVED_PREFIX = 'countersign_';
export const PORTAL = `${RESERVED_PREFIX}p`;
export const OWN: Readonly<Record<string, string>> = {
  begin: 'BEGIN',
  begin_ro: 'BEGIN READ ONLY',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  savepoint: `SAVEPOINT ${RESERVED_PREFIX}ro`,
  read_only: 'SET LOCAL transaction_read_only = on',
  undo: `ROLLBACK TO SAVEPOINT ${RESERVED_PREFIX}ro`,
  release: `RELEASE SAVEPOINT ${RESERVED_PREFIX}ro`,
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

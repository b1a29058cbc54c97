/**
 * The check before a wire client's Parse, Describe or Bind that no Execute
 * follows (sent on its Sync or Flush). Such a message runs the input of types
 * on the upstream: a Parse its literals' (`'{1}'::d[]` runs domain d's CHECK,
 * and so does a literal a column's type makes `d[]`), a Describe of a statement
 * a schema change invalidated the same (parsed again), a Bind its parameters'.
 * No name in the statement need lead to that code, and no one judged the
 * statement: it may be a write held for approval, or one policy denies. It runs
 * in a read-only transaction, which stops writes to tables and not what acts
 * outside them: a session advisory lock (kept on the upstream connection, which
 * goes back to the pool), COPY … TO PROGRAM, dblink, pg_terminate_backend. So in
 * that transaction, before anything of the client's, the session check of a
 * read runs with no names (session-guard.ts): every domain CHECK, cast, range
 * type and operator family of the database must call only what the allow-list
 * holds, as for any read; else none of the messages is sent. In the client's
 * block above READ COMMITTED it is refused outright: the check would read the
 * catalogs as of the block's snapshot, blind to a CHECK added since, which the
 * Parse finds.
 */
import { GUARD_ALLOWED, guardParams, refusal, snapshotRefusal, type GuardRow } from './session-guard.ts';
import type { SqlFactsOptions, SqlNameUses } from './facts.ts';
import { dataRowText, sqlstate } from './upstream-frames.ts';
import type { Answer } from './wire-relay.ts';

/** No names at all: what any read may reach, whatever it names. */
const NO_USES: SqlNameUses = { functions: [], operators: [], types: [], attributes: [], relations: [], credentials: [], customSettings: [] };

/**
 * The gateway's statements (wire-own.ts) that open the read-only transaction (outside the client's block) or
 * savepoint (inside it) and run the check in it, under a savepoint of its own with a generic plan, as a run's check does.
 * `allowed`: the allow-list as a text[] literal.
 *
 * @example
 * inputCheckSteps('I', '{"pg_catalog.lower"}'); // [{ key: 'begin_ro_rc' }, …, { key: 'guard', values: [...] }, …]
 */
export function inputCheckSteps(status: 'I' | 'T', allowed: string): { key: string; values?: string[] }[] {
  const values = guardParams(NO_USES, true, new Set()).map(() => '{}');
  values[GUARD_ALLOWED] = allowed;
  // The latch (catalog-latch.ts) before the check: no schema change through the gateway commits between it and the Parse.
  const open = status === 'I' ? ['begin_ro_rc', 'latch_shared'] : ['savepoint', 'read_only', 'latch_shared'];
  return [...open.map((key) => ({ key })), { key: 'plan_savepoint' }, { key: 'plan_generic' }, { key: 'guard', values }, { key: 'plan_undo' }, { key: 'plan_release' }];
}

/**
 * Why the client's messages must not be sent, from the answers to inputCheckSteps; undefined when they may.
 *
 * @example
 * inputRefusal(answers, 'I', { readOnlyFunctions: [] }); // 'a view, … domain CHECK … runs what is not known free of effects (public.f (through domain pe_d)); …'
 */
export function inputRefusal(answers: readonly Answer[], status: 'I' | 'T', options: SqlFactsOptions): string | undefined {
  const failed = answers.find((a) => a.outcome !== 'answered' || a.error);
  if (failed) return `the session check failed on the upstream${failed.error ? ` (${sqlstate(failed.error)})` : ''}; the Parse, Describe or Bind was not sent, nothing ran`;
  const text = answers.at(-3)?.messages.find((m) => m.type === 'D');
  const row = text ? (JSON.parse(dataRowText(text.body)) as GuardRow) : undefined;
  // In a block above READ COMMITTED the check reads the catalogs as of the block's snapshot, the Parse the latest ones.
  const why = (snapshotRefusal(status, row) ?? refusal(row, { readOnlyFunctions: options.readOnlyFunctions ?? [] }, true))?.message;
  return why?.replace(/; nothing ran$/, '; the Parse, Describe or Bind was not sent, nothing ran');
}

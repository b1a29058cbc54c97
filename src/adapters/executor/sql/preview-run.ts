/**
 * Runs a held write once, to count what it would change, in a transaction
 * that is never committed: BEGIN, short statement and lock timeouts, the same
 * session check a real run passes (session-guard.ts, held to the read-only
 * standard for everything but the write itself), the check of what the target
 * tables carry (preview-check.ts), EXPLAIN of each statement, the statements,
 * then ROLLBACK whatever happened. The session is closed afterwards, never
 * returned to the pool: whatever the SQL left in it goes with it. Should the
 * gateway die mid-preview, Postgres rolls back the open transaction when the
 * connection drops; should it stall, idle_in_transaction_session_timeout ends
 * the session on the server.
 */
import pg from 'pg';
import type { PoolClient, QueryResult } from 'pg';
import type { SqlInput } from '../../../core/action.ts';
import type { PreviewOutcome, StatementPreview } from '../../../core/preview.ts';
import { withoutQuotedValues } from '../../../core/quoted-values.ts';
import { bounded, StatementTimedOut, stopBackend } from './cancel.ts';
import { LATCH_SHARED_SQL } from './catalog-latch.ts';
import { PREVIEW_CHECK_SQL, previewRefusal, type PreviewCheckRow } from './preview-check.ts';
import { previewScope, type PreviewTarget } from './preview-scope.ts';
import { credentialRefusal, GUARD_SQL, guardParams, refusal, type GuardRow } from './session-guard.ts';

export interface PreviewRunOptions {
  readonly name: string;
  readonly url: string;
  /** statement_timeout of each statement of the preview. */
  readonly timeoutMs: number;
  /** lock_timeout: a preview waits this long for a lock another session holds, then gives up. */
  readonly lockTimeoutMs: number;
  readonly readOnlyFunctions: readonly string[];
  readonly allowed: ReadonlySet<string>;
  readonly pool: () => pg.Pool;
}

/**
 * @example
 * await runPreview(opts, { sql: 'DELETE FROM sessions WHERE expires_at < now()' });
 * // { status: 'previewed', statements: [{ command: 'DELETE', table: 'sessions', rows: 12, plan: 'Delete on sessions → Seq Scan on sessions (estimated 10 rows, cost 25.88)' }] }
 */
export async function runPreview(opts: PreviewRunOptions, input: SqlInput): Promise<PreviewOutcome> {
  const scope = previewScope(input.sql, { readOnlyFunctions: opts.readOnlyFunctions });
  if (!scope.ok) return { status: 'skipped', reason: scope.reason };
  // What no run reads, whatever rule allowed it (a credential, a custom setting by name), no preview reads before approval.
  const unsafe = credentialRefusal(scope.names);
  if (unsafe) return { status: 'skipped', reason: unsafe.message.replace(/; nothing ran$/, '') };
  const params = input.params ?? [];
  if (params.length > 0 && scope.targets.length > 1) return { status: 'skipped', reason: 'several statements with parameters do not run' };
  const graceMs = Math.min(5_000, Math.max(1_000, opts.timeoutMs));
  const callMs = opts.timeoutMs + graceMs;
  let client: PoolClient;
  try {
    client = await opts.pool().connect();
  } catch {
    return { status: 'failed', reason: `could not connect to ${opts.name}` };
  }
  const onError = (): void => {};
  client.on('error', onError);
  let pid = (client as unknown as { processID?: number }).processID ?? 0;
  const call = <T>(run: Promise<T>): Promise<T> => bounded(run, callMs, () => stopBackend(opts.url, pid, run, graceMs));
  try {
    // The server ends the session (so rolls back) if the gateway stalls with the transaction open.
    const idleMs = Math.max(10_000, 4 * callMs);
    await call(
      client.query(
        // The latch (catalog-latch.ts): no schema change through the gateway commits between the checks and the statement.
        // READ COMMITTED whatever the database's default: above it, the first query's snapshot (taken before the latch's
        // wait) would show the checks the catalogs as they were before a schema change the statement then runs under.
        `BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL statement_timeout = ${opts.timeoutMs}; SET LOCAL lock_timeout = ${opts.lockTimeoutMs}; SET LOCAL idle_in_transaction_session_timeout = ${idleMs}; SET LOCAL jit = off; ${LATCH_SHARED_SQL}`,
      ),
    );
    const guard = await call(client.query<GuardRow>(GUARD_SQL, guardParams(scope.names, true, opts.allowed)));
    pid = guard.rows[0]?.pid ?? pid;
    const refused = refusal(guard.rows[0], { readOnlyFunctions: opts.readOnlyFunctions });
    if (refused) return { status: 'skipped', reason: refused.message.replace(/; nothing ran$/, '') };
    const check = await call(client.query<PreviewCheckRow>(PREVIEW_CHECK_SQL, [scope.targets.map((t) => t.relation), [...opts.allowed]]));
    const carried = previewRefusal(check.rows[0], { readOnlyFunctions: opts.readOnlyFunctions });
    if (carried) return { status: 'skipped', reason: carried };
    const plans: string[] = [];
    for (const t of scope.targets) {
      const explained = await call(client.query<{ 'QUERY PLAN': unknown }>({ text: `EXPLAIN (FORMAT JSON) ${t.text}`, values: params }));
      plans.push(planSummary(explained.rows[0]?.['QUERY PLAN']));
    }
    const raw = (await call(client.query(params.length > 0 ? { text: input.sql, values: params } : input.sql))) as QueryResult | QueryResult[];
    const results = Array.isArray(raw) ? raw : [raw];
    const statements = scope.targets.map((t: PreviewTarget, i): StatementPreview => ({
      command: t.command,
      table: t.table,
      rows: results[i]?.rowCount ?? 0,
      ...(plans[i] ? { plan: plans[i] } : {}),
    }));
    return { status: 'previewed', statements };
  } catch (e) {
    if (e instanceof StatementTimedOut) return { status: 'failed', reason: `the preview passed its ${opts.timeoutMs} ms limit and was stopped` };
    if (e instanceof pg.DatabaseError) {
      const sqlstate = e.code ?? 'XX000';
      if (sqlstate === '55P03') return { status: 'failed', sqlstate, reason: `a lock it needs is held by another session (waited the preview's ${opts.lockTimeoutMs} ms lock timeout)` };
      if (sqlstate === '57014') return { status: 'failed', sqlstate, reason: `it passed the preview's ${opts.timeoutMs} ms statement timeout` };
      // Shown to reviewers and stored with the request: the value the server quotes (a parameter, a key) is left out.
      return { status: 'failed', sqlstate, reason: withoutQuotedValues(e.message) };
    }
    return { status: 'failed', reason: `lost the connection to ${opts.name} during the preview` };
  } finally {
    // Always rolled back; and the session is closed rather than reused, whatever the outcome.
    await call(client.query('ROLLBACK')).catch(() => {});
    client.removeListener('error', onError);
    client.release(true);
  }
}

/** Previews waiting on one connection before more are refused. */
const QUEUE_MAX = 8;

/**
 * One preview at a time per connection, at most QUEUE_MAX waiting: a preview holds its rows' locks until its
 * rollback, and an agent that submits many held writes must not hold many at once on the target.
 *
 * @example
 * const q = previewQueue('orders-db'); await q.run(() => runPreview(opts, input));
 */
export function previewQueue(name: string): { run(fn: () => Promise<PreviewOutcome>): Promise<PreviewOutcome> } {
  let tail: Promise<unknown> = Promise.resolve();
  let waiting = 0;
  return {
    run(fn) {
      if (waiting >= QUEUE_MAX) return Promise.resolve({ status: 'skipped', reason: `${QUEUE_MAX} previews are already waiting on ${name}` });
      waiting++;
      const mine = tail.then(fn).finally(() => {
        waiting--;
      });
      tail = mine.catch(() => {});
      return mine;
    },
  };
}

type PlanNode = { 'Node Type'?: string; 'Relation Name'?: string; 'Plan Rows'?: number; 'Total Cost'?: number; Plans?: PlanNode[] };

/**
 * EXPLAIN (FORMAT JSON) as one line: the nodes top first, the rows the planner expects the scan to find, the cost.
 *
 * @example
 * planSummary([{ Plan: { 'Node Type': 'ModifyTable', Operation: 'Update', … } }]); // 'Update on accounts → Index Scan on accounts (estimated 1 row, cost 8.29)'
 */
export function planSummary(json: unknown): string {
  const top = Array.isArray(json) ? (json[0] as { Plan?: PlanNode & { Operation?: string } } | undefined)?.Plan : undefined;
  if (!top) return '';
  const nodes: string[] = [];
  const walk = (n: PlanNode & { Operation?: string }): void => {
    if (nodes.length >= 6) return;
    const type = n['Node Type'] === 'ModifyTable' && n.Operation ? n.Operation : (n['Node Type'] ?? '?');
    nodes.push(n['Relation Name'] ? `${type} on ${n['Relation Name']}` : type);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(top);
  const rows = top.Plans?.[0]?.['Plan Rows'] ?? top['Plan Rows'];
  const est = typeof rows === 'number' ? `estimated ${rows} row${rows === 1 ? '' : 's'}, ` : '';
  return `${nodes.join(' → ')} (${est}cost ${top['Total Cost'] ?? '?'})`;
}

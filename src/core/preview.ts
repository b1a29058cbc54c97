/**
 * Impact preview: what a held SQL write would change, measured by running it
 * once in a transaction that is always rolled back, before anyone approves it.
 * Reviewers see "would change N rows in table T" per statement; a write the
 * gateway cannot prove free of effects outside the transaction (a sequence, a
 * function not known free of effects, DDL, a trigger) is never run, and the
 * card says why. Row values and literals are never kept: counts, tables and
 * the plan's outline only.
 */

/** One statement of a previewed write. */
export interface StatementPreview {
  /** The statement's command tag: UPDATE or DELETE. */
  readonly command: string;
  /** The table it changes, as written (`public.accounts`, `accounts`). */
  readonly table: string;
  /** Rows the statement changed before the rollback. */
  readonly rows: number;
  /** EXPLAIN (FORMAT JSON) summarised: the plan's nodes, top first, with the planner's row estimate and cost. */
  readonly plan?: string;
}

/** What the connection reports: ran and rolled back, not run (and why), or run and failed (nothing kept). */
export type PreviewOutcome =
  | { readonly status: 'previewed'; readonly statements: readonly StatementPreview[] }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'failed'; readonly reason: string; readonly sqlstate?: string };

/** The outcome as stored with the request, with when it was taken. */
export type RequestPreview = PreviewOutcome & { readonly at: string };

/**
 * One line per statement, as every channel shows it.
 *
 * @example
 * previewLines({ status: 'previewed', at, statements: [{ command: 'UPDATE', table: 'accounts', rows: 3 }] });
 * // ['would change 3 rows in table accounts (UPDATE)']
 */
export function previewLines(p: RequestPreview): string[] {
  if (p.status === 'skipped') return [`not previewed: ${p.reason}`];
  if (p.status === 'failed') return [`preview failed${p.sqlstate ? ` (postgres ${p.sqlstate})` : ''}: ${p.reason}; nothing was changed`];
  if (p.statements.length === 0) return ['would change nothing'];
  return p.statements.map((s) => `would change ${s.rows} row${s.rows === 1 ? '' : 's'} in table ${s.table} (${s.command})`);
}

/**
 * What the audit log keeps of a preview: counts per statement and tables, never rows, values or the plan.
 *
 * @example
 * previewAuditData(p); // { status: 'previewed', statements: [{ command: 'UPDATE', table: 'accounts', rows: 3 }] }
 */
export function previewAuditData(p: PreviewOutcome): Record<string, unknown> {
  if (p.status === 'previewed') return { status: p.status, statements: p.statements.map((s) => ({ command: s.command, table: s.table, rows: s.rows })) };
  if (p.status === 'failed') return { status: p.status, ...(p.sqlstate ? { sqlstate: p.sqlstate } : {}) };
  return { status: p.status, reason: p.reason };
}

/**
 * Masking the secret columns of a long SQL text for the audit log, its parse
 * off the thread that answers everyone. maskSqlSecrets parses the text, and
 * the masked copy again: for 1,000,000 characters, seconds in which every
 * other session, REST call and agent waited, on every submission of such a
 * text to a connection with `secretColumns`. A long text's secret places
 * are found (and the masked shape checked) on the analysis thread when its
 * facts are prepared, and remembered for the audit write that follows,
 * which then only puts the masks in.
 */
import { OFFLOAD_MIN_CHARS, sqlOffload } from './analysis-offload.ts';
import { applySecretSpans, maskSqlSecrets, type SecretSpans } from './mask.ts';

type Param = string | number | boolean | null;

/** The last long texts' spans, for the audit writes that follow their preparation. */
const MAX_ENTRIES = 4;
const recent: { sql: string; columns: readonly string[]; spans: SecretSpans }[] = [];

const known = (sql: string, columns: readonly string[]) => recent.find((e) => e.columns === columns && e.sql.length === sql.length && e.sql === sql)?.spans;

/**
 * Finds a long text's secret places on the analysis thread, under `owner`'s share of it; nothing for a short text,
 * no secret columns, or one found lately. Rejects as the thread refuses (TOO_MANY_ANALYSES, INPUT_UNPARSEABLE).
 *
 * @example
 * await prepareSecretSpans(sql, config.secretColumns, principal.id);
 */
export async function prepareSecretSpans(sql: string, secretColumns: readonly string[], owner?: string): Promise<void> {
  if (sql.length <= OFFLOAD_MIN_CHARS || secretColumns.length === 0 || known(sql, secretColumns)) return;
  const spans = (await sqlOffload.run({ op: 'maskSpans', sql, secretColumns }, owner)) as SecretSpans;
  if (recent.length >= MAX_ENTRIES) recent.shift();
  recent.push({ sql, columns: secretColumns, spans });
}

/**
 * maskSqlSecrets, with a long text's places found beforehand (prepareSecretSpans) used as they are; otherwise (not
 * prepared, or forgotten since) found here.
 *
 * @example
 * const m = maskSqlSecretsPrepared(sql, params, config.secretColumns, hmac);
 */
export function maskSqlSecretsPrepared(sql: string, params: readonly Param[] | undefined, secretColumns: readonly string[], mask: (value: string) => string): { sql: string; params?: Param[]; masked: number } {
  const spans = sql.length > OFFLOAD_MIN_CHARS ? known(sql, secretColumns) : undefined;
  return spans ? applySecretSpans(sql, params, spans, mask) : maskSqlSecrets(sql, params, secretColumns, mask);
}

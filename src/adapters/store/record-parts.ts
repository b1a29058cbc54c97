/**
 * A request record's two parts, alike on both stores: the `fixed` fields,
 * set at submission and copied unchanged by every transition (who asked for
 * what, where, with which facts: most of a record's bytes), and the `state`
 * fields a transition may change. A row keeps the record as inserted and,
 * after a transition that kept the fixed part, that transition's state fields
 * beside it, which then say what the record is now: serialising the whole
 * record again was the largest part of writing an outcome.
 */
import type { RequestRecord } from '../../core/request.ts';

/**
 * Each field of a record: `fixed` when set at submission and copied unchanged by every transition, `state` when a
 * transition may change it (the reviews have rows of their own). Every field is listed: a field added to
 * RequestRecord does not compile here until it is placed.
 */
const PARTS = {
  id: 'fixed',
  principal: 'fixed',
  action: 'fixed',
  connection: 'fixed',
  facts: 'fixed',
  digest: 'fixed',
  createdAt: 'fixed',
  context: 'fixed',
  runsIn: 'fixed',
  traceparent: 'fixed',
  idempotencyKey: 'fixed',
  status: 'state',
  decision: 'state',
  updatedAt: 'state',
  expiresAt: 'state',
  result: 'state',
  error: 'state',
  version: 'state',
  runDeadline: 'state',
  preview: 'state',
  escalations: 'state',
  breakGlass: 'state',
  undo: 'state',
  grant: 'state',
  grantedBy: 'state',
  reviews: 'rows',
} as const satisfies { readonly [K in keyof RequestRecord]-?: 'fixed' | 'state' | 'rows' };

type Field = keyof typeof PARTS;
const fieldsOf = (part: string): Field[] => (Object.keys(PARTS) as Field[]).filter((k) => PARTS[k] === part);
const FIXED = fieldsOf('fixed');
const STATE = fieldsOf('state');
/** State fields a record may lack: written only when present, as JSON leaves an undefined field out. */
const OPTIONAL_STATE = STATE.filter((k) => !['status', 'decision', 'updatedAt', 'expiresAt', 'result', 'error', 'version'].includes(k));

/** The state fields' JSON. */
export function stateJson(r: RequestRecord): string {
  // A literal of the fields every record has, then those present: faster to write than one with undefined values.
  const state: Record<string, unknown> = { status: r.status, decision: r.decision, updatedAt: r.updatedAt, expiresAt: r.expiresAt, result: r.result, error: r.error, version: r.version };
  for (const k of OPTIONAL_STATE) if (r[k] !== undefined) state[k] = r[k];
  return JSON.stringify(state);
}

/** True when `next` keeps every fixed field of `previous` (the same values: a transition copies them over). */
export function sameFixed(previous: RequestRecord, next: RequestRecord): boolean {
  for (const k of FIXED) if (next[k] !== previous[k]) return false;
  return true;
}

/**
 * A stored row's record without its reviews (they have their own rows): the record as inserted (`record`), with the
 * state of its last transition laid over it (`state`, or null when the record was written whole).
 *
 * @example
 * recordOf({ record: '{"id":"req_1","status":"executing",…}', state: '{"status":"succeeded",…}' }).status; // 'succeeded'
 */
export function recordOf(row: { record: string; state: string | null }): Omit<RequestRecord, 'reviews'> {
  const r = JSON.parse(row.record) as Record<string, unknown>;
  if (row.state === null) return r as unknown as Omit<RequestRecord, 'reviews'>;
  const state = JSON.parse(row.state) as Record<string, unknown>;
  // A field the last transition left out is gone, whatever the record said when inserted.
  for (const k of STATE) if (!(k in state) && k in r) delete r[k];
  return Object.assign(r, state) as unknown as Omit<RequestRecord, 'reviews'>;
}

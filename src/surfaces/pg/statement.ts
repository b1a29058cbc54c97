/**
 * One statement of a wire session, through the same use cases as REST and
 * MCP: submit (policy, the request and its audit events), then for a held
 * statement a NOTICE, a wait for the decision of up to `holdSeconds`, and the
 * claim after approval. An allowed or approved statement runs on the
 * session's own upstream connection (the runner), so it keeps the session's
 * SET, temporary tables, prepared statements and transaction.
 *
 * What the client is told is Postgres' own vocabulary: a refusal is an
 * ErrorResponse with SQLSTATE 42501 naming the request; a statement still
 * held when the wait ends is CS001 (send the same statement again once it is
 * approved, and it runs, once); expired CS002; cancelled 57014.
 */
import type { SqlInput } from '../../core/action.ts';
import { CountersignError } from '../../core/errors.ts';
import type { Principal } from '../../core/principal.ts';
import { CLIENT_CANCEL, type SessionRunner, type WireOutcome, type WirePart, type WireUpstream } from '../../core/ports.ts';
import type { RequestRecord } from '../../core/request.ts';
import { cancel } from '../../service/cancel.ts';
import type { Deps } from '../../service/deps.ts';
import { executeApproved } from '../../service/execute.ts';
import { submitOnce, UNKNOWN_STATE } from '../../service/submit.ts';
import { waitForChange } from '../../service/wait.ts';
import { backend, type NoticeFields } from './protocol.ts';

/** SQLSTATEs of the gateway's own answers (class CS is not Postgres'; clients treat it as an error like any other). */
export const SQLSTATE = {
  refused: '42501',
  held: 'CS001',
  expired: 'CS002',
  cancelled: '57014',
  unsafe: '55000',
  failed: '58000',
} as const;

/**
 * SQLSTATEs of what submit refuses before any request is recorded, by the
 * statement itself: it is not to be sent again as it is (58000 says the
 * gateway failed, and a client retries it). A setting the gateway pins
 * (`SET search_path`, `SET ROLE`) is refused as policy refuses: 42501.
 */
const REFUSED_AT_SUBMIT: Partial<Record<string, string>> = {
  INPUT_UNPARSEABLE: '42601',
  SQL_SETTING_REFUSED: SQLSTATE.refused,
  SQL_SESSION_UNSAFE: SQLSTATE.unsafe,
  INVALID_INPUT: '22023',
  // Too many long texts of this principal in analysis at once: configuration_limit_exceeded, sent again later.
  TOO_MANY_ANALYSES: '53400',
  // Too many held requests of this principal pending at once: likewise, sent again once one of them is decided.
  TOO_MANY_PENDING: '53400',
};

/**
 * The abort reason when the client's connection closed: a held statement
 * stops waiting but stays pending (no one withdrew it), and nothing runs
 * for a session that is gone; sent again from a new session once approved,
 * it runs there.
 */
export const CLIENT_GONE = 'the postgres client went away';

/** Context keys a resumed request's session must share with the one resuming it. */
const RESUME_MUST_MATCH = ['remote', 'paramTypes'] as const;

export interface StatementContext {
  readonly deps: Deps;
  readonly principal: Principal;
  readonly connection: string;
  readonly upstream: WireUpstream;
  /** To the client; `now`: written at once with what was held (client-output.ts), not with the ReadyForQuery. */
  readonly send: (bytes: Buffer, now?: boolean) => void;
  readonly holdSeconds: number;
  /** The request's page in the console, for the NOTICE. */
  readonly requestUrl: (id: string) => string;
  /** Metadata of the session (surface, client address, application_name): `context.request` for policy, and the audit log. */
  readonly context: Readonly<Record<string, string>>;
  /** Aborted by the client's CancelRequest or its going away. */
  readonly signal: AbortSignal;
  /** The bound on one run of a statement. */
  readonly maxRunMs: number;
  /** Checks the session's credential again (server.ts); throws a ProtocolError, which ends the session, once it lapsed. */
  readonly credential?: () => Promise<void>;
}

/**
 * Judges and (when it may) runs one statement: `failed` when the client got
 * an error (the rest of an extended-protocol batch is then skipped), the
 * statement types the facts found (none when it could not be judged), and
 * whether they found it read-only (true when nothing was judged, so nothing ran).
 *
 * @example
 * const { failed } = await runStatement(ctx, { sql: 'SELECT 1' }, [{ raw, kind: 'query' }]);
 */
export async function runStatement(
  ctx: StatementContext,
  input: SqlInput,
  parts: readonly WirePart[],
  paramTypes: readonly number[] = [],
  /** A COPY FROM STDIN's data as the client sent it (CopyData messages and CopyDone): input.copy is its digest. */
  copyIn?: Buffer,
): Promise<{ failed: boolean; types: readonly string[]; readOnly: boolean }> {
  let outcome: WireOutcome | undefined;
  /** The session's credential, found lapsed after a hold: the session ends with it (server.ts). */
  let lapsed: unknown;
  // The types a Parse declared choose what runs (f(int) or f(text)) but are not part of the action: kept with the request,
  // so that a statement sent again resumes an approval only with the types it was submitted with.
  const typesText = (input.params ?? []).map((_, i) => paramTypes[i] ?? 0).join(',');
  const context = typesText ? { ...ctx.context, paramTypes: typesText } : ctx.context;
  const runner: SessionRunner = {
    maxRunMs: ctx.maxRunMs,
    state: () => ctx.upstream.state(),
    async run(stored, opts) {
      // The runner runs the client's messages: they must say exactly what was judged (and, resumed, approved).
      if (!sameInput(stored as SqlInput, input)) {
        outcome = { ok: false, relayed: false, output: null, summary: {}, error: { code: 'DIGEST_MISMATCH', message: 'the statement does not match the request it would run' } };
      } else {
        outcome = await ctx.upstream.run(input, { parts, readOnly: opts.readOnly, signal: ctx.signal, ...(copyIn ? { copyIn } : {}) });
      }
      return outcome;
    },
  };

  let record: RequestRecord;
  /** The request is one another submission held (in this session or another, on any replica), not this one. */
  let resumed: boolean;
  try {
    ({ request: record, resumed = false } = await submitOnce(ctx.deps, {
      principal: ctx.principal,
      connection: ctx.connection,
      input,
      reason: `statement from a postgres session${ctx.context['application'] ? ` (${ctx.context['application']})` : ''}`,
      context,
      resumeHeld: true,
      runner,
    }));
  } catch (e) {
    error(ctx, (e instanceof CountersignError ? REFUSED_AT_SUBMIT[e.code] : undefined) ?? SQLSTATE.failed, messageOf(e));
    if (ctx.upstream.status() === 'T') await ctx.upstream.fail();
    return { failed: true, types: [], readOnly: true };
  }

  // A resumed request was judged with the context of the session that submitted it (policy may look at the client's
  // address); it runs only from a session that matches it there and in the parameter types.
  const differs = RESUME_MUST_MATCH.find((k) => (record.context?.[k] ?? '') !== (context[k] ?? ''));
  if ((record.status === 'pending' || record.status === 'approved') && differs) {
    error(ctx, SQLSTATE.unsafe, `request ${record.id} was submitted from a session with another ${differs === 'remote' ? 'client address' : 'set of parameter types'}; send it as, and from where, it was submitted`);
    if (ctx.upstream.status() === 'T') await ctx.upstream.fail();
    return { failed: true, types: [], readOnly: true };
  }
  // Resumed: the text means what its reviewers approved only in a session whose state reads it the same way
  // (session-state.ts): another DateStyle, TimeZone or temporary table of the same name, and it is another statement.
  // Also where this submission found none to resume and recorded its own, but another recorded first (core/resume-key.ts).
  if ((record.status === 'pending' || record.status === 'approved') && resumed) {
    let now: string | undefined;
    try {
      now = (await ctx.upstream.state())?.digest;
    } catch {
      now = undefined;
    }
    const then = record.context?.['sessionState'];
    if (now === undefined || then === undefined || then === UNKNOWN_STATE || now !== then) {
      error(
        ctx,
        SQLSTATE.unsafe,
        `request ${record.id} was submitted from a session whose state gives the statement another meaning (its user, search_path, settings such as DateStyle or TimeZone, temporary objects or cursors differ, or could not be read); nothing ran: send it from a session as it was then, or, while it is pending, cancel it (POST /v1/requests/${record.id}/cancel) and send it again to have it held from this one`,
      );
      if (ctx.upstream.status() === 'T') await ctx.upstream.fail();
      return { failed: true, types: [], readOnly: true };
    }
  }
  try {
    if (record.status === 'pending') {
      record = await hold(ctx, record);
      // A hold (up to holdSeconds) outlives the check of the credential made when the statement came: what it waited for
      // runs, and is told, only while the credential is still accepted. Otherwise the session ends (28000) and an
      // approval stays approved, to run once when the statement is sent again from a session with a valid one.
      lapsed = await (ctx.credential?.() ?? Promise.resolve()).then(() => undefined, (e: unknown) => e ?? new Error('credential refused'));
      if (lapsed !== undefined) throw lapsed;
    }
    // Approved while its client was gone, or cancelled by it before the claim: it stays approved, to run once when the
    // statement is sent again. (Cancelled after the claim, the run sends nothing upstream: REQUEST_CANCELLED.)
    if (record.status === 'approved' && ctx.signal.reason === CLIENT_CANCEL) {
      error(ctx, SQLSTATE.cancelled, `canceling statement due to user request (request ${record.id} is approved and was not run; send the same statement again to run it)`);
      if (ctx.upstream.status() === 'T') await ctx.upstream.fail();
      return { failed: true, types: [], readOnly: true };
    }
    if (record.status === 'approved' && ctx.signal.reason !== CLIENT_GONE) record = await executeApproved(ctx.deps, record.id, runner);
  } catch (e) {
    if (lapsed !== undefined) throw lapsed;
    // The store failed while waiting or claiming, or the outcome of a run could not be recorded ("do not retry"): the
    // client is told so, and the session goes on.
    error(ctx, SQLSTATE.failed, messageOf(e));
    if (ctx.upstream.status() === 'T') await ctx.upstream.fail();
    return { failed: true, types: [], readOnly: true };
  }
  const failed = answer(ctx, record, outcome);
  // Not run, inside the client's block: the block fails as it would on the statement's own error.
  if (failed && !outcome?.relayed && ctx.upstream.status() === 'T') await ctx.upstream.fail();
  return { failed, types: record.facts.sql.statements.map((st) => st.type), readOnly: record.facts.sql.readOnly };
}

/** Tells the client a statement is held, and waits for a decision while the window lasts. */
async function hold(ctx: StatementContext, held: RequestRecord): Promise<RequestRecord> {
  const approvers = held.decision.approvers.map((a) => `${a.count} of ${[...(a.groups ?? []).map((g) => `group ${g}`), ...(a.principals ?? [])].join(', ')}`).join('; ');
  notice(ctx, {
    severity: 'NOTICE',
    code: '00000',
    message: `held for approval as request ${held.id}`,
    detail: `approvers: ${approvers || 'per policy'}; expires ${held.expiresAt ?? 'never'}`,
    hint: `review it at ${ctx.requestUrl(held.id)}${ctx.holdSeconds > 0 ? `; this statement waits up to ${ctx.holdSeconds} s` : ''}`,
  });
  if (ctx.holdSeconds <= 0) return held;
  const deadline = Date.now() + ctx.holdSeconds * 1000;
  let current = held;
  while (current.status === 'pending' && !ctx.signal.aborted) {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) break;
    current = await waitForChange(ctx.deps, ctx.principal, held.id, { seconds: Math.min(left, 60), from: 'pending', signal: ctx.signal });
  }
  // Cancelled by the client while held: the request is withdrawn, as a REST cancel would. A client that merely
  // went away withdrew nothing: the request stays pending for its reviewers.
  if (current.status === 'pending' && ctx.signal.reason === CLIENT_CANCEL) {
    try {
      return await cancel(ctx.deps, { principal: ctx.principal, requestId: held.id, reason: 'cancelled by the postgres client' });
    } catch {
      return current;
    }
  }
  return current;
}

function answer(ctx: StatementContext, r: RequestRecord, outcome: WireOutcome | undefined): boolean {
  const id = r.id;
  switch (r.status) {
    case 'succeeded':
      // Ran by this session's runner: its rows and tag went to the client. Otherwise another session of the principal
      // claimed the approval first (an approval runs once): nothing ran here, and the client must not read success.
      if (outcome) return false;
      return error(ctx, SQLSTATE.held, `request ${id} already ran in another session of yours; nothing ran in this one`);
    case 'failed':
      // An error of the statement itself reached the client as Postgres sent it.
      if (outcome?.relayed) return true;
      if (outcome?.error?.code === 'REQUEST_CANCELLED') return error(ctx, SQLSTATE.cancelled, `canceling statement due to user request (request ${id}: nothing ran)`);
      return error(ctx, outcome?.error?.code === 'SQL_SESSION_UNSAFE' ? SQLSTATE.unsafe : SQLSTATE.failed, `${r.error?.message ?? 'the statement failed'} (request ${id})`);
    case 'denied':
      return error(ctx, SQLSTATE.refused, `${r.error?.message ?? 'denied'} (request ${id})`, r.error?.code === 'POLICY_DENIED' ? undefined : r.error?.code);
    case 'pending':
      return error(ctx, SQLSTATE.held, `held for approval as request ${id}; once approved, send the same statement again and it runs, once`, undefined, ctx.requestUrl(id));
    case 'approved':
      return error(ctx, SQLSTATE.held, `request ${id} is approved and waits for its session; send the same statement again to run it`);
    case 'expired':
      return error(ctx, SQLSTATE.expired, `request ${id} expired without a decision`);
    case 'cancelled':
      return error(ctx, SQLSTATE.cancelled, `canceling statement due to user request (request ${id} withdrawn)`);
    case 'executing':
      return error(ctx, SQLSTATE.held, `request ${id} is running in another session of yours`);
  }
}

function error(ctx: StatementContext, code: string, message: string, detail?: string, hint?: string): true {
  ctx.send(backend.error({ severity: 'ERROR', code, message, ...(detail ? { detail } : {}), ...(hint ? { hint } : {}) }));
  return true;
}

function notice(ctx: StatementContext, fields: NoticeFields): void {
  // Shown while the statement waits: not held for its ReadyForQuery.
  ctx.send(backend.notice(fields), true);
}

function messageOf(e: unknown): string {
  if (e instanceof CountersignError) return e.message;
  return 'the gateway could not judge the statement';
}

function sameInput(a: SqlInput, b: SqlInput): boolean {
  return a.sql === b.sql && JSON.stringify(a.params ?? []) === JSON.stringify(b.params ?? []) && sameCopy(a.copy, b.copy);
}

/** The same COPY data: its digest and what reviewers saw of it. */
function sameCopy(a: SqlInput['copy'], b: SqlInput['copy']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.sha256 === b.sha256 && a.bytes === b.bytes && a.lines === b.lines && a.preview === b.preview;
}

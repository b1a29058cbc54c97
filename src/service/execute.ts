/**
 * Execute: claim an approved request atomically (approved → executing, so it
 * runs at most once across threads, processes and replicas), check the policy
 * and the digest again just before running, run the stored action — never
 * anything the agent sends later — and record the outcome.
 */
import { actionDigest } from '../core/digest.ts';
import { CountersignError, isCountersignError, type ErrorCode } from '../core/errors.ts';
import type { ExecuteOptions, ExecutionResult, Mutation, SessionRunner } from '../core/ports.ts';
import { quorumMet, remainingApprovals } from '../core/review.ts';
import { countingReviews, removedPasskeys } from './removed-passkeys.ts';
import { transition, type RequestRecord } from '../core/request.ts';
import type { Decision } from '../core/policy/decision.ts';
import { revertSql, undoAuditData, type CapturedUndo } from '../core/undo.ts';
import { decideTraced } from './decide.ts';
import type { Deps } from './deps.ts';
import { decisionView } from './views.ts';
import { expiredMutation, isDue } from './expire.ts';
import { standingEscalations, widened } from '../core/escalation.ts';
import { breakerStands, breakGlassStands, breakGlassSteppedUp } from '../core/break-glass.ts';
import { shapeDigest } from '../core/grant.ts';
import { grantStillStands } from './grant-use.ts';
import { requesterGone } from '../core/requester.ts';
import { illFormedAt, illFormedMessage } from '../core/well-formed.ts';

/**
 * Grace beyond a connection's own time bound before a claim is presumed dead (`server.runGrace`, this by default).
 * A run starts only within the grace of its claim (runClaimed), so its time bound ends before the deadline: the
 * grace covers the clock difference between processes on the store and how late a timed-out run ends.
 */
export const RUN_GRACE_MS = 30_000;

/**
 * When a run claimed now on this connection must be over.
 *
 * @example
 * runDeadline(new Date('2026-01-01T00:00:00Z'), 3000, 5000); // '2026-01-01T00:00:08.000Z'
 */
export function runDeadline(now: Date, maxRunMs: number, graceMs: number = RUN_GRACE_MS): string {
  return new Date(now.getTime() + maxRunMs + graceMs).toISOString();
}

export type Claim = { claimed: true; request: RequestRecord; decision: Decision } | { claimed: false; request: RequestRecord };

/**
 * Claims and runs an approved request. Returns the final record, or the record
 * as it stands when the claim was lost (someone else runs it) or refused.
 * A request that must run in its client's session (`runsIn: 'session'`) is
 * claimed only with that session's `runner`: without one it stays approved.
 *
 * @example
 * const done = await executeApproved(deps, 'req_…'); // done.status: 'succeeded' | 'failed' | 'denied' | 'pending'
 */
export async function executeApproved(deps: Deps, id: string, runner?: SessionRunner): Promise<RequestRecord> {
  const claim = await claimApproved(deps, id, runner);
  return claim.claimed ? runClaimed(deps, claim.request, claim.decision, runner) : claim.request;
}

/**
 * The claim of an approved request alone (see executeApproved): claimed, it is this caller's to run with runClaimed.
 * A throw means the claim's write failed, and the request may stand approved (it runs once, by whoever claims it next).
 *
 * @example
 * const claim = await claimApproved(deps, 'req_…'); if (claim.claimed) await runClaimed(deps, claim.request, claim.decision);
 */
export async function claimApproved(deps: Deps, id: string, runner?: SessionRunner): Promise<Claim> {
  // Set by the mutation (the last call of it is what was written), reported once it committed.
  let policyErrors: readonly { rule: string }[] = [];
  deps.tracer.request(id);
  // Judged again just before it runs, under the config in force on the store (read now): refused here, the request
  // stays approved for a gateway of that config (service/config-in-force.ts).
  await deps.inForce?.check(0);
  // Approvals confirmed by a passkey removed since count for nothing where the policy in force asks for step-up.
  const removed = await removedPasskeys(deps, id);
  // A long input (a long SQL text) is analysed off this thread first: the claim then finds its facts in memory. The
  // attempt that finds it not analysed changes nothing; a failure to analyse it refuses the claim as facts() would.
  let preparing: Promise<void> | undefined;
  let prepared: { readonly failed?: unknown } | undefined;
  // Whether the grant that approved it still stands (not revoked, its givers still counting), read from the store
  // before the claim that needs it, as the facts are prepared: the claim runs inside the request's write.
  let grantToCheck: string | undefined;
  // The escalation ladder of the policy in force at the claim: the granting approvals count through its rungs only.
  let grantRungs: Decision['escalations'];
  let grantStands: { readonly id: string; readonly ok: boolean } | undefined;
  const claimOnce = (current: RequestRecord): Mutation<Claim> => {
    policyErrors = [];
    grantToCheck = undefined;
    if (current.status !== 'approved') return { result: { claimed: false, request: current }, audit: [] };
    if ((current.runsIn === 'session') !== (runner !== undefined)) return { result: { claimed: false, request: current }, audit: [] };
    const now = deps.clock.now();
    // A session's approval holds until the request's time to live: past it, the session that would run it is long gone.
    if (isDue(current, now)) {
      const m = expiredMutation(current, now);
      return { ...m, result: { claimed: false, request: m.result } };
    }
    const at = now.toISOString();
    const handle = deps.connections.get(current.action.connection);
    const refuse = (code: ErrorCode, message: string, extra: Record<string, unknown> = {}) => {
      const next = transition(current, 'denied', now, { error: { code, message } });
      return {
        result: { claimed: false, request: next } as Claim,
        next,
        audit: [{ type: 'request.denied', time: at, requestId: id, actor: null, data: { by: 'execute-check', code, message, ...extra } }],
      };
    };
    if (!handle) return refuse('UNKNOWN_CONNECTION', `connection ${current.action.connection} is no longer configured`);
    // Approved for the target it was submitted for: a connection of that name pointed elsewhere since (a restart with
    // another URL, database or command) is another connection, whatever its tags say.
    if (current.connectionTarget !== undefined && handle.target !== current.connectionTarget) {
      return refuse('UNKNOWN_CONNECTION', `connection ${current.action.connection} points elsewhere than when this request was submitted (its URL, database or command changed); submit it again to have it judged there`, {
        submittedTarget: current.connectionTarget,
        currentTarget: handle.target ?? null,
      });
    }
    // Only for a requester the configuration in force still knows: one taken out of it (a leaked key, a removed
    // issuer) has nothing it asked for run, however it was approved (core/requester.ts).
    const gone = requesterGone(current.principal, deps.identity);
    if (gone !== undefined) return refuse('REQUESTER_NOT_CONFIGURED', `${gone}: what it asked for does not run`, { requester: current.principal.id });
    // A configured principal is looked up again (its groups may have changed); one from a token is as its issuer vouched at submission.
    const principal = current.principal.issuer !== undefined ? current.principal : (deps.identity.principal(current.principal.id) ?? current.principal);
    if (actionDigest(current.principal, current.connection, current.action) !== current.digest) {
      return refuse('DIGEST_MISMATCH', 'the stored action does not match the digest that was approved');
    }
    // Held from before such text was refused at submit: it would run as U+FFFD, not as approved (core/well-formed.ts).
    const illFormed = illFormedAt(current.action.input, 'input');
    if (illFormed !== null) return refuse('INPUT_UNPARSEABLE', `the stored ${illFormedMessage(illFormed)}; submit it again as well-formed text`);
    if (!prepared) {
      preparing = handle.prepareFacts?.(current.action.input);
      if (preparing) return { result: { claimed: false, request: current }, audit: [] };
    } else if (prepared.failed !== undefined) {
      const e = prepared.failed;
      return e instanceof CountersignError && e.code === 'INPUT_UNPARSEABLE' ? refuse(e.code, e.message) : refuse('INPUT_UNPARSEABLE', 'the stored input no longer parses');
    }
    let facts;
    try {
      facts = deps.tracer.span('facts', { 'countersign.connection': handle.info.name, 'countersign.connection_kind': handle.info.kind }, () => handle.facts(current.action.input));
    } catch {
      return refuse('INPUT_UNPARSEABLE', 'the stored input no longer parses');
    }
    // An approval is for the tool as it was defined at submission: reviews given then say nothing about a definition
    // the upstream shows now (even one the tool-changed rule would let those same reviews pass). Requests stored
    // before definitions were recorded carry no hash and are judged by the policy alone.
    const submittedHash = current.facts.kind === 'mcp' ? (current.facts.mcp.definitionHash as string | undefined) : undefined;
    if (submittedHash && facts.mcp.definitionHash !== submittedHash) {
      return refuse('TOOL_DEFINITION_MISMATCH', `the definition of tool ${facts.mcp.tool} changed since this call was submitted; call it again to have it judged as it is now`, {
        submittedHash,
        currentHash: facts.mcp.definitionHash,
      });
    }
    const decision = decideTraced(deps.tracer, deps.policy(), principal, current.action, handle.info, facts, { time: now, request: current.context ?? {} });
    policyErrors = decision.errors;
    if (decision.effect === 'deny') {
      return refuse(decision.errors.length ? 'POLICY_ERROR' : 'POLICY_DENIED', decision.message ?? 'denied by the policy in force now', {
        decision: decisionView(decision),
      });
    }
    // A break-glass stands in for the approvals (the policy still gets its say: a deny above stops it, and so does a
    // policy that no longer opens break-glass to the groups of the human who broke it).
    if (decision.effect === 'approve' && current.breakGlass && !breakGlassStands(current.breakGlass, decision)) {
      return refuse('BREAK_GLASS_NOT_ALLOWED', 'the policy in force now does not let this human break the glass on this request', { decision: decisionView(decision) });
    }
    // Nor by a human who may not break it now: out of the group, out of the configuration, or now on the requester side.
    if (decision.effect === 'approve' && current.breakGlass && !breakerStands(current, current.breakGlass, decision, deps.identity)) {
      return refuse('BREAK_GLASS_NOT_ALLOWED', `${current.breakGlass.by}, who broke the glass, may not break it on this request under the configuration in force now`, { decision: decisionView(decision) });
    }
    // A policy that now requires a step-up accepts only a break-glass confirmed with a passkey.
    if (decision.effect === 'approve' && current.breakGlass && !breakGlassSteppedUp(current.breakGlass, decision)) {
      return refuse('STEP_UP_REQUIRED', 'the policy in force now requires a passkey confirmation to break the glass on this request, and this one was broken without', { decision: decisionView(decision) });
    }
    // A scoped grant stands in for the approvals while the policy in force holds the action in the same shape (the same
    // rules, approvers and grant terms); otherwise the request waits for reviewers like any other.
    const shaped = decision.effect === 'approve' && current.grantedBy !== undefined && shapeDigest(current.principal, current.connection, current.action, facts, decision, current.connectionTarget) === current.grantedBy.shape;
    // And only while the grant stands as a new use of it would need (service/grant-use.ts): revoked, or its givers no
    // longer counting under the configuration in force, it approves nothing that has not run.
    if (shaped && grantStands?.id !== current.grantedBy!.grantId) {
      grantToCheck = current.grantedBy!.grantId;
      grantRungs = decision.effect === 'approve' ? decision.escalations : undefined;
      return { result: { claimed: false, request: current }, audit: [] };
    }
    const byGrant = shaped && grantStands?.ok === true;
    // Counted under the policy in force: a rule that came to require step-up counts only passkey-confirmed approvals.
    const judged = { ...current, decision };
    // Widened only by the rungs the policy in force still names (a rung since taken out no longer lets its humans approve).
    const escalations = standingEscalations(current, decision.effect === 'approve' ? decision.escalations : undefined, now);
    const approvers = widened(decision.approvers, escalations);
    if (decision.effect === 'approve' && !current.breakGlass && !byGrant && !quorumMet(approvers, countingReviews(current.reviews, removed), judged, deps.identity)) {
      // The policy tightened after approval: the reviews given so far stand, more are needed.
      const expiresAt = new Date(now.getTime() + (decision.ttlSeconds ?? deps.policy().spec.defaultTtlSeconds) * 1000).toISOString();
      const { grantedBy: _dropped, ...requeued } = transition(current, 'pending', now, { decision, expiresAt });
      // Its rungs as the policy in force has them: one no longer standing may fire again as that policy says.
      const next: RequestRecord = current.escalations ? { ...requeued, escalations } : requeued;
      return {
        result: { claimed: false, request: next },
        next,
        audit: [
          {
            type: 'request.requeued',
            time: at,
            requestId: id,
            actor: null,
            data: { decision: decisionView(decision), remaining: remainingApprovals(approvers, countingReviews(current.reviews, removed), judged, deps.identity), expiresAt, ...(current.grantedBy ? { grantNoLongerStands: current.grantedBy.grantId } : {}) },
          },
        ],
      };
    }
    const next = transition(current, 'executing', now, { runDeadline: runDeadline(now, runner?.maxRunMs ?? handle.maxRunMs, deps.runGraceMs) });
    // Whether it keeps an undo is the policy's in force now too: a reload that took `undo: false` away brings the capture (and its limit) back.
    const data = { by: current.breakGlass ? 'break-glass' : byGrant ? 'grant' : 'approval', policyHash: decision.policyHash, rules: decision.rules, ...(decision.noUndo ? { noUndo: decision.noUndo } : {}) };
    return {
      result: { claimed: true, request: next, decision },
      next,
      audit: [{ type: 'request.executing', time: at, requestId: id, actor: null, data }],
    };
  };
  // And in the claim's own transaction: a gateway that took over since the check above must not see the action run
  // under the policy it replaced (refused, the request stays approved for a gateway on the config in force).
  const onlyIf = deps.inForce?.condition;
  let claim = await deps.store.mutateRequest<Claim>(id, claimOnce, undefined, onlyIf);
  // At most one more attempt for each thing read outside the write: the facts, then the grant.
  for (let i = 0; i < 2 && !claim.claimed; i++) {
    if (preparing && !prepared) prepared = await preparing.then(() => ({}), (failed: unknown) => ({ failed }));
    else if (grantToCheck !== undefined) grantStands = { id: grantToCheck, ok: await grantStillStands(deps, grantToCheck, grantRungs, deps.clock.now()) };
    else break;
    claim = await deps.store.mutateRequest<Claim>(id, claimOnce, undefined, onlyIf);
  }
  deps.notifier.publish(claim.request);
  for (const e of policyErrors) deps.metrics.policyError(e.rule);
  return claim;
}

/**
 * The undo a revert request puts back, when its statement is exactly the revert of that request's undo on the
 * same connection: only then is its run read as a revert (and its own undo taken from what it wrote). The
 * `revertOf` context names the original, but the statement is what is trusted, never the context.
 */
async function revertedUndo(deps: Deps, r: RequestRecord): Promise<CapturedUndo | undefined> {
  const of = r.context?.['revertOf'];
  const input = r.action.input;
  if (typeof of !== 'string' || !('sql' in input) || input.params?.length) return undefined;
  const original = await deps.store.getRequest(of);
  const undo = original?.undo;
  if (!original || original.action.connection !== r.action.connection || undo?.status !== 'captured') return undefined;
  return revertSql(undo) === input.sql ? undo : undefined;
}

const NOT_STARTED: ExecutionResult = {
  ok: false,
  output: null,
  summary: {},
  error: { code: 'EXECUTION_INTERRUPTED', message: 'the run could not start within the grace of its claim; it was not run and is not retried' },
};

/** Whether a run of at most `maxRunMs` started now would end past the claim's deadline (it must not start). */
function tooLateToStart(deps: Deps, claimed: RequestRecord, maxRunMs: number): boolean {
  return typeof claimed.runDeadline === 'string' && deps.clock.now().getTime() + maxRunMs > Date.parse(claimed.runDeadline);
}

/** The outcome of a run whose request another process settled while it ran: recorded, the request left as settled. */
function lateOutcome(current: RequestRecord, result: ExecutionResult, now: Date): Mutation<RequestRecord> {
  const settledAs = { status: current.status, code: current.error?.code ?? null };
  const data = { ok: result.ok, settledAs, ...(result.ok ? {} : { error: result.error ?? null }), summary: result.summary };
  return { result: current, audit: [{ type: 'request.outcome-late', time: now.toISOString(), requestId: current.id, actor: null, data }] };
}

/**
 * Runs a request this process has claimed (status executing) and records the outcome; on `runner`, a session's, when
 * given. `decision` is the policy's in force when it was claimed (whether the write keeps an undo).
 */
export async function runClaimed(deps: Deps, claimed: RequestRecord, decision: Decision, runner?: SessionRunner): Promise<RequestRecord> {
  const handle = deps.connections.get(claimed.action.connection);
  let result: ExecutionResult;
  // Set when the run was not started (too late): another process may have settled it already, and that stands.
  let unstarted = false;
  if (!handle) {
    result = { ok: false, output: null, summary: {}, error: { code: 'UNKNOWN_CONNECTION', message: 'connection is no longer configured' } };
  } else {
    const start = performance.now(); // elapsed time, not domain time: the Clock port may be frozen
    try {
      const readOnly = claimed.facts.kind === 'postgres' && claimed.facts.sql.readOnly;
      const reverting = readOnly ? undefined : await revertedUndo(deps, claimed);
      const definitionHash = claimed.facts.kind === 'mcp' ? (claimed.facts.mcp.definitionHash as string | undefined) : undefined;
      const opts: ExecuteOptions = { readOnly, ...(decision.noUndo ? { noUndo: decision.noUndo } : {}), ...(reverting ? { reverting } : {}), ...(definitionHash ? { definitionHash, waited: claimed.decision.effect === 'approve' } : {}) };
      const attributes = { 'countersign.connection': handle.info.name, 'countersign.connection_kind': handle.info.kind, 'countersign.runs_in': runner ? 'session' : 'gateway' };
      // Checked last before it runs: a run whose time bound would end past its deadline (the claim's write or the
      // read above stalled for longer than the grace) could still be going when another process settles it.
      unstarted = tooLateToStart(deps, claimed, runner?.maxRunMs ?? handle.maxRunMs);
      result = unstarted ? NOT_STARTED : await deps.tracer.span('execute', attributes, async () => {
        const r = await (runner ? runner.run(claimed.action.input, opts) : handle.execute(claimed.action.input, opts));
        deps.tracer.annotate({ 'countersign.execution.ok': r.ok });
        return r;
      }, { kind: 'client', ...(claimed.traceparent ? { link: claimed.traceparent } : {}) });
    } catch (e) {
      deps.log.error({ requestId: claimed.id, err: e }, 'executor threw');
      result = { ok: false, output: null, summary: {}, error: { code: 'INTERNAL', message: 'the executor failed unexpectedly' } };
    }
    if (!unstarted) deps.metrics.upstream(handle.info.kind, handle.info.name, (performance.now() - start) / 1000, result.ok);
  }
  // Set by the mutation (the last call of it is what was written): the request was settled before this outcome came.
  let late = false;
  // `claimed` is what this process wrote when it claimed the request: the store may write over it without reading it back.
  const record = deps.store.mutateRequest(claimed.id, (current) => {
    late = false;
    if (unstarted && current.status !== 'executing') return { result: current, audit: [] };
    const now = deps.clock.now();
    // Settled meanwhile by another process (as interrupted: its clock ran ahead of the grace, or the run outlived its
    // bound). That status stands, and nothing runs again; what the run did goes in the log beside it, not nowhere.
    if (current.status !== 'executing') {
      late = true;
      return lateOutcome(current, result, now);
    }
    const ran = transition(current, result.ok ? 'succeeded' : 'failed', now, {
      runDeadline: null,
      result: result.output,
      error: result.ok ? null : (result.error ?? { code: 'EXECUTION_FAILED', message: 'the target reported an error' }),
    });
    // The rows of an undo stay with the request for its revert; the audit log gets table, key columns and count.
    const undo = result.ok ? result.undo : undefined;
    const next: RequestRecord = undo ? { ...ran, undo } : ran;
    const time = now.toISOString();
    return {
      result: next,
      next,
      audit: [
        ...(undo ? [{ type: 'request.undo-captured', time, requestId: claimed.id, actor: null, data: undoAuditData(undo) }] : []),
        {
          type: result.ok ? 'request.succeeded' : 'request.failed',
          time,
          requestId: claimed.id,
          actor: null,
          data: { ...(result.ok ? {} : { error: result.error ?? null }), summary: result.summary },
        },
      ],
    };
  }, claimed);
  let final: RequestRecord;
  try {
    final = await record;
  } catch (e) {
    // The action ran; only its outcome is lost. A code that means "nothing ran" (AUDIT_WRITE_FAILED, STORE_UNAVAILABLE,
    // INTERNAL: retry) would have a client that acts on codes run it again, so it gets the one its request will show:
    // it stays executing, and the sweep settles it as interrupted past its deadline. What failed is in the log.
    deps.log.error({ requestId: claimed.id, err: e, code: isCountersignError(e) ? e.code : 'INTERNAL' }, 'the outcome of an action that ran could not be recorded');
    throw new CountersignError('EXECUTION_INTERRUPTED', `the gateway ran the action but could not record its outcome; do not retry it (request ${claimed.id})`, {
      requestId: claimed.id,
    });
  }
  if (late) {
    deps.log.warn({ requestId: final.id, status: final.status, ok: result.ok }, 'an action ended after its request was settled as interrupted elsewhere; its outcome is in the audit log only');
    return final;
  }
  deps.notifier.publish(final);
  deps.log.debug({ requestId: final.id, status: final.status, connection: final.action.connection }, 'action executed');
  return final;
}

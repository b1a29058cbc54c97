/**
 * Submit: every surface turns what arrives into an action and calls this.
 * Parse and derive facts, decide by policy, record the request with its audit
 * events, then run it (allow), hold it for review (approve) or refuse it (deny).
 * Under an idempotency key the principal used before, the request that key
 * made is returned instead (idempotent-replay.ts), and nothing else happens.
 */
import { OPERATION_BY_KIND, parseInput, type Action } from '../core/action.ts';
import { actionDigest } from '../core/digest.ts';
import { CountersignError, isCountersignError } from '../core/errors.ts';
import { decideTraced } from './decide.ts';
import { checkIdempotencyKey, IdempotencyKeyTaken, storedIdempotencyKey } from '../core/idempotency.ts';
import type { AuditDraft } from '../core/audit.ts';
import type { Principal } from '../core/principal.ts';
import type { RequestRecord } from '../core/request.ts';
import type { MetaCondition, SessionRunner } from '../core/ports.ts';
import type { Deps } from './deps.ts';
import { IN_FORCE_MAX_AGE_MS } from './config-in-force.ts';
import { startPreview } from './preview.ts';
import { claimApproved, runClaimed, runDeadline } from './execute.ts';
import { approveByGrant } from './grant-use.ts';
import { expireIfDue } from './expire.ts';
import { replay, type Submitted } from './idempotent-replay.ts';
import { shadowEvent } from './shadow.ts';
import { checkPendingCap } from './pending-cap.ts';
import { submittedAuditData } from './views.ts';
import { samePrincipal } from '../core/visibility.ts';
import { sessionContext } from '../core/session-shown.ts';
import { assertWellFormed } from '../core/well-formed.ts';
import { takeResumeLock } from './resume-lock.ts';
import { resumeKey, ResumeKeyTaken } from '../core/resume-key.ts';

export interface SubmitCommand {
  readonly principal: Principal;
  readonly connection: string;
  readonly input: unknown;
  readonly reason: string;
  /** Metadata of the submission (surface, client address), seen by policy as `context.request`. */
  readonly context?: Readonly<Record<string, string>>;
  /**
   * Return this principal's request for the same action (same digest) while it
   * is still pending, approved or running, instead of submitting another: an
   * agent that retries a held call resumes its request.
   */
  readonly resume?: boolean;
  /**
   * The action comes from a live client session and runs there: allowed, on
   * this runner at once; held, only when that session (or the same statement
   * sent again in another of the principal's sessions) claims it after approval.
   */
  readonly runner?: SessionRunner;
  /**
   * Decide first; only when the policy holds the action, return this
   * principal's pending or approved request for the same action in the same
   * kind of place (session or not) instead of holding another. An allowed
   * action always runs anew: two sessions sending the same read each get their own run.
   */
  readonly resumeHeld?: boolean;
  /**
   * The submitter's name for this submission (REST `Idempotency-Key`): while its request is kept, the same principal
   * submitting under it again gets that request back (the same action and reason), or IDEMPOTENCY_KEY_REUSED.
   */
  readonly idempotencyKey?: string;
}

const RESUMABLE = ['pending', 'approved', 'executing'] as const;
/** Without a candidate policy, the shadow costs one comparison and no allocation per submission. */
const NO_EVENTS: readonly AuditDraft[] = [];
/**
 * What a statement sent again in a session resumes: its held request, and one another session of the principal is
 * running (it is told so, and nothing new is recorded: a second request of one statement would ask reviewers again,
 * and run it twice if they approved that one too). One that ended is not: sending it then is a new action.
 */
const HELD = ['pending', 'approved', 'executing'] as const;
/** `context.sessionState` of a held action whose session could not show its state: matches no session's digest. */
export const UNKNOWN_STATE = 'unknown';

/**
 * @example
 * const r = await submit(deps, { principal, connection: 'orders-db', input: { sql: 'select 1' }, reason: 'check' });
 * r.status; // 'succeeded' | 'failed' | 'pending' | 'denied'
 */
export async function submit(deps: Deps, cmd: SubmitCommand): Promise<RequestRecord> {
  return (await submitOnce(deps, cmd)).request;
}

/**
 * Submit, saying whether the request is one an earlier submission under the same idempotency key made.
 *
 * @example
 * const { request, replayed } = await submitOnce(deps, { principal, connection: 'billing-api', input, reason, idempotencyKey: 'inv-7-refund' });
 */
export async function submitOnce(deps: Deps, cmd: SubmitCommand): Promise<Submitted> {
  const sent = cmd.idempotencyKey === undefined ? undefined : checkIdempotencyKey(cmd.idempotencyKey);
  // A request found by digest was made without this key, and would not be found under it again: a retry under the
  // key would then make another. No surface asks for both; refuse the pair rather than half-honour it.
  if (sent !== undefined && (cmd.resume || cmd.resumeHeld)) {
    throw new CountersignError('INVALID_REQUEST', 'an idempotency key cannot be combined with resuming a request by its digest');
  }
  // Kept per principal: another issuer's workload of the same id neither finds nor blocks it (core/idempotency.ts).
  const key = sent === undefined ? undefined : storedIdempotencyKey(sent, cmd.principal, deps.identity.principal(cmd.principal.id));
  const handle = deps.connections.get(cmd.connection);
  if (!handle) throw new CountersignError('UNKNOWN_CONNECTION', `no connection named ${JSON.stringify(cmd.connection).slice(0, 80)}`);
  const input = parseInput(handle.info.kind, cmd.input);
  // Stored, audited and shown to reviewers: a lone surrogate would read as U+FFFD on their page or card.
  assertWellFormed('reason', cmd.reason);
  const preparing = handle.prepareFacts?.(input, cmd.principal.id);
  if (preparing) await preparing;
  const facts = deps.tracer.span('facts', { 'countersign.connection': handle.info.name, 'countersign.connection_kind': handle.info.kind }, () => handle.facts(input));
  const action: Action = { connection: handle.info.name, operation: OPERATION_BY_KIND[handle.info.kind], input, reason: cmd.reason };
  const digest = actionDigest(cmd.principal, handle.info, action);
  // Held from the search for a request to resume until a new one is recorded (service/resume-lock.ts).
  const unlock = cmd.resume ? await takeResumeLock(deps, `${cmd.principal.id}\n${digest}`) : () => {};
  try {
    const session = cmd.runner !== undefined;
    const resumable = async (statuses: readonly RequestRecord['status'][]): Promise<RequestRecord | undefined> => {
      // Only its own principal's (another issuer's token with the same id is another workload: core/visibility.ts
      // samePrincipal), passing over any newer request of theirs with the same digest, which would else hide this one's
      // and turn its retry into a second request.
      const existing = await deps.store.findRequestByDigest(cmd.principal.id, digest, statuses, (r) => samePrincipal(cmd.principal, r.principal, deps.identity));
      // A session's request is resumed by a session only, and a pool-run one only outside sessions.
      if (!existing || (existing.runsIn === 'session') !== session) return undefined;
      const fresh = await expireIfDue(deps, existing);
      return (statuses as readonly string[]).includes(fresh.status) ? fresh : undefined;
    };
    if (key !== undefined) {
      const earlier = await deps.store.findRequestByIdempotencyKey(cmd.principal.id, key);
      if (earlier) return replay(deps, cmd.principal, earlier, digest, action.reason);
    }
    const fresh = (request: RequestRecord): Submitted => ({ request, replayed: false });
    const resumed = (request: RequestRecord): Submitted => ({ request, replayed: false, resumed: true });
    /** Records the request; undefined when it was, else what the submission that took its key first made. */
    // A write whose outcome is unknown (its connection lost at the commit) may have recorded it: a request the store has
    // is answered (and run, if allowed, within its deadline) as written, never as "nothing changed, retry", which would
    // have its agent submit it again and reviewers asked twice for one action.
    const record = (r: RequestRecord, audit: readonly AuditDraft[], onlyIf?: MetaCondition) =>
      guarded(() => deps.store.insertRequest(r, audit, onlyIf).catch((e: unknown) => writtenAnyway(deps, r.id, e)));
    const guarded = async (insert: () => Promise<unknown>): Promise<Submitted | undefined> => {
      try {
        await insert();
        return undefined;
      } catch (e) {
        // Another submission resuming this action (on another replica or worker: resume-lock.ts is per process) held
        // its request first: this one resumes that. One that ended meanwhile is not resumed; nothing was written.
        if (e instanceof ResumeKeyTaken) {
          const held = await resumable(HELD);
          if (held) return resumed(held);
          throw new CountersignError('STORE_BUSY', 'another submission of this action was being recorded at the same moment; nothing was recorded, retry');
        }
        if (!(e instanceof IdempotencyKeyTaken) || key === undefined) throw e;
        // Another submission under the key (a concurrent retry) recorded first: nothing of this one was written.
        const winner = await deps.store.findRequestByIdempotencyKey(cmd.principal.id, key);
        if (!winner) throw e;
        return replay(deps, cmd.principal, winner, digest, action.reason);
      }
    };
    if (cmd.resume) {
      const existing = await resumable(RESUMABLE);
      if (existing) return resumed(existing);
    }
    // Decided only under the config in force on the store (service/config-in-force.ts).
    await deps.inForce?.check(IN_FORCE_MAX_AGE_MS);
    const now = deps.clock.now();
    const context = cmd.context ?? {};
    const decision = decideTraced(deps.tracer, deps.policy(), cmd.principal, action, handle.info, facts, { time: now, request: context });
    for (const e of decision.errors) deps.metrics.policyError(e.rule);

    const at = now.toISOString();
    if (decision.effect === 'approve' && cmd.resumeHeld) {
      const existing = await resumable(HELD);
      if (existing) return resumed(existing);
    }

    // A held action that runs in a live session records what that session makes of its text, after policy decided: it
    // resumes only where the same (statement.ts); a session that cannot show it records none, and never resumes. What of
    // that state differs from a new session's goes with it, for its reviewers (core/session-shown.ts).
    const readsState = decision.effect === 'approve' && cmd.runner?.state !== undefined;
    const state = readsState ? await cmd.runner?.state?.() : undefined;
    const recorded = readsState ? { ...context, ...(state ? sessionContext(state) : {}), sessionState: state?.digest ?? UNKNOWN_STATE } : context;

    const base: RequestRecord = {
      id: deps.ids.requestId(),
      status: 'pending',
      principal: cmd.principal,
      action,
      connection: handle.info,
      facts,
      digest,
      decision,
      createdAt: at,
      updatedAt: at,
      expiresAt: null,
      reviews: [],
      context: recorded,
      result: null,
      error: null,
      ...(session ? { runsIn: 'session' as const } : {}),
      ...(key !== undefined ? { idempotencyKey: key } : {}),
      ...(handle.target !== undefined ? { connectionTarget: handle.target } : {}),
      version: 1,
    };
    deps.tracer.request(base.id);
    const submitted = { type: 'request.submitted', time: at, requestId: base.id, actor: cmd.principal.id, data: submittedAuditData(deps, base, recorded) };
    // The candidate policy, when one is configured, on the same inputs: its differences go with the request's events.
    const shadow = deps.candidate === undefined ? NO_EVENTS : [shadowEvent(deps, { principal: cmd.principal, action, connection: handle.info, facts, context: { time: now, request: context } }, decision, { requestId: base.id, time: at })].filter((e) => e !== undefined);

    if (decision.effect === 'deny') {
      const code = decision.errors.length ? 'POLICY_ERROR' : 'POLICY_DENIED';
      const denied: RequestRecord = { ...base, status: 'denied', error: { code, message: decision.message ?? 'denied by policy' } };
      const earlier = await record(denied, [
        submitted,
        {
          type: 'request.denied',
          time: at,
          requestId: base.id,
          actor: null,
          // A rule that failed to evaluate (an error, an exceeded bound) is named with why, so the log says what denied.
          data: { by: 'policy', code, ...(decision.errors.length ? { errors: decision.errors } : {}), message: denied.error?.message, rules: decision.rules },
        },
        ...shadow,
      ]);
      if (earlier) return earlier;
      deps.log.debug({ requestId: base.id, principal: cmd.principal.id, connection: action.connection, rules: decision.rules }, 'action denied by policy');
      return fresh(denied);
    }

    if (decision.effect === 'approve') {
      const expiresAt = new Date(now.getTime() + (decision.ttlSeconds ?? deps.policy().spec.defaultTtlSeconds) * 1000).toISOString();
      // Its run, after approval and maybe on another replica, links back to this trace.
      const traceparent = deps.tracer.traceparent();
      // Held by a submission that resumes by digest: one live request per action in the store, whichever process.
      const resuming = cmd.resume || cmd.resumeHeld ? { resumeKey: resumeKey(cmd.principal, deps.identity, digest, session) } : {};
      const pending: RequestRecord = { ...base, expiresAt, ...(traceparent ? { traceparent } : {}), ...resuming };
      // A scoped grant of this shape approves it instead of reviewers (one use, consumed as it is recorded).
      let granted: RequestRecord | undefined;
      const lost = await guarded(async () => (granted = await grantOrFound(deps, pending, [submitted, ...shadow], now)));
      if (lost) return lost;
      if (granted) {
        deps.notifier.publish(granted);
        return fresh(await runGranted(deps, granted));
      }
      await checkPendingCap(deps, cmd.principal);
      const earlier = await record(pending, [
        submitted,
        { type: 'request.held', time: at, requestId: base.id, actor: null, data: { approvers: decision.approvers, expiresAt } },
        ...shadow,
      ]);
      if (earlier) return earlier;
      deps.notifier.publish(pending);
      // What the write would change, for its reviewers: after the answer, never holding it up.
      startPreview(deps, pending);
      deps.log.debug({ requestId: base.id, principal: cmd.principal.id, connection: action.connection, rules: decision.rules }, 'action held for approval');
      return fresh(pending);
    }

    // One event: request.submitted already records the allow decision (rules, policy hash), and an action allowed
    // outright starts running as it is recorded. request.executing marks the start of a run after approval.
    const executing: RequestRecord = { ...base, status: 'executing', runDeadline: runDeadline(now, cmd.runner?.maxRunMs ?? handle.maxRunMs, deps.runGraceMs) };
    // Only the submission that recorded the request runs it: a retry that lost the race for its key never does. And
    // only under the config in force as the record is written, read in its own transaction: the reading checked above
    // may be a second old, and a gateway may have taken over since with a policy that denies it (refused, nothing is
    // written and nothing runs: service/config-in-force.ts).
    const earlier = await record(executing, [submitted, ...shadow], deps.inForce?.condition);
    if (earlier) return earlier;
    unlock();
    return fresh(await runClaimed(deps, executing, decision, cmd.runner));
  } finally {
    unlock();
  }
}

/**
 * Runs a request a grant just approved. Its approval is written (the grant's use spent); the claim is a second write.
 * If that one fails (the store went away between the two), the request stands approved and the sweep runs it once: the
 * agent is answered with it as it stands, to wait on like any approved request, never with a store error, whose
 * "nothing changed or ran, retry" would have it submit again and spend another use of the grant on a second run.
 */
async function runGranted(deps: Deps, granted: RequestRecord): Promise<RequestRecord> {
  let claim;
  try {
    claim = await claimApproved(deps, granted.id);
  } catch (e) {
    deps.log.error({ requestId: granted.id, err: e }, 'claiming a request a grant approved failed; it stays approved for the sweep');
    return (await deps.store.getRequest(granted.id).catch(() => undefined)) ?? granted;
  }
  return claim.claimed ? runClaimed(deps, claim.request, claim.decision) : claim.request;
}

/** Resolves when a write that failed with its outcome unknown did record request `id`; otherwise throws its failure. */
async function writtenAnyway(deps: Deps, id: string, e: unknown): Promise<void> {
  if (!isCountersignError(e, 'STORE_UNAVAILABLE')) throw e;
  if ((await deps.store.getRequest(id).catch(() => undefined)) === undefined) throw e;
  deps.log.warn({ requestId: id }, 'a request was recorded though the answer to its write was lost');
}

/**
 * approveByGrant, and when its write failed with its outcome unknown (the connection lost at COMMIT), the request as the
 * store has it: that write may have committed, spending the grant's use on a request the sweep then runs. Found, it
 * is run and answered as any the grant approved; not found, nothing was written and the failure stands.
 */
async function grantOrFound(deps: Deps, pending: RequestRecord, audit: readonly AuditDraft[], now: Date): Promise<RequestRecord | undefined> {
  try {
    return await approveByGrant(deps, pending, audit, now);
  } catch (e) {
    if (!isCountersignError(e, 'STORE_UNAVAILABLE')) throw e;
    const written = await deps.store.getRequest(pending.id).catch(() => undefined);
    if (written === undefined || written.grantedBy === undefined) throw e;
    deps.log.warn({ requestId: pending.id }, 'the write that spent a grant use committed though its answer was lost');
    return written;
  }
}

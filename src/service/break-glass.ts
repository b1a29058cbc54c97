/**
 * Break-glass: a human of a break-glass group runs a held request at once,
 * with a justification, instead of waiting for its approvals (core/break-glass.ts
 * says who may). The request goes pending → approved with the break-glass
 * recorded on it and in the audit log (`request.break_glass`), which the
 * outbox tells every channel; then the same execution path as an approval
 * claims it atomically, so it runs exactly once. Later, another human reviews
 * it after the fact (`review.after_the_fact`), through the ordinary review call.
 * On a request whose rules require a step-up, breaking the glass needs the
 * human's passkey confirmation too (break-glass-step-up.ts makes it); without
 * it the break-glass is refused STEP_UP_REQUIRED, audited, and nothing runs.
 */
import { assertMayBreakGlass, assertMayReviewAfter, breakGlassGroupsOf, checkJustification } from '../core/break-glass.ts';
import { CountersignError, isCountersignError } from '../core/errors.ts';
import type { Mutation } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import { transition, type RequestRecord } from '../core/request.ts';
import { canonicalIdentity } from '../core/principal.ts';
import { reviewerRecord, type Verdict } from '../core/review.ts';
import { requiresStepUp, stepUpRefused } from '../core/step-up.ts';
import type { Deps } from './deps.ts';
import { claimApproved, runClaimed } from './execute.ts';
import { expiredMutation, isDue } from './expire.ts';
import { maySee, notFound } from './read.ts';
import { stepUpHolds, type StepUpEvidence } from './step-up-evidence.ts';
import { withIdentity } from './views.ts';
import { withSignInNames } from './chat-reviewer.ts';
import { sideRefusal } from './side-links.ts';

export interface BreakGlassCommand {
  readonly by: Principal;
  readonly requestId: string;
  readonly justification: string;
  /** The channel it came through (`console`), kept in the audit event. */
  readonly via?: string;
  /** A verified passkey confirmation for breaking the glass (break-glass-step-up.ts): what a step-up request needs. */
  readonly stepUp?: StepUpEvidence;
}

type Outcome = { ok: true; request: RequestRecord } | { ok: false; error: CountersignError; request: RequestRecord };

/**
 * Runs a held request at once; returns it as it stands after the run (succeeded or failed), or as the
 * execution path left it (denied when the policy now denies it).
 *
 * @example
 * await breakGlass(deps, { by: oncall, requestId: 'req_…', justification: 'checkout is down; INC-4211' });
 */
export async function breakGlass(deps: Deps, given: BreakGlassCommand): Promise<RequestRecord> {
  const justification = checkJustification(given.justification);
  // Known by every name the gateway has for them, as a review is (service/chat-reviewer.ts).
  const cmd = { ...given, by: await withSignInNames(deps, given.by) };
  // Who may break the glass is the config's in force on the store, read now (service/config-in-force.ts).
  await deps.inForce?.check(0);
  // What sign-ins link to the requester side, or cannot tell the breaker apart from (side-links.ts).
  const onSide = await sideRefusal(deps, cmd.requestId, cmd.by);
  /** When the last call of the change below stamped the break-glass: what the store has if that write committed. */
  let stamped: string | undefined;
  const outcome = await deps.store.mutateRequest<Outcome>(cmd.requestId, (current): Mutation<Outcome> => {
    if (!maySee(deps, cmd.by, current)) throw notFound(cmd.requestId);
    const now = deps.clock.now();
    if (isDue(current, now)) {
      const m = expiredMutation(current, now);
      return { ...m, result: { ok: false, error: new CountersignError('REQUEST_EXPIRED', `request ${current.id} expired at ${current.expiresAt}`), request: m.result } };
    }
    if (current.status !== 'pending') {
      throw new CountersignError(current.status === 'expired' ? 'REQUEST_EXPIRED' : current.status === 'cancelled' ? 'REQUEST_CANCELLED' : 'REQUEST_ALREADY_DECIDED', `request ${current.id} is ${current.status}`, { status: current.status });
    }
    const at = now.toISOString();
    // Kept as evidence, as a refused review is.
    const refuse = (error: CountersignError): Mutation<Outcome> => ({
      result: { ok: false, error, request: current },
      audit: [{ type: 'break_glass.refused', time: at, requestId: current.id, actor: cmd.by.id, data: { by: cmd.by.id, kind: cmd.by.kind, ...withIdentity(cmd.by), code: error.code, ...(cmd.via ? { via: cmd.via } : {}) } }],
    });
    try {
      assertMayBreakGlass(current, cmd.by, deps.identity);
      if (onSide) throw new CountersignError('BREAK_GLASS_NOT_ALLOWED', `${cmd.by.id} may not break the glass on this request: ${onSide.code === 'SELF_APPROVAL_FORBIDDEN' ? 'it is their own request (or one made for them)' : onSide.message}`);
    } catch (e) {
      if (!isCountersignError(e, 'BREAK_GLASS_NOT_ALLOWED')) throw e;
      return refuse(e);
    }
    // A step-up request's glass breaks only with this human's passkey confirmation for breaking it, on this request at this digest.
    const confirmed = stepUpHolds(cmd.stepUp, 'break-glass', cmd.by.id, current.id, current.digest);
    if (requiresStepUp(current) && !confirmed) {
      const where = deps.consoleUrl?.(current.id);
      return refuse(stepUpRefused(`request ${current.id} needs a passkey confirmation to break the glass${where ? '' : ' in the console'}`, where));
    }
    stamped = at;
    const stepUp = confirmed ? { method: cmd.stepUp!.method, credentialId: cmd.stepUp!.credentialId } : undefined;
    const reviewer = reviewerRecord(cmd.by);
    const record = {
      by: cmd.by.id,
      email: cmd.by.kind === 'human' ? cmd.by.email : null,
      identity: canonicalIdentity(cmd.by),
      // What resolves them again when it runs (core/break-glass.ts breakerStands), as a review records its reviewer.
      claimedId: reviewer.claimedId ?? null,
      tokenGroups: reviewer.tokenGroups ?? [],
      ...(reviewer.providerGroups ? { providerGroups: reviewer.providerGroups } : {}),
      justification,
      at,
      groups: breakGlassGroupsOf(current, cmd.by, deps.identity),
      ...(stepUp ? { stepUp } : {}),
    };
    const next: RequestRecord = { ...transition(current, 'approved', now), breakGlass: record };
    return {
      result: { ok: true, request: next },
      next,
      audit: [
        {
          type: 'request.break_glass',
          time: at,
          requestId: current.id,
          actor: cmd.by.id,
          data: { by: cmd.by.id, ...withIdentity(cmd.by), justification, digest: current.digest, groups: current.decision.breakGlass ?? [], ...(stepUp ? { stepUp } : {}), ...(cmd.via ? { via: cmd.via } : {}) },
        },
      ],
    };
  }).catch((e: unknown) => writtenAnyway(deps, cmd.requestId, cmd.by.id, stamped, e));
  deps.notifier.publish(outcome.request);
  if (!outcome.ok) throw outcome.error;
  // A request bound to a client session runs there; any other runs now, and the caller waits for it.
  if (outcome.request.runsIn === 'session') return outcome.request;
  // The break-glass is written; the claim is a second write. If that one fails, the request stands approved and the
  // sweep runs it once: the human is answered with it as it stands, never with a store error, whose "nothing changed
  // or ran, retry" would be untrue (and its retry refused as already decided).
  let claim;
  try {
    claim = await claimApproved(deps, outcome.request.id);
  } catch (e) {
    deps.log.error({ requestId: outcome.request.id, err: e }, 'claiming a request after its break-glass failed; it stays approved for the sweep');
    return (await deps.store.getRequest(outcome.request.id).catch(() => undefined)) ?? outcome.request;
  }
  return claim.claimed ? runClaimed(deps, claim.request, claim.decision) : claim.request;
}

/**
 * The break-glass as the store has it, when its write failed with its outcome unknown (the connection lost at COMMIT)
 * and it did commit: answered and run as written, never as "nothing changed, retry" (a retry is refused as decided).
 * Otherwise the failure stands.
 */
async function writtenAnyway(deps: Deps, id: string, by: string, stamped: string | undefined, e: unknown): Promise<Outcome> {
  if (!isCountersignError(e, 'STORE_UNAVAILABLE') || stamped === undefined) throw e;
  const stored = await deps.store.getRequest(id).catch(() => undefined);
  if (stored?.breakGlass?.by !== by || stored.breakGlass.at !== stamped) throw e;
  deps.log.warn({ requestId: id }, 'a break-glass was recorded though the answer to its write was lost');
  return { ok: true, request: stored };
}

/**
 * The change a review of a break-glass request that ran makes: the after-the-fact review, recorded once on the
 * request and in the audit log. Throws the stable error when this reviewer may not give it.
 */
export function afterTheFactMutation(deps: Deps, current: RequestRecord, cmd: { reviewer: Principal; verdict: Verdict; comment: string; via?: string }): Mutation<RequestRecord> {
  assertMayReviewAfter(current, cmd.reviewer, deps.identity);
  const at = deps.clock.now().toISOString();
  const review = { by: cmd.reviewer.id, verdict: cmd.verdict, comment: cmd.comment, at };
  const next: RequestRecord = { ...current, breakGlass: { ...current.breakGlass!, review }, updatedAt: at, version: current.version + 1 };
  return {
    result: next,
    next,
    audit: [
      {
        type: 'review.after_the_fact',
        time: at,
        requestId: current.id,
        actor: cmd.reviewer.id,
        data: { reviewer: cmd.reviewer.id, ...withIdentity(cmd.reviewer), verdict: cmd.verdict, comment: cmd.comment, breakGlassBy: current.breakGlass!.by, ...(cmd.via ? { via: cmd.via } : {}) },
      },
    ],
  };
}

/**
 * What a wire client's CancelRequest does to the run of its statement
 * (wire-session.ts). A cancel is for what the session does when it arrives:
 * before the statement goes upstream (the gateway's session check), nothing
 * is sent for it; while it is upstream, the cancel goes to the backend, and
 * nothing more is written there until the server handled it (WireRelay.holdFor),
 * so a cancel on its way can never land on what the session runs next.
 */
import { CLIENT_CANCEL, type WireOutcome } from '../../../core/ports.ts';

/**
 * Whether the client cancelled (its going away is another abort reason, and cancels nothing).
 *
 * @example
 * if (cancelledByClient(plan.signal)) return CANCELLED;
 */
export function cancelledByClient(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && signal.reason === CLIENT_CANCEL;
}

const NOT_RUN = 'cancelled by the postgres client before it ran; nothing ran';

/** The outcome of a statement its client cancelled before it reached the upstream. */
export const CANCELLED: WireOutcome = { ok: false, relayed: false, output: { message: NOT_RUN }, summary: {}, error: { code: 'REQUEST_CANCELLED', message: NOT_RUN } };

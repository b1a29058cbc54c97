/**
 * Break-glass with a passkey: on a request whose rules require a step-up,
 * breaking the glass is confirmed the way an approval is (step-up.ts) — a
 * challenge of its own purpose (`break-glass`), bound to the human, the
 * request and its digest, used once within two minutes — and only then does
 * the break-glass use case run it, with that evidence. A challenge issued for
 * an approval is worth nothing here, and one issued here nothing for an
 * approval.
 */
import { assertMayBreakGlass, checkJustification } from '../core/break-glass.ts';
import { CountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import type { RequestRecord } from '../core/request.ts';
import { requiresStepUp } from '../core/step-up.ts';
import { breakGlass } from './break-glass.ts';
import type { Deps } from './deps.ts';
import { getRequest } from './read.ts';
import { mintStepUp } from './step-up-evidence.ts';
import { assertionOptions, verifyAssertion } from './step-up.ts';

/** The request as `who` may break the glass on it with a passkey, or the error that says why not. */
async function breakable(deps: Deps, who: Principal, requestId: string, digest: string): Promise<RequestRecord> {
  if (who.kind !== 'human') throw new CountersignError('BREAK_GLASS_NOT_ALLOWED', `${who.id} may not break the glass on this request: agents never do`);
  const r = await getRequest(deps, who, requestId);
  if (r.status !== 'pending') throw new CountersignError('REQUEST_ALREADY_DECIDED', `request ${r.id} is ${r.status}`, { status: r.status });
  if (!requiresStepUp(r)) throw new CountersignError('INVALID_REQUEST', `request ${r.id} needs no passkey confirmation; break the glass as usual`);
  assertMayBreakGlass(r, who, deps.identity);
  if (digest !== r.digest) throw new CountersignError('DIGEST_MISMATCH', 'the request does not have the digest you saw');
  return r;
}

/**
 * Options for `navigator.credentials.get` to break the glass on `requestId` at `digest`.
 *
 * @example
 * const options = await breakGlassOptions(deps, oncall, 'req_…', 'sha256:…');
 */
export async function breakGlassOptions(deps: Deps, who: Principal, requestId: string, digest: string): Promise<Readonly<Record<string, unknown>>> {
  const r = await breakable(deps, who, requestId, digest);
  return assertionOptions(deps, who, { human: who.id, purpose: 'break-glass', requestId: r.id, digest: r.digest });
}

export interface BreakGlassWithPasskey {
  readonly by: Principal;
  readonly requestId: string;
  readonly digest: string;
  readonly justification: string;
  /** The authenticator's answer (AuthenticationResponseJSON) as the browser sent it. */
  readonly response: unknown;
  readonly via?: string;
}

/**
 * Verifies the passkey confirmation for breaking the glass, then breaks it through the break-glass use case with
 * that evidence (which checks, again and in its transaction, who may and at which digest).
 *
 * @example
 * await breakGlassWithPasskey(deps, { by: oncall, requestId, digest, justification: 'INC-4211', response, via: 'console' });
 */
export async function breakGlassWithPasskey(deps: Deps, cmd: BreakGlassWithPasskey): Promise<RequestRecord> {
  // An agent, or a missing justification, is refused before the challenge is used up.
  if (cmd.by.kind !== 'human') throw new CountersignError('BREAK_GLASS_NOT_ALLOWED', `${cmd.by.id} may not break the glass on this request: agents never do`);
  checkJustification(cmd.justification);
  const credentialId = await verifyAssertion(deps, cmd.by, { human: cmd.by.id, purpose: 'break-glass', requestId: cmd.requestId, digest: cmd.digest }, cmd.response);
  const stepUp = mintStepUp({ method: 'webauthn', purpose: 'break-glass', credentialId, human: cmd.by.id, requestId: cmd.requestId, digest: cmd.digest });
  return breakGlass(deps, { by: cmd.by, requestId: cmd.requestId, justification: cmd.justification, stepUp, ...(cmd.via ? { via: cmd.via } : {}) });
}

/**
 * Whether the configuration in force still knows the principal that asked for a request. A request runs with the
 * gateway's credentials on that principal's word: once the principal is taken out of `principals:` (its key leaked,
 * the workload retired), made another kind, the API key it asked with is no longer one of its `apiKeys` (rotated), or
 * the issuer that minted its token is no longer configured for its kind,
 * nothing it asked for runs, however it was approved (service/execute.ts denies it REQUESTER_NOT_CONFIGURED).
 */
import type { HumanDirectory } from './human-identity.ts';
import type { Principal } from './principal.ts';

/**
 * Why the configuration in force no longer knows `requester`, or undefined when it does.
 *
 * @example
 * requesterGone(request.principal, identity); // 'deploy-bot is no longer configured' once the config drops it
 */
export function requesterGone(requester: Principal, dir: HumanDirectory): string | undefined {
  const configured = dir.principal(requester.id);
  if (configured && configured.kind !== requester.kind) return `${requester.id} is configured as ${configured.kind === 'agent' ? 'an agent' : 'a human'} now`;
  if (requester.issuer === undefined) {
    if (!configured) return `${requester.id} is no longer configured`;
    // A key taken out of the principal's apiKeys (a leaked key rotated): what it asked for does not run either.
    if (requester.keyRef !== undefined && dir.holdsKey?.(requester.id, requester.keyRef) === false) return `the API key ${requester.id} asked with is no longer one of its apiKeys (rotated or removed)`;
    return undefined;
  }
  return dir.takesTokensOf?.(requester.issuer, requester.kind) === false ? `the issuer of ${requester.id}'s token (${requester.issuer}) is no longer configured for ${requester.kind}s` : undefined;
}

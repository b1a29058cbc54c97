/**
 * The resume key of a held request: what a submission that resumes by digest
 * (an MCP call, a Postgres wire statement sent again) would find it by. The
 * store keeps at most one live request (pending, approved or running) per
 * resume key, so that of two such submissions of one action racing on two
 * replicas or worker processes, each finding none to resume, one records its
 * request and the other is refused and resumes that one: never two requests
 * for one action (reviewers asked twice, and run twice if both were approved).
 */
import { sha256Hex } from './digest.ts';
import type { HumanDirectory } from './human-identity.ts';
import type { Principal } from './principal.ts';
import { ownerKey } from './visibility.ts';

/**
 * Told apart as a retry tells its own requests apart (service/submit.ts `resumable`): the principal as samePrincipal
 * sees it (another issuer's workload of the same id is another), the digest, and whether it runs in a session.
 *
 * @example
 * resumeKey(deployBot, dir, 'sha256:9f2c…', false); // 'a1b2…' (64 hex digits)
 */
export function resumeKey(principal: Principal, dir: Pick<HumanDirectory, 'principal'>, digest: string, session: boolean): string {
  return sha256Hex(`${ownerKey(principal, dir)}\n${principal.kind}\n${digest}\n${session ? 'session' : 'pool'}`);
}

/**
 * Thrown by a store's insertRequest (and useGrant) when a live request already holds the request's resume key:
 * nothing of the insert was written, and the caller resumes the request that holds it.
 */
export class ResumeKeyTaken extends Error {
  constructor(readonly principalId: string) {
    super('this principal already has a live request of this action to resume');
    this.name = 'ResumeKeyTaken';
  }
}

/**
 * What the presets check beyond a valid signature, audience and issuer.
 *
 * GitHub Actions: a repository name can be deleted and created again by
 * someone else, so tokens are accepted only from repositories pinned by
 * numeric `repository_id` (and `repository_owner_id`, and the workflow file
 * when configured). The subject's forms are parsed for policy.
 *
 * Okta: only access tokens of a custom authorization server. An ID token is
 * proof of a login to one client, not a credential for an API (OIDC Core
 * §2); Okta's access tokens carry `cid` and `scp`, its ID tokens carry
 * `nonce`, `at_hash`, `amr` or `auth_time` instead.
 */
import type { GithubSubject } from '../../../core/principal.ts';
import type { IssuerConfig } from '../../../config/identity-schema.ts';
import { stringClaim } from './claims.ts';
import type { TokenReason } from './reasons.ts';

type GithubConfig = Extract<IssuerConfig, { preset: 'github-actions' }>;

function workflowAllowed(patterns: readonly string[], ref: string): boolean {
  return patterns.some((p) => (p.endsWith('@*') ? ref.startsWith(p.slice(0, -1)) : ref === p));
}

/** `repo:ORG/REPO:environment:NAME`, `repo:ORG/REPO:ref:refs/heads/B`, `repo:ORG/REPO:pull_request`, … */
export function parseGithubSub(sub: string): Pick<GithubSubject, 'environment' | 'ref' | 'pullRequest'> {
  const m = /^repo:[^:]+:(.*)$/.exec(sub);
  const rest = m?.[1] ?? '';
  if (rest.startsWith('environment:')) return { environment: rest.slice('environment:'.length), ref: null, pullRequest: false };
  if (rest.startsWith('ref:')) return { environment: null, ref: rest.slice('ref:'.length), pullRequest: false };
  return { environment: null, ref: null, pullRequest: rest === 'pull_request' };
}

export function checkGithub(cfg: GithubConfig, payload: Readonly<Record<string, unknown>>): { ok: true; github: GithubSubject } | { ok: false; reason: TokenReason } {
  const repositoryId = stringClaim(payload, 'repository_id');
  const ownerId = stringClaim(payload, 'repository_owner_id');
  const repository = stringClaim(payload, 'repository');
  const sub = stringClaim(payload, 'sub');
  if (!repositoryId || !ownerId || !repository || !sub) return { ok: false, reason: 'token.claim_missing' };
  const pinned = cfg.repositories.filter((r) => r.id === repositoryId && (r.ownerId === undefined || r.ownerId === ownerId));
  if (pinned.length === 0) return { ok: false, reason: 'github.repository_not_allowed' };
  const workflowRef = stringClaim(payload, 'job_workflow_ref') ?? null;
  if (!pinned.some((r) => r.workflows === undefined || (workflowRef !== null && workflowAllowed(r.workflows, workflowRef)))) {
    return { ok: false, reason: 'github.workflow_not_allowed' };
  }
  return { ok: true, github: { repository, repositoryId, ownerId, workflowRef, sub, ...parseGithubSub(sub) } };
}

const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 'amr', 'auth_time', 'idp'];

export function checkOkta(payload: Readonly<Record<string, unknown>>): { ok: true } | { ok: false; reason: TokenReason } {
  if (ID_TOKEN_CLAIMS.some((c) => Object.hasOwn(payload, c))) return { ok: false, reason: 'okta.id_token' };
  if (!Object.hasOwn(payload, 'scp') || !Object.hasOwn(payload, 'cid')) return { ok: false, reason: 'okta.not_access_token' };
  return { ok: true };
}

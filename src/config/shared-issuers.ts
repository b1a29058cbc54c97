/**
 * Token issuers that every tenant of a service shares. gitlab.com, Buildkite
 * and HCP Terraform (Terraform Cloud) each sign the workload tokens of all
 * their projects, organizations and workspaces with one issuer, and a job
 * asks for any audience it likes (GitLab's `id_tokens: aud`, `buildkite-agent
 * oidc request-token --audience`, `TFC_WORKLOAD_IDENTITY_AUDIENCE`): issuer
 * and audience say nothing about whose job it is. Only the tenant's id in the
 * token does, and an id, never a name: a deleted project's, group's or
 * organization's name can be taken again by someone else. So such an issuer
 * is taken only with `claims:` pinning one of these ids, as GitHub's preset
 * pins repositories by id and Google's issuer needs `clients:`.
 */

export interface SharedIssuer {
  readonly service: string;
  /** The claims that name the tenant by an id that is never reused; `claims:` must pin one. */
  readonly tenantIds: readonly string[];
}

const BY_HOST: Readonly<Record<string, SharedIssuer>> = {
  'gitlab.com': { service: 'gitlab.com', tenantIds: ['project_id', 'namespace_id'] },
  // The ids are optional claims a job asks for: `buildkite-agent oidc request-token --claim organization_id`.
  'agent.buildkite.com': { service: 'Buildkite', tenantIds: ['organization_id', 'pipeline_id'] },
  'app.terraform.io': { service: 'HCP Terraform', tenantIds: ['terraform_organization_id', 'terraform_project_id', 'terraform_workspace_id'] },
};

/**
 * The shared service an issuer URL belongs to, if any.
 *
 * @example
 * sharedIssuer('https://gitlab.com'); // { service: 'gitlab.com', tenantIds: ['project_id', 'namespace_id'] }
 */
export function sharedIssuer(issuer: string): SharedIssuer | undefined {
  return BY_HOST[new URL(issuer).hostname];
}

/** Whether `claims` (the issuer's pins) pins the tenant of `shared` by one of its ids. */
export function pinsTenant(shared: SharedIssuer, claims: Readonly<Record<string, readonly string[]>> | undefined): boolean {
  return shared.tenantIds.some((c) => claims?.[c] !== undefined);
}

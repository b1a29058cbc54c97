/**
 * The rows of the coverage map, from the config: every configured principal;
 * every group the config names (principals' groups, issuers' and the login's
 * groupMap targets, roles, approvers, and group literals in conditions such
 * as `"sre" in principal.groups`); every token issuer and the human sign-in.
 */
import { groupSubject, issuerSubject, principalSubject, type CoverageSubject } from '../core/policy/coverage-subjects.ts';
import type { Config } from './schema.ts';

// `"sre" in principal.groups`, and `principal.groups.exists(g, g == "sre")`.
const IN_GROUPS = /["']([^"'\\]+)["']\s+in\s+principal\.groups\b/g;
const EXISTS_GROUP = /principal\.groups\.exists(?:_one)?\(\s*(\w+)\s*,\s*\1\s*==\s*["']([^"'\\]+)["']\s*\)/g;

/** Every group name the config names, in the order first named. */
export function namedGroups(config: Config): string[] {
  const out = new Set<string>();
  for (const p of config.principals) for (const g of p.groups) out.add(g);
  for (const issuer of config.identity.issuers) for (const gs of Object.values(issuer.groupMap)) for (const g of gs) out.add(g);
  for (const gs of Object.values(config.identity.login?.groupMap ?? {})) for (const g of gs) out.add(g);
  for (const gs of Object.values(config.roles)) for (const g of gs) out.add(g);
  for (const r of config.policy.rules) {
    for (const a of r.approvers ?? []) for (const g of a.groups ?? []) out.add(g);
    for (const m of r.when.matchAll(IN_GROUPS)) out.add(m[1] as string);
    for (const m of r.when.matchAll(EXISTS_GROUP)) out.add(m[2] as string);
  }
  return [...out];
}

/**
 * @example
 * coverageSubjects(config).map((s) => s.key); // ['principal:deploy-bot', 'group:sre', 'issuer:https://token.actions.githubusercontent.com']
 */
export function coverageSubjects(config: Config): CoverageSubject[] {
  const groups = namedGroups(config);
  return [
    ...config.principals.map((p) => principalSubject({ id: p.id, kind: p.kind, actsFor: p.actsFor ?? null, groups: p.groups, email: p.email ?? null })),
    ...groups.map((g) => groupSubject(g, groups)),
    ...config.identity.issuers.map((i) => issuerSubject(i.issuer, i.principal.kind, Object.values(i.groupMap).flat())),
    ...(config.identity.login ? [issuerSubject(config.identity.login.issuer, 'human', Object.values(config.identity.login.groupMap).flat(), 'login')] : []),
  ];
}

/**
 * The rows of the coverage map: who could act. A configured principal is
 * known whole (its id, kind, groups, whom it acts for; no claims). "Any
 * member of group G" knows only that G is among the groups: its other groups
 * are sampled (none, each other group the config names, all of them, and one
 * the config never names), so a rule on the groups is certain only when it
 * gives the same on every sample. "Any principal from issuer X" knows only
 * the kind the issuer's mapping gives: its id, groups and claims come with
 * each token, so every rule that reads them is conditional.
 */
import type { Principal, PrincipalKind } from '../principal.ts';

/** The principal variable as policy sees it (variables.ts). */
export interface PrincipalSample {
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly actsFor: string | null;
  readonly groups: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
  readonly github: null;
}

export type SubjectType = 'principal' | 'group' | 'issuer';

export interface CoverageSubject {
  /** `principal:<id>`, `group:<name>`, `issuer:<iss>`: unique within a map. */
  readonly key: string;
  readonly type: SubjectType;
  readonly name: string;
  readonly label: string;
  /** Known when the row fixes it. */
  readonly kind: PrincipalKind | null;
  /** The groups a principal of the row has (principal), is sure to have (group), or may be given (issuer's groupMap). */
  readonly groups: readonly string[];
  /** The principal paths whose values the row fixes, and one sample per combination of them. */
  readonly fixed: readonly (readonly string[])[];
  readonly samples: readonly PrincipalSample[];
}

/** Values that stand for what a row leaves open: never read by a rule judged on the samples. */
const OPEN = { id: '(any)', actsFor: null, claims: {}, github: null } as const;
/** A group name no config names (`:` is not allowed in group literals people write, and the space never). */
const UNNAMED_GROUP = '(a group not named in the config)';

/**
 * @example
 * principalSubject({ id: 'deploy-bot', kind: 'agent', actsFor: null, groups: ['ci'], email: null });
 */
export function principalSubject(p: Principal): CoverageSubject {
  return {
    key: `principal:${p.id}`,
    type: 'principal',
    name: p.id,
    label: `${p.id} (${p.kind})`,
    kind: p.kind,
    groups: [...p.groups],
    fixed: [['principal']],
    samples: [{ id: p.id, kind: p.kind, actsFor: p.actsFor, groups: [...p.groups], claims: {}, github: null }],
  };
}

/**
 * @example
 * groupSubject('sre', ['sre', 'dba']); // samples: [sre], [sre, (other)], [sre, dba, (other)], [sre, dba], [dba, (other), sre] for agents and humans
 */
export function groupSubject(group: string, named: readonly string[]): CoverageSubject {
  const others = [...new Set(named)].filter((g) => g !== group);
  const sets: string[][] = [[group], [group, UNNAMED_GROUP], [group, ...others, UNNAMED_GROUP], ...others.map((o) => [group, o])];
  // The order too: G last.
  if (others.length) sets.push([...others, UNNAMED_GROUP, group]);
  const samples = (['agent', 'human'] as const).flatMap((kind) => sets.map((groups): PrincipalSample => ({ ...OPEN, kind, groups })));
  return {
    key: `group:${group}`,
    type: 'group',
    name: group,
    label: `any member of group ${group}`,
    kind: null,
    groups: [group],
    fixed: [['principal', 'kind'], ['principal', 'groups']],
    samples,
  };
}

/**
 * @example
 * issuerSubject('https://token.actions.githubusercontent.com', 'agent', []);
 */
export function issuerSubject(issuer: string, kind: PrincipalKind, groups: readonly string[], via: 'token' | 'login' = 'token'): CoverageSubject {
  return {
    key: `${via === 'login' ? 'login' : 'issuer'}:${issuer}`,
    type: 'issuer',
    name: issuer,
    label: via === 'login' ? `any human signed in through ${issuer}` : `any ${kind} from issuer ${issuer}`,
    kind,
    groups: [...new Set(groups)],
    fixed: [['principal', 'kind']],
    samples: [{ ...OPEN, kind, groups: [] }],
  };
}

/**
 * The coverage map of the policy in force, over the configured connections:
 * who can do what, on which connection, with no human in the loop
 * (core/policy/coverage.ts). Nothing is stored, run or connected to. Over
 * the API and in the console it is a governance view: auditors and admins only.
 */
import { coverageMap, type CoverageMap } from '../core/policy/coverage.ts';
import type { CoverageConnection } from '../core/policy/coverage-classes.ts';
import type { CoverageSubject } from '../core/policy/coverage-subjects.ts';
import type { CompiledPolicy } from '../core/policy/compile.ts';
import type { Principal } from '../core/principal.ts';
import { AUDIT_READERS, requireRole } from '../core/roles.ts';
import type { Deps } from './deps.ts';

/** An exec connection's command as policy sees it (facts.exec.command): from the connection's own facts. */
function coverageConnections(connections: Deps['connections']): CoverageConnection[] {
  return connections.list().map((info) => {
    if (info.kind !== 'exec') return { info };
    const handle = connections.get(info.name);
    return { info, command: handle ? handle.facts({ args: [] }).exec.command : '' };
  });
}

/**
 * @example
 * policyCoverage(deps, coverageSubjects(config)).unreviewedProd; // 0
 */
export function policyCoverage(deps: Pick<Deps, 'policy' | 'connections'>, subjects: readonly CoverageSubject[]): CoverageMap {
  return coverageMap(deps.policy(), subjects, coverageConnections(deps.connections));
}

/**
 * The map for a caller who may see it (ROLE_REQUIRED otherwise: agents never), computed once per policy in force.
 *
 * @example
 * const read = coverageReader(deps, subjects);
 * read(alice).cells.length;
 */
export function coverageReader(deps: Pick<Deps, 'policy' | 'connections' | 'identity'>, subjects: readonly CoverageSubject[]): (caller: Principal) => CoverageMap {
  let cached: { policy: CompiledPolicy; map: CoverageMap } | undefined;
  return (caller) => {
    requireRole(deps.identity.roles(caller), AUDIT_READERS, 'the coverage map');
    const policy = deps.policy();
    if (cached?.policy !== policy) cached = { policy, map: policyCoverage(deps, subjects) };
    return cached.map;
  };
}

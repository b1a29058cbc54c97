/**
 * The coverage map of the policy in force, over the configured connections:
 * who can do what, on which connection, with no human in the loop
 * (core/policy/coverage.ts). Nothing is stored, run or connected to.
 */
import { coverageMap, type CoverageMap } from '../core/policy/coverage.ts';
import type { CoverageConnection } from '../core/policy/coverage-classes.ts';
import type { CoverageSubject } from '../core/policy/coverage-subjects.ts';
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

import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { POLICY_VARIABLES } from './compile.ts';
import { conditionPaths } from './paths.ts';

const env = new Environment({ homogeneousAggregateLiterals: false });
for (const name of POLICY_VARIABLES) env.registerVariable(name, 'map');
const paths = (cel: string) => conditionPaths(env.parse(cel).ast, new Set(POLICY_VARIABLES));

describe('conditionPaths', () => {
  it('follows fields and literal indexes to the variable they start from', () => {
    expect(paths('facts.mcp.tool == "x" && principal.groups.exists(g, g == "sre")')).toEqual([
      ['facts', 'mcp', 'tool'],
      ['principal', 'groups'],
    ]);
    expect(paths('facts["mcp"].arguments.exists(k, k == "a")')).toEqual([['facts', 'mcp', 'arguments']]);
    expect(paths('has(facts.mcp.arguments.path)')).toEqual([['facts', 'mcp', 'arguments', 'path']]);
  });

  it('ends a path at a computed index, and reads the index too', () => {
    expect(paths('facts.mcp.annotations[principal.id] == true')).toEqual([
      ['facts', 'mcp', 'annotations'],
      ['principal', 'id'],
    ]);
    expect(paths('facts[principal.id].x == 1')).toEqual([['facts'], ['principal', 'id']]);
  });

  it('counts a variable used whole, in maps, lists, conditionals and as a comprehension variable', () => {
    expect(paths('size(facts) > 0')).toEqual([['facts']]);
    expect(paths('{"a": facts.kind}.a == "x" ? principal.id : context.time')).toEqual([['facts', 'kind'], ['principal', 'id'], ['context', 'time']]);
    expect(paths('[1, action.reason].size() > 1')).toEqual([['action', 'reason']]);
    expect(paths('[1, 2].exists(facts, facts > 1)')).toEqual([['facts'], ['facts']]);
  });
});

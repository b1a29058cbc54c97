/**
 * What a condition reads: every path from a policy variable that its CEL
 * reaches (`facts.mcp.annotations.readOnlyHint` → ["facts", "mcp",
 * "annotations", "readOnlyHint"]). A path ends where a computed index
 * starts (`facts[k]` reads ["facts"], all of it), and a variable used whole
 * (`has(facts)`, passed to a function) is a path of one. So a condition
 * whose paths all lie under some prefixes reads nothing outside them.
 */
import type { ASTNode } from '@marcbachmann/cel-js';

type Node = { op: string; args: unknown };

const isNode = (x: unknown): x is Node => typeof x === 'object' && x !== null && 'op' in x && 'args' in x;

/** The path of a chain of `.field` and `["literal"]` ending at a policy variable, else null. */
function chainPath(node: Node, roots: ReadonlySet<string>): { path: string[]; rest: Node[] } | null {
  const path: string[] = [];
  const rest: Node[] = [];
  let at: Node = node;
  for (;;) {
    if (at.op === 'id') {
      return typeof at.args === 'string' && roots.has(at.args) ? { path: [at.args, ...path], rest } : null;
    }
    const [object, key] = at.args as [unknown, unknown];
    if (!isNode(object)) return null;
    if (at.op === '.' && typeof key === 'string') {
      path.unshift(key);
    } else if (at.op === '[]' && isNode(key) && key.op === 'value' && typeof key.args === 'string') {
      path.unshift(key.args);
    } else if (at.op === '[]' && isNode(key)) {
      // A computed index: what lies below the object is read, whichever key it turns out to be.
      path.length = 0;
      rest.push(key);
    } else {
      return null;
    }
    at = object;
  }
}

/**
 * @example
 * conditionPaths(env.parse('facts.mcp.tool == "x" && principal.groups.exists(g, g == "sre")').ast, new Set(['facts', 'principal']));
 * // [["facts", "mcp", "tool"], ["principal", "groups"]]
 */
export function conditionPaths(ast: ASTNode, roots: ReadonlySet<string>): string[][] {
  const paths: string[][] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) visit(y);
      return;
    }
    if (!isNode(x) || x.op === 'value') return;
    if (x.op === '.' || x.op === '[]' || x.op === 'id') {
      const chain = chainPath(x, roots);
      if (chain) {
        paths.push(chain.path);
        for (const r of chain.rest) visit(r);
        return;
      }
    }
    visit(x.args);
  };
  visit(ast);
  return paths;
}

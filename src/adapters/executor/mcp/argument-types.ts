/**
 * Arguments of a JSON type the tool does not declare. Upstreams that convert
 * types read them as another value than policy judges: the Python SDK's
 * FastMCP validates arguments with pydantic, whose lax mode takes `"true"`,
 * `1` or `"yes"` for the boolean `True` and `"3"` for the integer 3, while a
 * rule `facts.mcp.arguments.force == true` does not match `"true"`. Only the
 * `type` the inputSchema gives a property (directly, or in every branch of an
 * `anyOf`/`oneOf`, as pydantic writes `Optional[int]`) is checked, through
 * `properties` (by name, or in any case as policy reads names) and `items`;
 * anything else is the upstream's to validate. (Jackson, the JSON of Java
 * servers, converts scalars by default too.)
 */

import { foldKey } from '../../../core/json-keys.ts';

type Schema = Readonly<Record<string, unknown>>;

function isSchema(v: unknown): v is Schema {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The JSON types a schema allows by its `type`, or undefined when it does not say (no check). */
function typesOf(schema: Schema): ReadonlySet<string> | undefined {
  const own = schema['type'];
  if (typeof own === 'string') return new Set([own]);
  if (Array.isArray(own) && own.every((t) => typeof t === 'string')) return new Set(own as string[]);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches) || branches.length === 0) continue;
    const all = new Set<string>();
    for (const b of branches) {
      const types = isSchema(b) ? typesOf(b) : undefined;
      if (!types) return undefined;
      for (const t of types) all.add(t);
    }
    return all;
  }
  return undefined;
}

/** The JSON type of a value as JSON Schema names it; an integral number is both `integer` and `number`. */
function fits(value: unknown, types: ReadonlySet<string>): boolean {
  if (value === null) return types.has('null');
  if (Array.isArray(value)) return types.has('array');
  switch (typeof value) {
    case 'boolean':
      return types.has('boolean');
    case 'string':
      return types.has('string');
    case 'number':
      return types.has('number') || (types.has('integer') && Number.isInteger(value));
    case 'object':
      return types.has('object');
    default:
      return false;
  }
}

const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * The first argument whose JSON type its schema does not allow, with what it is and what the schema says; or null.
 * Walks with its own stack (the arguments' depth is bounded before facts: core/json-depth.ts).
 *
 * @example
 * argumentTypeMismatch({ type: 'object', properties: { force: { type: 'boolean' } } }, { force: 'true' });
 * // { path: 'arguments.force', is: 'string', declared: ['boolean'] }
 */
export function argumentTypeMismatch(inputSchema: Schema, args: Readonly<Record<string, unknown>>): { path: string; is: string; declared: string[] } | null {
  const stack: [unknown, Schema, string][] = [[args, inputSchema, 'arguments']];
  while (stack.length) {
    const [value, schema, path] = stack.pop()!;
    const types = typesOf(schema);
    if (types && !fits(value, types)) return { path, is: jsonType(value), declared: [...types] };
    if (isSchema(value) && isSchema(schema['properties'])) {
      const properties = schema['properties'];
      // By its exact name, else as a reader that matches names in any case finds it (Go, .NET, Jackson so set up).
      let folded: Map<string, unknown> | undefined;
      for (const [k, v] of Object.entries(value)) {
        folded ??= new Map(Object.entries(properties).map(([name, child]) => [foldKey(name), child]));
        const child = Object.hasOwn(properties, k) ? properties[k] : folded.get(foldKey(k));
        if (isSchema(child)) stack.push([v, child, `${path}.${k}`]);
      }
    } else if (Array.isArray(value) && isSchema(schema['items'])) {
      const items = schema['items'];
      value.forEach((v, i) => stack.push([v, items, `${path}[${i}]`]));
    }
  }
  return null;
}

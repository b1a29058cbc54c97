/**
 * Arguments of a JSON type the tool does not declare. Upstreams that convert
 * types read them as another value than policy judges: the Python SDK's
 * FastMCP validates arguments with pydantic, whose lax mode takes `"true"`,
 * `1` or `"yes"` for the boolean `True` and `"3"` for the integer 3, while a
 * rule `facts.mcp.arguments.force == true` does not match `"true"`. Only the
 * `type` the inputSchema gives a property (directly, or in every branch of an
 * `anyOf`/`oneOf`, as pydantic writes `Optional[int]`) is checked, through
 * `properties` (by name, or in any case as policy reads names),
 * `additionalProperties` (pydantic's `dict[str, bool]`), `items`,
 * `prefixItems` (its `tuple[str, bool]`; and the older array form of `items`)
 * local `$ref`s (`#/$defs/…`, pydantic's nested models) and every branch of an
 * `allOf` (pydantic 1's `{"allOf": [{"$ref": …}]}`), and through the
 * one branch of an `anyOf`/`oneOf` that describes an object or an array
 * (`Optional[dict[str, int]]`, `Optional[list[bool]]`);
 * anything else is the upstream's to validate. (Jackson, the JSON of Java
 * servers, converts scalars by default too.)
 */

import { foldKey } from '../../../core/json-keys.ts';

type Schema = Readonly<Record<string, unknown>>;

function isSchema(v: unknown): v is Schema {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The JSON types a schema allows by its `type`, or undefined when it does not say (no check). */
function typesOf(root: Schema, schema: Schema): ReadonlySet<string> | undefined {
  const own = schema['type'];
  if (typeof own === 'string') return new Set([own]);
  if (Array.isArray(own) && own.every((t) => typeof t === 'string')) return new Set(own as string[]);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches) || branches.length === 0) continue;
    const all = new Set<string>();
    for (const b of branches) {
      const types = isSchema(b) ? typesOf(root, local(root, b)) : undefined;
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

/** Hops of `$ref` followed to one schema: a chain longer than this is the upstream's to validate. */
const MAX_REF_HOPS = 32;

/**
 * A schema with its local `$ref` followed (`#/$defs/Opts`, as pydantic writes a nested model), or as it is. A
 * reference elsewhere, or one that names nothing, leaves it as it is: nothing more is checked there.
 */
function local(root: Schema, schema: Schema): Schema {
  let at = schema;
  for (let hops = 0; hops < MAX_REF_HOPS; hops++) {
    const ref = at['$ref'];
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return at;
    let next: unknown = root;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      next = isSchema(next) && Object.hasOwn(next, key) ? next[key] : undefined;
    }
    if (!isSchema(next)) return at;
    at = next;
  }
  return at;
}

/** Whether a schema says what the members of an object (`properties`, `additionalProperties`) or an array (`items`, `prefixItems`) are. */
function shapes(schema: Schema, array: boolean): boolean {
  return array ? isSchema(schema['items']) || Array.isArray(schema['items']) || Array.isArray(schema['prefixItems']) : isSchema(schema['properties']) || isSchema(schema['additionalProperties']);
}

/**
 * The only branch of an `anyOf`/`oneOf` that says what an object's (or an array's) members are, its `$ref` followed;
 * else the schema as it is.
 */
function shapedBranch(root: Schema, schema: Schema, array: boolean): Schema {
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches)) continue;
    const shaped = branches.map((b) => (isSchema(b) ? local(root, b) : undefined)).filter((b): b is Schema => b !== undefined && shapes(b, array));
    if (shaped.length === 1) return shaped[0]!;
  }
  return schema;
}

/**
 * The schema of item `i` of an array: JSON Schema 2020-12's `prefixItems` (pydantic's tuples), then `items` for the
 * rest; in the older form, an array of `items` for the first ones, then `additionalItems`.
 */
function itemSchema(schema: Schema, i: number): unknown {
  const prefix = Array.isArray(schema['prefixItems']) ? schema['prefixItems'] : Array.isArray(schema['items']) ? schema['items'] : undefined;
  if (prefix === undefined) return schema['items'];
  if (i < prefix.length) return prefix[i];
  return Array.isArray(schema['prefixItems']) ? schema['items'] : schema['additionalItems'];
}

// Once per properties object of a schema (which stays as listed), however many arguments are read by it.
const FOLDED = new WeakMap<Schema, ReadonlyMap<string, { readonly name: string; readonly child: unknown }>>();
function foldedNames(properties: Schema): ReadonlyMap<string, { readonly name: string; readonly child: unknown }> {
  let names = FOLDED.get(properties);
  if (!names) FOLDED.set(properties, (names = new Map(Object.entries(properties).map(([name, child]) => [foldKey(name), { name, child }]))));
  return names;
}

const NO_PROPERTIES: Schema = Object.freeze({});

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
  const found = walk(inputSchema, args, 'type');
  return found && 'is' in found ? found : null;
}

/**
 * The first argument named as the schema declares a property but in another case (`DRYRUN` for `dryRun`), at any
 * depth the schema describes, with the name it declares; or null. Policy reads names folded (as Go and .NET bind
 * them), while the official SDKs' servers (zod, pydantic) match names exactly and drop one they do not declare: the
 * tool would run with the parameter at its default, which policy never judged.
 *
 * @example
 * argumentNameInOtherCase({ type: 'object', properties: { dryRun: { type: 'boolean' } } }, { DRYRUN: true });
 * // { path: 'arguments.DRYRUN', declared: 'dryRun' }
 */
export function argumentNameInOtherCase(inputSchema: Schema, args: Readonly<Record<string, unknown>>): { path: string; declared: string } | null {
  const found = walk(inputSchema, args, 'name');
  return found && !('is' in found) ? found : null;
}

/** The first argument of the kind asked for (a type the schema does not allow, or a declared name in another case). */
function walk(inputSchema: Schema, args: Readonly<Record<string, unknown>>, kind: 'type' | 'name'): { path: string; is: string; declared: string[] } | { path: string; declared: string } | null {
  const stack: [unknown, Schema, string][] = [[args, inputSchema, 'arguments']];
  // The schemas each value (by its path) was read by: an `allOf` that refers back to itself is read once.
  const seen = new Map<Schema, Set<string>>();
  while (stack.length) {
    const [value, at, path] = stack.pop()!;
    const schema = local(inputSchema, at);
    const paths = seen.get(schema) ?? new Set<string>();
    if (paths.has(path)) continue;
    seen.set(schema, paths.add(path));
    const types = typesOf(inputSchema, schema);
    if (kind === 'type' && types && !fits(value, types)) return { path, is: jsonType(value), declared: [...types] };
    // Every branch of an allOf holds of the value: pydantic 1 (and other generators) write a nested model with a
    // description as `{"allOf": [{"$ref": "#/$defs/Opts"}], "description": …}`.
    if (Array.isArray(schema['allOf'])) for (const b of schema['allOf']) if (isSchema(b)) stack.push([value, b, path]);
    // Optional[Model], Optional[list[bool]]: the one branch of an anyOf/oneOf that describes an object (an array) is
    // the schema its value is read by.
    const array = Array.isArray(value);
    const shaped = (isSchema(value) || array) && !shapes(schema, array) ? shapedBranch(inputSchema, schema, array) : schema;
    if (isSchema(value)) {
      const properties = isSchema(shaped['properties']) ? shaped['properties'] : NO_PROPERTIES;
      const rest = shaped['additionalProperties'];
      // By its exact name, else as a reader that matches names in any case finds it (Go, .NET, Jackson so set up);
      // a name the schema does not list is read by its additionalProperties (pydantic's dict[str, bool]).
      for (const [k, v] of Object.entries(value)) {
        const folded = Object.hasOwn(properties, k) ? undefined : foldedNames(properties).get(foldKey(k));
        if (kind === 'name' && folded !== undefined) return { path: `${path}.${k}`, declared: folded.name };
        const child = Object.hasOwn(properties, k) ? properties[k] : (folded?.child ?? rest);
        if (isSchema(child)) stack.push([v, child, `${path}.${k}`]);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        const item = itemSchema(shaped, i);
        if (isSchema(item)) stack.push([v, item, `${path}[${i}]`]);
      });
    }
  }
  return null;
}

// Python's json.loads reads these bare tokens as floats (JSON.parse does not): `[NaN, "x"]` is a list to it.
const PYTHON_JSON_TOKENS = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g;

/** Whether Python's json.loads reads the text as a list, an object or null (what FastMCP's pre-parse replaces a string by). */
function readsAsJsonValue(text: string): boolean {
  const first = text.replace(/^[ \t\n\r]+/, '')[0];
  if (first !== '[' && first !== '{' && first !== 'n') return false;
  for (const candidate of [text, text.replace(PYTHON_JSON_TOKENS, (whole, token: string | undefined) => (token === undefined ? whole : '0'))]) {
    try {
      const value = JSON.parse(candidate) as unknown;
      return value === null || typeof value === 'object';
    } catch {
      // Not JSON as written: tried once more with Python's float tokens.
    }
  }
  return false;
}

/**
 * Whether a tool's schema says an argument is a plain string, which FastMCP leaves as it is. FastMCP lists a
 * parameter with no annotation (read as anything) as `{"title": <its name>, "type": "string"}`, a title pydantic
 * never writes (it capitalises: `Path`), so that schema is not taken for a plain string.
 */
function plainString(root: Schema, name: string, schema: Schema): boolean {
  const at = local(root, schema);
  const types = typesOf(root, at);
  return types !== undefined && types.size === 1 && types.has('string') && at['title'] !== name;
}

/**
 * The first top-level argument given as a string that an upstream reads as the JSON it holds: the Python SDK's
 * FastMCP (`FuncMetadata.pre_parse_json`) replaces the string of every parameter not annotated plain `str` by what
 * `json.loads` reads in it when that is a list, an object or null. Policy would judge the text (`"[\"/srv/\\u0073ecrets\"]"`
 * holds no `secrets`; `"null"` is a value), the tool act on the value. Arguments the tool declares plain strings, and
 * names it does not list (FastMCP ignores them), keep any text. Null when there is none.
 *
 * @example
 * jsonTextArgument({ type: 'object', properties: { paths: { anyOf: [{ type: 'string' }, { type: 'array' }] } } }, { paths: '["/a"]' });
 * // 'arguments.paths'
 */
export function jsonTextArgument(inputSchema: Schema, args: Readonly<Record<string, unknown>>): string | null {
  const properties = isSchema(inputSchema['properties']) ? inputSchema['properties'] : NO_PROPERTIES;
  for (const [k, v] of Object.entries(args)) {
    const schema = Object.hasOwn(properties, k) ? properties[k] : undefined;
    if (typeof v !== 'string' || !isSchema(schema) || plainString(inputSchema, k, schema)) continue;
    if (readsAsJsonValue(v)) return `arguments.${k}`;
  }
  return null;
}

/**
 * The operation classes of the coverage map: for each connection kind, the
 * kinds of thing an action on it can do (a SQL write, an HTTP DELETE, a
 * destructive MCP tool, a command). A class fixes some facts — the same for
 * every action in it — and leaves the rest to the action (tables, paths,
 * arguments). Where a fixed fact may take several values within the class
 * (a write may or may not also be DDL), the class lists a sample for each
 * combination, so a rule that reads it is judged on all of them. The
 * classes of one kind together cover every action of that kind.
 */
import type { ConnectionInfo, ConnectionKind } from '../connection.ts';
import { EMPTY_EXEC_FACTS, EMPTY_HTTP_FACTS, EMPTY_MCP_FACTS, EMPTY_SQL_FACTS, makeFacts, type Facts, type McpAnnotationFacts, type SqlFacts } from '../facts.ts';

export interface OperationClass {
  /** Stable id within its kind: `write`, `DELETE`, `destructive`, `run`. */
  readonly id: string;
  readonly label: string;
  /** Whether an action of this class may change something (what the prod gate looks at). */
  readonly writes: boolean;
  /** The facts paths every action of the class shares values on (besides facts.kind and the other kinds' empty sections). */
  readonly fixed: readonly (readonly string[])[];
  /** One facts value per combination of the fixed values the class admits. */
  readonly samples: readonly Facts[];
}

/** What the map needs of a connection: what the core knows, and an exec connection's command (facts.exec.command). */
export interface CoverageConnection {
  readonly info: ConnectionInfo;
  readonly command?: string;
}

const BOOLS = [false, true] as const;

/** The sections of the other kinds are the empty ones on every action: fixed. */
function otherSections(kind: ConnectionKind): string[][] {
  const all: Record<ConnectionKind, string> = { postgres: 'sql', http: 'http', exec: 'exec', mcp: 'mcp' };
  return (Object.keys(all) as ConnectionKind[]).filter((k) => k !== kind).map((k) => ['facts', all[k]]);
}

function sqlSamples(filter: (f: SqlFacts) => boolean): Facts[] {
  const out: Facts[] = [];
  for (const readOnly of BOOLS)
    for (const ddl of BOOLS)
      for (const privilege of BOOLS)
        for (const unboundedWrite of BOOLS) {
          // A read-only statement is none of the others (facts.ts: readOnly only when every statement reads).
          if (readOnly && (ddl || privilege || unboundedWrite)) continue;
          const sql: SqlFacts = { ...EMPTY_SQL_FACTS, readOnly, writes: !readOnly, ddl, privilege, unboundedWrite };
          if (filter(sql)) out.push(makeFacts('postgres', { writes: !readOnly, sql }));
        }
  return out;
}

const SQL_FIXED = [['facts', 'writes'], ...['readOnly', 'writes', 'ddl', 'privilege', 'unboundedWrite'].map((f) => ['facts', 'sql', f])];

const SQL_CLASSES: readonly OperationClass[] = [
  { id: 'read', label: 'read (read-only statements)', writes: false, fixed: SQL_FIXED, samples: sqlSamples((s) => s.readOnly) },
  // Statement types are not fixed: a write and a delete share every fixed fact and differ only in facts.sql.statements.
  { id: 'write', label: 'write (insert, update, merge, any statement not proven read-only)', writes: true, fixed: SQL_FIXED, samples: sqlSamples((s) => s.writes) },
  { id: 'delete', label: 'delete', writes: true, fixed: SQL_FIXED, samples: sqlSamples((s) => s.writes) },
  { id: 'ddl', label: 'DDL (create, alter, drop, truncate)', writes: true, fixed: SQL_FIXED, samples: sqlSamples((s) => s.ddl) },
  { id: 'privilege', label: 'privilege (grant, revoke, roles)', writes: true, fixed: SQL_FIXED, samples: sqlSamples((s) => s.privilege) },
  { id: 'unbounded-write', label: 'unbounded write (update or delete without WHERE)', writes: true, fixed: SQL_FIXED, samples: sqlSamples((s) => s.unboundedWrite) },
];

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function httpClass(method: string): OperationClass {
  const writes = !SAFE_METHODS.has(method);
  return {
    id: method,
    label: method,
    writes,
    fixed: [['facts', 'writes'], ['facts', 'http', 'method']],
    samples: [makeFacts('http', { writes, http: { ...EMPTY_HTTP_FACTS, method } })],
  };
}

const HTTP_CLASSES: readonly OperationClass[] = [
  ...['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'].map(httpClass),
  // Any other method the input admits (PROPFIND, PURGE, …): the method is not fixed, and it counts as a write.
  { id: 'other', label: 'any other method', writes: true, fixed: [['facts', 'writes']], samples: [makeFacts('http', { writes: true, http: { ...EMPTY_HTTP_FACTS, method: 'PROPFIND' } })] },
];

type Hints = Pick<McpAnnotationFacts, 'readOnlyHint' | 'destructiveHint'>;

function mcpSamples(hints: readonly Hints[], toolChanged: readonly boolean[]): Facts[] {
  const out: Facts[] = [];
  for (const h of hints)
    for (const idempotentHint of BOOLS)
      for (const openWorldHint of BOOLS)
        for (const changed of toolChanged) {
          const annotations = { ...h, idempotentHint, openWorldHint };
          out.push(makeFacts('mcp', { writes: !h.readOnlyHint, mcp: { ...EMPTY_MCP_FACTS, annotations, toolChanged: changed } }));
        }
  return out;
}

const MCP_FIXED = [['facts', 'writes'], ['facts', 'mcp', 'annotations'], ['facts', 'mcp', 'toolChanged']];
const READ_ONLY: Hints = { readOnlyHint: true, destructiveHint: false };
const WRITE: Hints = { readOnlyHint: false, destructiveHint: false };
const DESTRUCTIVE: Hints = { readOnlyHint: false, destructiveHint: true };

const MCP_CLASSES: readonly OperationClass[] = [
  { id: 'read-only', label: 'read-only tools', writes: false, fixed: MCP_FIXED, samples: mcpSamples([READ_ONLY], [false]) },
  { id: 'write', label: 'non-destructive write tools', writes: true, fixed: MCP_FIXED, samples: mcpSamples([WRITE], [false]) },
  { id: 'destructive', label: 'destructive tools', writes: true, fixed: MCP_FIXED, samples: mcpSamples([DESTRUCTIVE], [false]) },
  // A tool whose definition changed since it was pinned, whatever it now claims to be.
  { id: 'changed', label: 'tools whose definition changed', writes: true, fixed: MCP_FIXED, samples: mcpSamples([READ_ONLY, WRITE, DESTRUCTIVE], [true]) },
];

function execClasses(command: string): OperationClass[] {
  // The config lists no sub-commands: one class, the command with any arguments.
  return [
    {
      id: 'run',
      label: `${command} with any arguments`,
      writes: true,
      fixed: [['facts', 'writes'], ['facts', 'exec', 'command']],
      samples: [makeFacts('exec', { writes: true, exec: { ...EMPTY_EXEC_FACTS, command } })],
    },
  ];
}

/**
 * The classes of one connection, each with the fixed paths of the kind added.
 *
 * @example
 * operationClasses({ info: { name: 'orders-db', kind: 'postgres', tags: {} } }).map((c) => c.id); // ['read', 'write', 'delete', 'ddl', 'privilege', 'unbounded-write']
 */
export function operationClasses(conn: CoverageConnection): OperationClass[] {
  const kind = conn.info.kind;
  const base = kind === 'postgres' ? SQL_CLASSES : kind === 'http' ? HTTP_CLASSES : kind === 'mcp' ? MCP_CLASSES : execClasses(conn.command ?? '');
  return base.map((c) => ({ ...c, fixed: [['facts', 'kind'], ...otherSections(kind), ...c.fixed] }));
}

/**
 * Whether a connection is tagged as production: the tag `env` or `environment` (either in any case) with the value
 * `prod`, `production` or `live` (any case), or a list holding one of them. The one definition: what a reviewer is
 * warned of as production (review-brief.ts) is what the coverage gate counts.
 *
 * @example
 * isProdConnection({ name: 'db', kind: 'postgres', tags: { env: ['prod', 'eu'] } }); // true
 * isProdConnection({ name: 'db', kind: 'postgres', tags: { environment: 'Production' } }); // true
 */
export function isProdConnection(info: Pick<ConnectionInfo, 'tags'>): boolean {
  const prod = (v: unknown) => typeof v === 'string' && /^(prod|production|live)$/i.test(v.trim());
  return Object.entries(info.tags).some(([k, v]) => /^(env|environment)$/i.test(k) && (Array.isArray(v) ? v.some(prod) : prod(v)));
}

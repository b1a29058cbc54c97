/**
 * The `connections:` section: what each kind of upstream (http, exec, postgres, mcp) takes, and what the gateway
 * refuses in it at load (credentials in places it would not send, shapes it would misread).
 */
import { z } from 'zod';
import { undoSchema } from './undo-schema.ts';
import { sessionCheckCacheSchema } from './session-check-cache-schema.ts';
import { hasUserInfo, id } from './primitives.ts';
import { approverSchema } from './policy-schema.ts';

const tagValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);
const tags = z.record(z.string().min(1), tagValue).default({});
const connectionName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a name of lower-case letters, digits, - and _');

/** The parts of a URL an http connection never sends (it calls the origin and path only): a credential there would be silently lost. */
function unsentParts(u: string): boolean {
  try {
    const url = new URL(u);
    return url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || /[?#]/.test(u);
  } catch {
    return false;
  }
}

const httpConnection = z.strictObject({
  name: connectionName,
  kind: z.literal('http'),
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'an http:// or https:// URL')
    .refine((u) => !unsentParts(u), 'credentials go in headers: a user, password, query or fragment in the url is never sent'),
  headers: z.record(z.string(), z.string()).default({}),
  tags,
  timeoutMs: z.number().int().positive().default(30_000),
  /**
   * How the upstream reads paths: `caseInsensitive` makes policy judge (and the upstream get) the path in lower case;
   * `keepTrailingSlash` sends the agent's trailing slash, which policy does not see (off: the upstream gets exactly what policy judged).
   */
  paths: z.strictObject({ caseInsensitive: z.boolean().default(false), keepTrailingSlash: z.boolean().default(false) }).default({ caseInsensitive: false, keepTrailingSlash: false }),
  /**
   * Agent-supplied parts the gateway otherwise drops (client-address headers
   * such as X-Forwarded-For) or refuses (method-override query parameters
   * such as _method), which this upstream may have.
   */
  allow: z
    .strictObject({
      headers: z.array(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name')).default([]),
      query: z.array(z.string().min(1)).default([]),
    })
    .default({ headers: [], query: [] }),
});

const execConnection = z.strictObject({
  name: connectionName,
  kind: z.literal('exec'),
  command: z.string().startsWith('/', 'an absolute path to one binary (argv only, never a shell)'),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  tags,
  timeoutMs: z.number().int().positive().default(60_000),
});

const postgresConnection = z.strictObject({
  name: connectionName,
  kind: z.literal('postgres'),
  url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
  tags,
  statementTimeoutMs: z.number().int().positive().default(30_000),
  /** Columns whose values the audit log keeps only as HMAC: `password` (any table) or `users.password`. */
  secretColumns: z.array(z.string().regex(/^[a-z_][a-z0-9_$]*(\.[a-z_][a-z0-9_$]*)?$/i, 'column or table.column').transform((s) => s.toLowerCase())).default([]),
  maxRows: z.number().int().positive().default(1000),
  /**
   * Functions of this database a read-only statement may call besides the built-in allow-list, schema-qualified as
   * facts.sql.functions names them (`public.report_totals`): only functions known to have no effect.
   */
  readOnlyFunctions: z
    .array(z.string().regex(/^[a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*$/, 'schema.function, lower-case, as facts.sql.functions names it (e.g. public.report_totals)'))
    .default([]),
  /** Sessions the gateway keeps open to this database. */
  poolSize: z.number().int().min(1).max(100).default(4),
  /** Impact preview of held writes (rolled back; README "Impact preview"): `false` turns it off; timeouts per statement. */
  preview: z
    .union([z.literal(false), z.literal(true).transform(() => ({})), z.strictObject({ timeoutMs: z.number().int().min(1).max(60_000).optional(), lockTimeoutMs: z.number().int().min(1).max(60_000).optional() })])
    .default({}),
  undo: undoSchema,
  sessionCheckCache: sessionCheckCacheSchema,
});


/**
 * An upstream MCP server: a command over stdio, or a streamable HTTP `url`.
 * Its tools reach agents as `<name>__<tool>`, so the name has no `__`.
 */
export const mcpConnection = z
  .strictObject({
    name: connectionName
      .refine((n) => !n.includes('__'), 'no "__" in an mcp connection name (it separates connection and tool in the names agents see)')
      // `files_` would show its tool `x` as `files___x`, which splits at the first `__` into `files` and `_x`.
      .refine((n) => !n.startsWith('_') && !n.endsWith('_'), 'no "_" at the start or end of an mcp connection name (it would run into the "__" before the tool name)'),
    kind: z.literal('mcp'),
    /** stdio: the command (looked up on PATH), its arguments and environment (with `${VAR}` secrets). */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    /** streamable HTTP: the endpoint and the headers the gateway sends (its credentials). */
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'an http:// or https:// URL')
      .refine((u) => !hasUserInfo(u), 'credentials go in headers: a user or password in the url is never sent')
      .optional(),
    headers: z.record(z.string(), z.string()).default({}),
    tags,
    /** The longest one tool call may take. */
    timeoutMs: z.number().int().positive().default(60_000),
    /** How long a held call waits for a decision before the agent is told to come back (MCP clients often time out at 60 s). */
    waitSeconds: z.number().int().min(0).max(3600).default(45),
    /** What happens to calls of a tool whose definition changed since it was pinned, until an admin accepts it. */
    pinning: z
      .strictObject({
        onChange: z.enum(['approve', 'deny', 'allow']).default('approve'),
        /** Who approves such calls (onChange: approve); default any one human but the requester. */
        approvers: z.array(approverSchema).min(1).optional(),
        /**
         * Who may accept a changed definition as the new pin. Default: the groups and principals
         * that `approvers` names; when neither names anyone, nobody may accept (refused, TOOL_ACCEPTORS_NOT_CONFIGURED).
         */
        acceptors: z
          .strictObject({ groups: z.array(z.string().min(1)).default([]), principals: z.array(id).default([]) })
          .refine((a) => a.groups.length + a.principals.length > 0, 'name at least one group or principal')
          .optional(),
      })
      .prefault({}),
  })
  .refine((c) => (c.command === undefined) !== (c.url === undefined), { message: 'give either command (stdio) or url (streamable HTTP)', path: ['command'] })
  .refine((c) => c.url === undefined || (c.args.length === 0 && Object.keys(c.env).length === 0 && c.cwd === undefined), {
    message: 'args, env and cwd belong to a command (stdio); an HTTP upstream takes headers',
    path: ['url'],
  })
  .refine((c) => c.command === undefined || Object.keys(c.headers).length === 0, { message: 'headers belong to an HTTP upstream (url)', path: ['headers'] });

export const connectionSchema = z.discriminatedUnion('kind', [httpConnection, execConnection, postgresConnection, mcpConnection]);

/**
 * An action: what a principal asks to do on a connection. Immutable once
 * submitted. The input's shape depends on the connection's kind and is checked
 * here, before any parsing or policy.
 */
import { z } from 'zod';
import type { ConnectionKind } from './connection.ts';
import { CountersignError } from './errors.ts';
import { assertValueDepth, jsonTextTooDeep } from './json-depth.ts';
import { queryAsRead } from './field-readings.ts';
import { isMultipartType, readMultipart } from './multipart-fields.ts';
import { foldKeys } from './json-keys.ts';
import { isSecondTargetHeader, SECOND_TARGET_HEADERS } from './second-target-headers.ts';
import { illFormedMessage, jsonDefects } from './well-formed.ts';

const sqlParam = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * The data a `COPY … FROM STDIN` loads, as the wire listener read it before the statement was judged: its SHA-256
 * (so the action's digest covers every byte, and an approval is for these rows and no others), its size, its line
 * count (text and csv: rows, but for newlines inside quoted csv values) and its start, for reviewers.
 */
export const copyDataSchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex'),
  bytes: z.number().int().min(0),
  lines: z.number().int().min(0),
  /** The first bytes (COPY_PREVIEW_BYTES) as UTF-8 text; binary format: as hex. */
  preview: z.string().max(4096),
});

/** The most characters (UTF-16 code units, as a JS string counts them) an action's SQL may have. */
export const MAX_SQL_CHARS = 1_000_000;

/**
 * The most characters an action's parameters may have in all, as its SQL: they are recorded with it (request, audit
 * event, digest), and the wire listener reads a Bind of up to 64 MiB.
 */
export const MAX_PARAMS_CHARS = MAX_SQL_CHARS;

/**
 * The characters of bound parameters as the action records them (numbers and booleans as their text).
 *
 * @example
 * paramsChars(['abc', 12, null]); // 5
 */
export function paramsChars(params: readonly (string | number | boolean | null)[]): number {
  return params.reduce<number>((n, p) => n + (p === null ? 0 : String(p).length), 0);
}

export const sqlInputSchema = z
  .strictObject({
    sql: z.string().min(1).max(MAX_SQL_CHARS),
    params: z.array(sqlParam).max(10_000).optional(),
    /** Only from the wire listener, which holds the data itself; any other surface's submission of it does not run. */
    copy: copyDataSchema.optional(),
  })
  .refine((i) => i.params === undefined || paramsChars(i.params) <= MAX_PARAMS_CHARS, {
    message: `the parameters may have at most ${MAX_PARAMS_CHARS} characters in all`,
    path: ['params'],
  });

/** How many bytes of COPY data its preview shows. */
export const COPY_PREVIEW_BYTES = 1024;

const headerNameSchema = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a valid HTTP header name');

export const httpInputSchema = z.strictObject({
  method: z
    .string()
    .regex(/^[A-Za-z]+$/, 'an HTTP method')
    .transform((m) => m.toUpperCase()),
  path: z.string().startsWith('/', 'a path starting with /').max(8192),
  query: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  // What the upstream call can put on the wire (undici refuses the rest: CR, LF, NUL, other controls, past U+00FF),
  // checked here so the run does not fail after approval.
  headers: z.record(headerNameSchema, z.string().max(8192).regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'a header value of tab, printable ASCII or Latin-1 (no CR, LF, NUL or other control character)')).optional(),
  body: z.unknown().optional(),
});

/** Linux's bound on one argument (MAX_ARG_STRLEN, 32 pages), its closing NUL included: past it execve fails E2BIG. */
export const MAX_ARG_BYTES = 131_071;

/**
 * One argv entry, as the binary will get it: Node hands it over in UTF-8 (what has no UTF-8 form, a lone surrogate,
 * parseInput refuses for every kind: core/well-formed.ts). What execve would refuse is refused at submit, not after
 * approval.
 */
const execArgSchema = z
  .string()
  .max(65_536)
  // A C string ends at NUL.
  .regex(/^[^\0]*$/, 'an argument without NUL')
  .refine((a) => a.length * 3 <= MAX_ARG_BYTES || Buffer.byteLength(a, 'utf8') <= MAX_ARG_BYTES, `an argument of at most ${MAX_ARG_BYTES.toLocaleString('en')} bytes in UTF-8 (the most Linux passes to a binary)`);

export const execInputSchema = z.strictObject({
  args: z.array(execArgSchema).max(1024),
});

/** One MCP tool call: the upstream tool's own name (not the namespaced one) and its arguments. */
export const mcpInputSchema = z.strictObject({
  tool: z.string().min(1).max(256),
  arguments: z.record(z.string(), z.unknown()).default({}),
});

export type SqlInput = z.infer<typeof sqlInputSchema>;
export type HttpInput = z.infer<typeof httpInputSchema>;
export type ExecInput = z.infer<typeof execInputSchema>;
export type McpInput = z.infer<typeof mcpInputSchema>;
export type ActionInput = SqlInput | HttpInput | ExecInput | McpInput;

/** The operation name each kind's actions carry (for policy and display). */
export const OPERATION_BY_KIND: Readonly<Record<ConnectionKind, string>> = {
  postgres: 'sql.query',
  http: 'http.request',
  exec: 'exec.run',
  mcp: 'tools/call',
};

export interface Action {
  readonly connection: string;
  readonly operation: string;
  readonly input: ActionInput;
  readonly reason: string;
}

const SCHEMAS = { postgres: sqlInputSchema, http: httpInputSchema, exec: execInputSchema, mcp: mcpInputSchema } as const;

const HTTP_METHOD = /^[A-Za-z]+$/;

/**
 * What httpInputSchema makes of the usual input, a plain object of a method, a path and maybe a body (no query, no
 * headers), without running the schema: the same object, keys in the same order, the body the same value. Anything
 * else, valid or not, is undefined and goes to the schema (action.test.ts holds the two together).
 */
function plainHttpInput(raw: unknown): HttpInput | undefined {
  if (raw === null || typeof raw !== 'object' || Object.getPrototypeOf(raw) !== Object.prototype) return undefined;
  const r = raw as Record<string, unknown>;
  const { method, path } = r;
  if (typeof method !== 'string' || typeof path !== 'string' || !Object.hasOwn(r, 'method') || !Object.hasOwn(r, 'path')) return undefined;
  if (!HTTP_METHOD.test(method) || !path.startsWith('/') || path.length > 8192) return undefined;
  const keys = Object.keys(r).length;
  if (keys === 2) return { method: method.toUpperCase(), path };
  if (keys === 3 && Object.hasOwn(r, 'body') && r.body !== undefined) return { method: method.toUpperCase(), path, body: r.body };
  return undefined;
}

/**
 * Checks an agent's raw input against the shape of its connection kind.
 *
 * @example
 * parseInput('exec', { args: ['get', 'pods'] }); // { args: ['get', 'pods'] }
 */
export function parseInput(kind: ConnectionKind, raw: unknown): ActionInput {
  // Every surface's input passes here before any recursive step (digest, facts, masking, the audit chain).
  assertValueDepth(raw, 'the action input');
  // One walk finds both: a number JSON cannot hold, and (every kind's text leaves the gateway as UTF-8: an argv entry,
  // a URL, a body, SQL and its parameters, tool arguments) text that has no UTF-8 form, which would run as U+FFFD,
  // not as judged and recorded.
  const { nonFinite: infinite, illFormed } = jsonDefects(raw, 'input');
  if (infinite !== null) throw new CountersignError('INVALID_INPUT', `input for a ${kind} connection is invalid: ${infinite}: a number too large for JSON (it would read as Infinity)`, { issues: [`${infinite}: not a finite number`] });
  if (illFormed !== null) throw new CountersignError('INVALID_INPUT', `input for a ${kind} connection is invalid: ${illFormedMessage(illFormed)}`, { issues: [illFormedMessage(illFormed)] });
  const plain = kind === 'http' ? plainHttpInput(raw) : undefined;
  if (plain !== undefined) return plain;
  const result = SCHEMAS[kind].safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`);
    throw new CountersignError('INVALID_INPUT', `input for a ${kind} connection is invalid: ${issues.join('; ')}`, {
      issues,
    });
  }
  return result.data;
}

// And, where a connection allows one, a header naming a second resource the call reads or writes: reviewers must see it.
// So too the headers that choose the operation at one path (SOAP 1.1's SOAPAction; X-Amz-Target of AWS's JSON APIs,
// `POST /` for DeleteTable and DescribeTable alike) or how far it reaches (WebDAV's Depth, a PUT's Content-Range).
const VISIBLE_HEADERS = new Set([
  'content-type',
  'accept',
  'content-language',
  'accept-language',
  'if-match',
  'if-none-match',
  'overwrite',
  'soapaction',
  'x-amz-target',
  'depth',
  'content-range',
  ...SECOND_TARGET_HEADERS,
]);

/**
 * A header name as servers read it: any case (RFC 9110 §5.1), and `_` and `.`
 * as `-` (a CGI/WSGI server reads `X_Env` as `HTTP_X_ENV`, the variable of
 * `X-Env`; PHP behind FastCGI reads `.` as `_`).
 *
 * @example
 * headerName('X_Env'); // 'x-env'
 */
export function headerName(name: string): string {
  return name.toLowerCase().replace(/[_.]/g, '-');
}

/**
 * A form body as frameworks read it (Rails, PHP, Spring, Express, Flask): each field a list of its values, as
 * `facts.http.query` is, under its name as written and every name a framework reads it as (queryAsRead), so a rule
 * guarded by `has(action.input.body.amount)` reads `amount=5000`, and `amount[]=5000` as PHP's `amount`.
 */
function formFields(text: string): Record<string, readonly string[]> {
  const fields = Object.create(null) as Record<string, string[]>;
  for (const [k, v] of new URLSearchParams(text)) (fields[k] ??= []).push(v);
  return { ...queryAsRead(fields) };
}

/**
 * A body given as text that is a JSON object or array, as that value: the upstream that parses it (most JSON APIs,
 * and Go's decoder whatever the Content-Type says) reads its fields, so policy must too, or a rule guarded by
 * `has(action.input.body.amount)` finds no field in `"{\"amount\":5000}"`. A form under a form Content-Type the
 * agent sends is its fields (formFields), and so is a multipart body under the multipart type (multipart-fields.ts). Other text (a JSON scalar, text nested past the bound, which facts refuse)
 * stays text. Its duplicate and `__proto__` keys, and form fields read as one, are refused before policy
 * (http/facts.ts), so the value is the one reading of it.
 */
function bodyValue(body: unknown, headers: Readonly<Record<string, string>> | undefined): unknown {
  if (typeof body !== 'string') return body;
  const json = jsonValue(body);
  if (json !== undefined) return json;
  // JSON text under a form type reads as one field named by its text, which no rule names: read as JSON it is.
  const type = Object.entries(headers ?? {}).find(([k]) => headerName(k) === 'content-type')?.[1] ?? '';
  if (isFormType(type)) return formFields(body);
  // A multipart body, its fields as a form's (a body no reader takes alike is refused before policy: http/facts.ts).
  const parts = isMultipartType(type) ? readMultipart(body, type) : undefined;
  return parts && 'fields' in parts ? { ...queryAsRead(parts.fields) } : body;
}

/**
 * Whether a Content-Type's media type is the form type: its type and subtype (any case, RFC 9110 §8.3.1), before
 * any parameter. Not a value that only names it (`text/plain; note=application/x-www-form-urlencoded`,
 * `application/x-www-form-urlencoded-v2`), which servers read as the media type it begins with, parsing no form.
 *
 * @example
 * isFormType('Application/X-WWW-Form-Urlencoded; charset=utf-8'); // true
 * isFormType('text/plain; x=application/x-www-form-urlencoded'); // false
 */
export function isFormType(contentType: string): boolean {
  return contentType.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** Text that is a JSON object or array (nested within the bound), as that value; else undefined. */
function jsonValue(text: string): object | undefined {
  const first = text.trimStart()[0];
  if ((first !== '{' && first !== '[') || jsonTextTooDeep(text)) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The input as policy sees it: an HTTP action's header names as servers read
 * them (headerName), so that a rule on `action.input.headers["x-env"]` holds
 * whichever spelling the agent sent (`X-Env`, `X_ENV`, `x.env`), and the keys
 * of a JSON body or of tool arguments folded (foldKey). The action stored,
 * shown and sent keeps the names as given; two names that read as one are
 * refused before policy (http/facts.ts, mcp/facts.ts).
 *
 * @example
 * policyInput({ method: 'GET', path: '/', headers: { X_Env: 'production' } }).headers; // { 'x-env': 'production' }
 */
export function policyInput(input: ActionInput): ActionInput {
  // Tool arguments and a JSON body, as readers that match keys in any case read them (json-keys.ts): Go's
  // encoding/json reads {"AMOUNT": …} as the field amount. A body given as text stays text.
  // foldKeys returns keys already folded as they are (the usual case): then so is the input, uncopied.
  if ('tool' in input) {
    const args = foldKeys(input.arguments) as Record<string, unknown>;
    return args === input.arguments ? input : { ...input, arguments: args };
  }
  if (!('method' in input)) return input;
  const value = bodyValue(input.body, input.headers);
  const folded = value !== null && typeof value === 'object' ? foldKeys(value) : input.body;
  const body = folded !== input.body ? { body: folded } : {};
  if (!input.headers) return folded !== input.body ? { ...input, ...body } : input;
  // Null prototype: a header named `__proto__` or `constructor` is a key like any other.
  const headers = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(input.headers)) headers[headerName(k)] ??= v;
  return { ...input, headers: { ...headers }, ...body };
}

/**
 * The input as it may be shown in responses, logs and audit payloads: header
 * values other than a few harmless ones are replaced (by `[redacted]`, or in
 * the audit log by their HMAC), so credentials an agent passes never leave
 * the gateway.
 */
export function redactInput(input: ActionInput, mask: (value: string) => string = () => '[redacted]'): ActionInput {
  if (!('method' in input) || !input.headers) return input;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) {
    const key = headerName(k);
    headers[k] = VISIBLE_HEADERS.has(key) || isSecondTargetHeader(key) ? v : mask(v);
  }
  return { ...input, headers };
}

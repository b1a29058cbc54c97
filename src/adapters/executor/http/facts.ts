/**
 * Facts of an HTTP action: method, canonical path and query. The canonical
 * path is both what policy sees and exactly what the upstream receives, so a
 * rule on `/admin` cannot be walked around with `/%61dmin`, `/public/..;/admin`
 * or a method-override header or query parameter, nor one on `:cancel` with
 * `%3Acancel`: such inputs are normalised
 * or refused. Repeated slashes are collapsed and a trailing slash does not
 * count (`/admin/` is `/admin` to policy); a connection whose upstream ignores
 * case (`paths.caseInsensitive`) has its paths judged and sent in lower case.
 */
import { headerName, isFormType, type HttpInput } from '../../../core/action.ts';
import { CountersignError } from '../../../core/errors.ts';
import { makeFacts, type Facts } from '../../../core/facts.ts';
import { jsonTextTooDeep, MAX_JSON_DEPTH } from '../../../core/json-depth.ts';
import { foldKey, jsonKeyClash, protoKeyAt, type KeyClash } from '../../../core/json-keys.ts';
import { fieldClash, fieldInBoth, fieldKey, fieldKeys, multipartNames } from './field-names.ts';
import { isIdentityHeader } from './identity-headers.ts';
import { jsonTextReadOtherwise } from './json-text.ts';
import { isJsonType } from './json-type.ts';
import { checkMultipart } from './multipart-check.ts';
import { isSecondTargetHeader } from '../../../core/second-target-headers.ts';
import { hasNonUtf8Escape } from '../../../core/uri-decode.ts';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
// TRACE echoes the request (the gateway's credentials with it); CONNECT opens a tunnel.
const REFUSED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);
// Headers that make common servers and proxies route to another path or method than the one policy saw.
const REFUSED_HEADERS = new Set([
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-rewrite-uri',
  'x-envoy-original-path',
  // Flask/WSGI reverse-proxy recipes set SCRIPT_NAME from it and strip it from the path.
  'x-script-name',
  'x-original-method',
  'x-forwarded-host',
  // IIS/ARR and some ingress set or honour these as the virtual host: another application than the connection's.
  'x-original-host',
  'x-host',
  'x-forwarded-prefix',
  'x-forwarded-path',
  'forwarded',
]);
// Instructions to a mesh sidecar before the upstream: Envoy (so Istio) honours x-envoy-* from clients it counts as
// internal (by default any private address) — x-envoy-retry-on, x-envoy-max-retries run a call again,
// x-envoy-original-dst-host sends it to another host — and Linkerd honours l5d-dst-override from anyone.
const MESH_HEADER = /^(?:x-envoy-|l5d-)/;
// Query parameters that frameworks (Rails, Laravel, Symfony, Express method-override, …) read as the real method; and
// `__METHOD_OVERRIDE__`, which Flask's snippet 38 (a middleware Flask apps still copy) reads on any request, a GET
// too, and `x-tunneled-method`, Plack's MethodOverride and Catalyst's REST-for-browsers parameter.
const METHOD_OVERRIDE_QUERY = new Set([
  '_method',
  'method',
  '_httpmethod',
  'httpmethod',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  '_x-http-method-override',
  '__method_override__',
  'x-tunneled-method',
]);
// In a form or JSON body, Rails and Laravel read these as the method too (`method` alone is too common a field to refuse there).
const METHOD_OVERRIDE_BODY = new Set([...METHOD_OVERRIDE_QUERY].filter((k) => k !== 'method' && k !== 'httpmethod'));

/**
 * Top-level field names of a body, read every way the upstream might read
 * the bytes it is sent, whatever the Content-Type says: as a JSON object's
 * keys, as form fields (name=value&…) and as multipart part names. A body
 * the agent gave as JSON is read as the text the gateway sends for it: under
 * a form Content-Type the agent chose, `{"t":"&_method=DELETE"}` is a form
 * whose fields include `_method`.
 */
function bodyKeys(readings: BodyReadings, json: { value: unknown } | null): string[] {
  const keys = [...readings.form, ...readings.multipart];
  const parsed = json?.value;
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) keys.push(...Object.keys(parsed));
  return keys;
}

/** The body's text read as form fields and as multipart part names, once for every check that needs them. */
interface BodyReadings {
  readonly form: readonly string[];
  /** The form's names as readers that split at ; as well as & read them (Django before 3.2, Perl's CGI, Go before 1.17). */
  readonly formAtSemicolons: readonly string[];
  readonly multipart: readonly string[];
  /** A part name given in RFC 2231 continuations (`name*0=`), which Werkzeug joins (field-names.ts). */
  readonly multipartContinued: boolean;
  /** A part name given in RFC 2231 form in another charset than UTF-8's readings (field-names.ts). */
  readonly multipartOtherCharset: boolean;
}

function readingsOf(text: string): BodyReadings {
  const parts = multipartNames(text);
  return {
    form: [...new URLSearchParams(text).keys()],
    formAtSemicolons: text.includes(';') ? [...new URLSearchParams(text.replaceAll(';', '&')).keys()] : [],
    multipart: parts.names,
    multipartContinued: parts.continued,
    multipartOtherCharset: parts.otherCharset,
  };
}

/** The body as JSON: the agent's value, or its text when that parses (null when it does not: its form and multipart readings stand). */
function jsonReading(body: unknown, text: string): { value: unknown } | null {
  if (typeof body !== 'string') return { value: body };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return null;
  }
}

const clashText = (c: KeyClash) => `${JSON.stringify(c.first.slice(0, 100))} and ${JSON.stringify(c.second.slice(0, 100))}`;

/**
 * Refuses a body with two names its upstream may read as one: keys of one
 * JSON object equal in any case (json-keys.ts), in a body given as a value or
 * as JSON text (where exact duplicates count too), and fields of a form or
 * multipart body, under that Content-Type, that read as one (field-names.ts).
 */
function checkBodyNames(text: string, readings: BodyReadings, json: { value: unknown } | null, contentType: string, query: readonly string[]): void {
  const type = contentType.toLowerCase();
  // The gateway sends UTF-8; a body declared otherwise (utf-7: `+ACI-` is `"`) reads as other fields and values upstream.
  // Every `charset=` in it, quoted or repeated: parsers differ on which of two copies counts (the last, the first, one in quotes).
  for (const [, charset = ''] of type.matchAll(/charset\s*\*?\s*=\s*"?([^";\s,]*)/g)) {
    if (charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') refuse(`Content-Type charset ${charset.slice(0, 40)} is not allowed: the body is sent as UTF-8`);
  }
  // Text declared JSON must be JSON as the gateway reads it: lenient readers (Jackson, .NET, JSON5) take a byte-order mark,
  // comments or trailing commas, and would read keys (and values) in it that no check here saw.
  if (json === null && /[/+]json\b/.test(type)) refuse('body is declared JSON but is not strict JSON (RFC 8259: no byte-order mark, comments or trailing commas): an upstream that reads it leniently would see fields policy did not');
  const proto = json ? protoKeyAt(json.value, 'body') : null;
  if (proto !== null) refuse(`body has a key "__proto__" at ${proto.slice(0, 200)}: an upstream in JavaScript that copies the object by assignment reads what it holds as the object's own values`);
  const keys = json ? jsonKeyClash(text, foldKey) : null;
  if (keys) refuse(`body has keys ${clashText(keys)} in one object: upstreams that match keys in any case (Go, .NET, Jackson) read them as one`);
  const fields = type.includes('x-www-form-urlencoded') ? [...readings.form] : type.includes('multipart/form-data') ? [...readings.multipart] : [];
  const nul = fields.find((f) => f.includes('\u0000'));
  if (nul !== undefined) refuse(`body has a form field named ${JSON.stringify(nul.slice(0, 100))}: PHP reads a field name only up to its NUL, as another field than policy saw`);
  const form = fieldClash(fields);
  if (form) refuse(`body has form fields ${clashText(form)}, which frameworks read as one field (PHP reads . and space as _, a[b] as a; others ignore case)`);
  const top = json?.value;
  const jsonKeys = top && typeof top === 'object' && !Array.isArray(top) ? Object.keys(top) : [];
  // Policy reads a JSON body's values; a form reader reads the text sent, whose fields a string value can name.
  const smuggled = fields.length ? fieldInBoth(fields, jsonKeys) : null;
  if (smuggled) refuse(`body given as JSON is sent as a form whose text names field ${JSON.stringify(smuggled.first.slice(0, 100))}, which policy reads as the JSON key ${JSON.stringify(smuggled.second.slice(0, 100))}: a form reader would read another value than policy judged`);
  fields.push(...jsonKeys);
  const both = fieldInBoth(query, fields);
  if (both) refuse(`query parameter ${JSON.stringify(both.first.slice(0, 100))} is named in the body too (${JSON.stringify(both.second.slice(0, 100))}): Rails, PHP's $_REQUEST and servlets read query and body as one set of fields`);
}

// Headers that tell the upstream who the client is: an agent must not claim another address (an allow-list by IP, a rate limit) unless the connection says so.
const CLIENT_ADDRESS_HEADERS = new Set([
  'x-real-ip',
  'x-client-ip',
  'client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'x-envoy-external-address',
  // ingress-nginx keeps the client's X-Forwarded-For here; Azure Front Door, App Engine and Google's proxies their own.
  'x-original-forwarded-for',
  'x-azure-clientip',
  'x-azure-socketip',
  'x-appengine-user-ip',
  'x-proxyuser-ip',
  'forwarded-for',
  'x-forwarded',
  // Not an address, but dropped the same way: a byte range of an echo cuts a secret into pieces too short to recognise.
  'range',
  'if-range',
]);
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
// Characters a path may hold as they are (RFC 3986 sub-delims, : and @): servers that decode the path before routing
// (Go's r.URL.Path, so grpc-gateway's `:verb`; Spring, Werkzeug, Django) read `%3A` as `:`, so policy must too. Not `+`,
// which a path decoded as a form (Java's URLDecoder) reads as a space, and `%2B` as a plus: `%2B` is sent as written
// (and judged as `+`, normaliseHttpTarget).
const DECODED_DELIMS = /^[!$&'()*,=:@]$/;
// PHP's max_input_vars and qs's parameterLimit (Express): past it, parameters are dropped without a word.
const MAX_QUERY_PARAMETERS = 1000;
// Node's HTTP server keeps 1,000 headers (maxHeadersCount counts names and values); the gateway adds its own after the agent's.
const MAX_HEADERS = 100;

/** How a connection's upstream reads a target, and what agent-supplied parts it lets through. */
export interface HttpTargetOptions {
  readonly caseInsensitivePaths: boolean;
  /** Send the agent's trailing slash (policy still judges the path without it). Off: the upstream gets exactly what policy judged. */
  readonly keepTrailingSlash?: boolean;
  /** Header names (any case) the connection passes on although they are normally dropped. */
  readonly allowHeaders: readonly string[];
  /** Query parameter names (any case) the connection lets through although they are normally refused. */
  readonly allowQuery: readonly string[];
  /** The Content-Type the connection's configured headers set: it wins over the agent's, so the body is read under it. */
  readonly contentType?: string;
}

export const DEFAULT_HTTP_TARGET: HttpTargetOptions = { caseInsensitivePaths: false, allowHeaders: [], allowQuery: [] };

/**
 * Whether an agent's header is dropped before the call: X-Forwarded-* and
 * the other client-address headers, the headers that assert who is calling
 * (identity-headers.ts), and Range, unless the connection allows it.
 */
export function isDroppedHeader(name: string, options: HttpTargetOptions): boolean {
  const h = headerKey(name);
  if (!(h.startsWith('x-forwarded-') || CLIENT_ADDRESS_HEADERS.has(h) || isIdentityHeader(h))) return false;
  return !options.allowHeaders.some((a) => headerKey(a) === h);
}

/**
 * A header name as servers match it: any case, `_` as `-` (CGI and WSGI servers read X_Forwarded_For as
 * X-Forwarded-For), and `.` as `-` (PHP turns `.` in a server variable's name into `_`, and a FastCGI front such as
 * Caddy passes the header name with its dots: X.HTTP.Method.Override is HTTP_X_HTTP_METHOD_OVERRIDE to Symfony).
 */
export function headerKey(name: string): string {
  // The same reading as policy's (core/action.ts): what is dropped, refused or judged is one name.
  return headerName(name);
}

function refuse(why: string): never { throw new CountersignError('INPUT_UNPARSEABLE', `HTTP ${why}`); }

/** RFC 3986 §6.2.2 normalisation, stricter: only escapes of unreserved characters and of those above are decoded; escapes of / . ; \ % and controls are refused. */
function canonicalPath(raw: string): string {
  if (!raw.startsWith('/') || raw.startsWith('//')) refuse('path must start with a single /');
  if (/[\\;#\s\u0000-\u001f\u007f]/.test(raw)) refuse('path must not contain \\ ; # or control characters');
  const decoded = raw.replace(/%([0-9A-Fa-f]{2})|%/g, (_whole, hex: string | undefined) => {
    if (hex === undefined) refuse('path has a malformed percent-escape');
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    if (UNRESERVED.test(ch) || DECODED_DELIMS.test(ch)) return ch;
    if ('/.;\\%'.includes(ch) || ch < ' ' || ch === '\u007f') refuse(`path must not encode ${JSON.stringify(ch)}`);
    return `%${hex.toUpperCase()}`;
  });
  if (decoded.split('/').some((s) => s === '.' || s === '..')) refuse('path must not contain . or .. segments');
  checkReadsAsWritten(decoded);
  return decoded;
}

// RFC 3986 pchar, `/` and escapes; `;` is refused above. Anything else (non-ASCII, `"`, `{`, …) is sent by undici as a raw byte each server reads its own way.
const RAW_PATH = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/;
// Characters servers strip, trim or ignore in a route (Flask \x85 and \xA0, Express \xA0, zero-width spaces): not the path policy saw.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u;
// Decimal digits other than ASCII's, which NFKC keeps: Python's int() (Flask's `<int:id>`) and Java's Long.parseLong
// (Spring's `@PathVariable long id`) read Arabic-Indic `٧` or Devanagari `७` as 7.
const FOREIGN_DIGIT = /(?![0-9])\p{Nd}/u;

/**
 * The path, its escapes decoded as servers decode them (UTF-8), must read as
 * written: strict UTF-8 (no overlong `%C0%AF` for `/`), nothing a server
 * strips or trims (controls, Unicode spaces and format characters, a space at
 * either end of a segment as Spring trims, a dot at its end as IIS drops),
 * stable under NFKC (an upstream that normalises reads a fullwidth `／`
 * or `．` as `/` or `.`), and with no decimal digits but ASCII's (a number
 * parser reads `٧` as 7).
 */
function checkReadsAsWritten(path: string): void {
  if (!RAW_PATH.test(path)) refuse('path must hold only ASCII letters, digits, - . _ ~ ! $ & \' ( ) * + , = : @ / and %-escapes');
  let text: string;
  try {
    text = decodeURIComponent(path);
  } catch {
    refuse('path escapes must decode as UTF-8');
  }
  if (INVISIBLE.test(text)) refuse('path must not encode control, format or non-ASCII space characters');
  // Windows servers (IIS) drop a segment's trailing dots and spaces; Spring trims spaces.
  if (text.split('/').some((s) => s !== s.trim() || s.endsWith('.'))) refuse('a path segment must not begin or end with a space, or end with a dot');
  if (text.normalize('NFKC') !== text) refuse('path must not encode characters that Unicode normalisation changes (a fullwidth / or .)');
  if (FOREIGN_DIGIT.test(text)) refuse('path must not encode decimal digits other than ASCII 0-9: Flask (Python\'s int()) and Spring (Java\'s Long.parseLong) read `٧` as 7, as another path than policy saw');
}

/**
 * Lower-cases the characters of a canonical path, leaving its %XX escapes (upper-case hex) as they are. Only ASCII
 * letters fold, so a path with a letter that an upstream ignoring case may read as ASCII is refused: Java's
 * equalsIgnoreCase (Spring, servlet filters) and matchers that upper-case the path read `ı` and `İ` as `i`, `ß` as
 * `ss`, and `/admın` is `/admin` to them, but not to a rule on `/admin`.
 */
function lowerCasePath(path: string): string {
  for (const ch of decodeURIComponent(path)) {
    if (ch > '\u007f' && /[A-Za-z]/.test(ch.toUpperCase() + ch.toLowerCase())) {
      refuse(`path must not hold ${JSON.stringify(ch)} on a connection whose upstream ignores case: it may read it as an ASCII letter, as another path than policy saw`);
    }
  }
  return path.replace(/(%[0-9A-F]{2})|[^%]+/g, (part, escape: string | undefined) => escape ?? part.toLowerCase());
}

/**
 * Splits the agent's path (which may carry its own `?query`) and merges the
 * query object into one multimap. `path` is what policy judges; `upstreamPath`
 * is what is sent: the same, unless the connection keeps the agent's trailing
 * slash for an upstream that tells `/items/` from `/items`, or the path holds
 * `%2B`, which policy reads as the `+` servers decode it to.
 */
export function normaliseHttpTarget(input: HttpInput, options: HttpTargetOptions = DEFAULT_HTTP_TARGET): { path: string; upstreamPath: string; query: Record<string, string[]> } {
  if (REFUSED_METHODS.has(input.method)) refuse(`method ${input.method} is not allowed through the gateway`);
  // One name on the wire, two keys to policy: which copy an upstream reads is its framework's choice, not the policy's.
  // (Headers dropped before the call reach no upstream, in any spelling.)
  const named = new Map<string, string>();
  const given = Object.entries(input.headers ?? {});
  if (given.length > MAX_HEADERS) refuse(`${given.length} headers are more than the ${MAX_HEADERS} an action may send: upstreams keep only so many (Node's server the first 1,000) and drop the rest, which policy would judge all the same`);
  for (const [h, value] of given) {
    if (REFUSED_HEADERS.has(headerKey(h))) refuse(`header ${h} is not allowed: it would change the path or method the policy saw`);
    if (MESH_HEADER.test(headerKey(h)) && !CLIENT_ADDRESS_HEADERS.has(headerKey(h)) && !options.allowHeaders.some((a) => headerKey(a) === headerKey(h))) {
      refuse(`header ${h} is not allowed on this connection: a service mesh in front of the upstream (Envoy, Istio, Linkerd) acts on it, retrying the call or routing it elsewhere (allow it with allow.headers)`);
    }
    if (isSecondTargetHeader(headerKey(h)) && !options.allowHeaders.some((a) => headerKey(a) === headerKey(h))) {
      refuse(`header ${h} is not allowed on this connection: it names another resource for the call to read or write, whose path the policy never judged (allow it with allow.headers)`);
    }
    // The body goes as the text judged; an upstream that inflates request bodies would read what those bytes inflate to.
    if (headerKey(h) === 'content-encoding' && value.split(',').some((c) => !['', 'identity'].includes(c.trim().toLowerCase()))) {
      refuse(`header ${h} declares a Content-Encoding other than identity: the body is sent as the text policy judged, and an upstream that decodes it would read another body`);
    }
    if (headerKey(h) === 'content-type' && h.toLowerCase() !== 'content-type') refuse(`header ${h} must be spelled Content-Type: policy reads it as the body's type, as Werkzeug does, and Node's server as another header (the body untyped)`);
    if (isDroppedHeader(h, options)) continue;
    // RFC 9110 §5.5: a recipient strips the whitespace around a field value; policy reads the value as written. And
    // servers that read header bytes as Latin-1 (Node, WSGI) hand \xA0 and \x85 to apps whose trim() drops them too.
    if (/^[\t \x85\xa0]|[\t \x85\xa0]$/.test(value)) refuse(`header ${h} has whitespace at the start or end of its value, which the upstream strips: it would read another value than policy saw`);
    const earlier = named.get(headerKey(h));
    if (earlier !== undefined) refuse(`header ${h} is given twice (also as ${earlier}): servers read header names in any case, and _ as -`);
    named.set(headerKey(h), h);
  }
  const q = input.path.indexOf('?');
  let sent = canonicalPath(q === -1 ? input.path : input.path.slice(0, q)).replace(/\/{2,}/g, '/');
  if (options.caseInsensitivePaths) sent = lowerCasePath(sent);
  const trailingSlash = sent.length > 1 && sent.endsWith('/');
  if (trailingSlash) sent = sent.slice(0, -1);
  // Every server that decodes the path (Werkzeug, Go, Spring) reads `%2B` as `+`: so does policy. It is sent as written,
  // for the servers that read a raw `+` as a space (a path decoded as a form) and `%2B` as the plus.
  const path = sent.replaceAll('%2B', '+');
  // Null prototype: a key such as "constructor" is a query key like any other.
  const query = Object.create(null) as Record<string, string[]>;
  const nonUtf8 = (what: string) => refuse(`${what} has percent-escapes that do not decode as UTF-8 (%FF, %C0%AE, %ED%A0%80): policy would read U+FFFD where the upstream reads other text or bytes`);
  if (q !== -1 && hasNonUtf8Escape(input.path.slice(q + 1))) nonUtf8('query');
  if (q !== -1) for (const [k, v] of new URLSearchParams(input.path.slice(q + 1))) (query[k] ??= []).push(v);
  for (const [k, v] of Object.entries(input.query ?? {})) (query[k] ??= []).push(...(Array.isArray(v) ? v : [v]));
  for (const k of Object.keys(query)) {
    // `query: {dry_run: []}` puts the name before policy (`"dry_run" in facts.http.query`) and nothing of it on the wire.
    if (query[k]!.length === 0) refuse(`query parameter ${JSON.stringify(k.slice(0, 100))} has no value: policy would see the name and the upstream would get nothing of it (send "" for a bare flag)`);
    if (k.includes('\u0000')) refuse(`query parameter ${JSON.stringify(k.slice(0, 100))} has a NUL in its name: PHP reads a name only up to it, as another parameter than policy saw`);
    const key = fieldKeys(k).find((f) => METHOD_OVERRIDE_QUERY.has(f));
    if (key !== undefined && !options.allowQuery.some((a) => fieldKey(a) === key)) {
      refuse(`query parameter ${k} is not allowed on this connection: frameworks read it as the method, which would change the method the policy saw (allow it with allow.query)`);
    }
  }
  const values = Object.values(query).reduce((n, vs) => n + vs.length, 0);
  if (values > MAX_QUERY_PARAMETERS) refuse(`query has ${values} parameters: PHP (max_input_vars) and qs (Express) read only the first ${MAX_QUERY_PARAMETERS} and drop the rest, which policy would judge all the same`);
  const clash = fieldClash(Object.keys(query));
  if (clash) refuse(`query has parameters ${clashText(clash)}, which frameworks read as one parameter (PHP reads . and space as _, a[b] as a; others ignore case)`);
  const text = typeof input.body === 'string' ? input.body : (JSON.stringify(input.body) as string | undefined);
  const json = text === undefined ? null : jsonReading(input.body, text);
  // Policy reads a body given as JSON text as its value (core/action.ts), bounded as any JSON an agent sends.
  if (typeof input.body === 'string' && json !== null && jsonTextTooDeep(input.body)) {
    throw new CountersignError('INPUT_TOO_DEEP', `HTTP body given as JSON text nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep`, { maxDepth: MAX_JSON_DEPTH });
  }
  // Text Python's json reads as JSON and policy as text (NaN, a byte-order mark, UTF-16), or with an integer policy rounds.
  const otherwise = typeof input.body === 'string' ? jsonTextReadOtherwise(input.body, json) : null;
  if (otherwise !== null) refuse(`body given as text ${otherwise}`);
  const ownType = Object.entries(input.headers ?? {}).find(([h]) => headerKey(h) === 'content-type')?.[1] ?? '';
  const contentType = options.contentType ?? ownType;
  if (text !== undefined && /x-www-form-urlencoded/i.test(ownType) && !(isFormType(ownType) && isFormType(contentType))) refuse(`body is declared a form (Content-Type ${JSON.stringify(ownType.slice(0, 100))}) but goes as ${JSON.stringify(contentType.split(';')[0]!.slice(0, 100))}, the type servers read (the one the value begins with, or the connection's own), which parses no form: the fields policy read would not reach the upstream`);
  if (text !== undefined && /x-www-form-urlencoded/i.test(`${contentType} ${ownType}`) && hasNonUtf8Escape(text)) nonUtf8('form body');
  if (typeof input.body === 'string' && json === null) checkMultipart(input.body, ownType, contentType, refuse);
  const readings = text === undefined ? undefined : readingsOf(text);
  if (readings?.multipartOtherCharset) refuse('body has a multipart part name in RFC 2231 form (name*=) in a charset other than UTF-8 or ASCII, or with escapes that are not UTF-8: Werkzeug 2.2 (Flask) decodes it in that charset (name*=utf-7\'\'+AF8-method is _method), into a name no check here read; send the name whole, in UTF-8');
  if (readings?.multipartContinued) refuse('body has a multipart part name in RFC 2231 continuations (name*0=, name*1=): Werkzeug (Flask) joins them into one name (name*0="_met"; name*1="hod" is _method) that no check here read; send the name whole');
  for (const k of readings ? [...bodyKeys(readings, json), ...readings.formAtSemicolons] : []) {
    const key = fieldKeys(k).find((f) => METHOD_OVERRIDE_BODY.has(f));
    if (key !== undefined && !options.allowQuery.some((a) => fieldKey(a) === key)) {
      refuse(`body field ${k} is not allowed on this connection: frameworks (Rails, Laravel) read it as the method, which would change the method the policy saw (allow it with allow.query)`);
    }
  }
  // After the method: a body that names one is refused for it, whatever else its names do.
  if (text !== undefined && readings) checkBodyNames(text, readings, json, contentType, Object.keys(query));
  // Form text is fields to policy under the action's own form type (core/action.ts); JSON object or array, its fields (json-type.ts).
  const jsonFields = json !== null && json.value !== null && typeof json.value === 'object';
  if (typeof input.body === 'string' && !jsonFields && isFormType(contentType) && !isFormType(ownType)) {
    refuse('body given as text is sent under the connection\'s form Content-Type, which policy reads as form fields only where the action declares it too: add Content-Type: application/x-www-form-urlencoded to its headers');
  }
  // JSON is read by policy by its fields whatever the Content-Type says (core/action.ts), for the readers that parse the
  // bytes without looking (Go's decoder). Those that go by the Content-Type (Express's express.json(), Flask's
  // get_json()) parse none under text/plain or a form type: a rule allowing what carries a field (`dryrun == true`)
  // would let the app act without it. (Under a form type its text is one field, named by its opening `{"…`, or, where a
  // string in it holds & or ;, fields the JSON has not.) Without a Content-Type it goes as application/json (connection.ts).
  // A Content-Type header given empty is a type given (no application/json is put in its place), which no reader takes for JSON.
  const typed = options.contentType !== undefined || Object.keys(input.headers ?? {}).some((h) => headerKey(h) === 'content-type');
  if (jsonFields && typed && !isJsonType(contentType, options.contentType !== undefined)) {
    refuse(`body is JSON, which policy reads by its fields, sent under Content-Type ${JSON.stringify(contentType.slice(0, 100))}: an upstream that goes by the Content-Type would not parse it as JSON and would act without the fields policy judged (send JSON under a JSON Content-Type, or a form as form text)`);
  }
  return { path, upstreamPath: trailingSlash && options.keepTrailingSlash ? `${sent}/` : sent, query: { ...query } };
}

export function deriveHttpFacts(input: HttpInput, options: HttpTargetOptions = DEFAULT_HTTP_TARGET): Facts {
  const { path, query } = normaliseHttpTarget(input, options);
  return makeFacts('http', { writes: !READS.has(input.method), http: { method: input.method, path, query } });
}

/**
 * Secrets a connection carries outside its headers and environment: what the
 * gateway's environment put (by `${VAR}`) into an `mcp` connection's `args` or
 * `url`, or an `http` connection's `url`. A server that takes its credential
 * on its command line (a database URL, `--api-key`) or in its URL (a webhook's
 * `/services/T0/<secret>`, `?key=`) may quote it back as readily as a header,
 * so the executors scrub these like the connection's `env` and `headers`.
 * Inside a header, what `${VAR}` put there counts on its own too (a cookie's
 * value, which an upstream parsing the header echoes alone).
 *
 * In a URL only the parts that carry credentials count — the password (or a
 * user without one), query values, and path segments holding an environment value (or
 * long enough to be a token when the whole URL came from the environment) —
 * so a host or a path the upstream names in its answers stays readable.
 */
import { decodeURIComponentOr } from '../core/uri-decode.ts';
import { mayHoldSecret } from './held-secrets.ts';
import type { Config } from './schema.ts';

/** A value taken from the environment by `${VAR}`, and where in the document (`connections[2].args[1]`). */
export interface Expansion {
  readonly path: string;
  readonly value: string;
}

/** A path segment that came from the environment with the rest of the URL counts when this long: a token, not a word. */
const TOKEN_SEGMENT = 16;

/** The secrets of one configured string (an arg, a url) that holds these environment values. */
function secretsOf(text: string, values: readonly string[]): string[] {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  // Not a URL with a host (a token such as `abc:def` parses as one with a scheme): the environment's values as they are.
  if (!url || !url.host) return [...values];
  const fromEnv = (part: string) => part !== '' && values.some((v) => v.includes(part) || part.includes(v));
  // A part as written (percent-encoded, as a secret holding `@`, `/` or `+` must be in a URL) and decoded: the
  // environment holds the one, an upstream may quote either. A part counts when either form came from the environment.
  const forms = (raw: string) => [...new Set([raw, decodeURIComponentOr(raw), decodeURIComponentOr(raw.replaceAll('+', ' '))])];
  const parts: string[] = [];
  // A user beside a password is a name (`svc:…@`); alone it may be the token itself (`https://<token>@host`).
  const query = url.search.slice(1).split('&').map((kv) => (kv.includes('=') ? kv.slice(kv.indexOf('=') + 1) : kv));
  for (const raw of [url.password || url.username, ...query]) {
    const each = forms(raw);
    if (each.some(fromEnv)) parts.push(...each.filter((f) => f !== ''));
  }
  for (const raw of url.pathname.split('/')) {
    const each = forms(raw);
    if (each.some((seg) => values.some((v) => seg.includes(v)) || (fromEnv(seg) && seg.length >= TOKEN_SEGMENT))) parts.push(...each);
  }
  return parts;
}

/**
 * By connection name, the secrets of each `mcp` and `http` connection's args and url, and what the environment put
 * in its headers; undefined when there are none.
 *
 * @example
 * targetSecrets(config, [{ path: 'connections[0].args[1]', value: 'tok_123456' }]); // { files: ['tok_123456'] }
 */
export function targetSecrets(config: Pick<Config, 'connections'>, expanded: readonly Expansion[]): Record<string, string[]> | undefined {
  const out: Record<string, string[]> = {};
  config.connections.forEach((c, i) => {
    if (c.kind !== 'mcp' && c.kind !== 'http') return;
    const at = `connections[${i}].`;
    const fields: [string, string | undefined][] = [[`${at}url`, c.url], ...(c.kind === 'mcp' ? c.args.map((a, j): [string, string] => [`${at}args[${j}]`, a]) : [])];
    const secrets = fields.flatMap(([path, text]) => {
      const values = expanded.filter((e) => e.path === path).map((e) => e.value);
      return text === undefined || values.length === 0 ? [] : secretsOf(text, values);
    });
    // What the environment put inside a header (`Cookie: sid=${SID}; theme=dark`): a secret on its own, whatever its
    // shape, since an upstream that parses the header echoes that part alone (httpbin's /cookies). Not in the headers
    // that describe content or client (mayHoldSecret).
    const header = `${at}headers.`;
    for (const e of expanded) if (e.path.startsWith(header) && mayHoldSecret(e.path)) secrets.push(e.value);
    if (secrets.length) out[c.name] = [...new Set(secrets)];
  });
  return Object.keys(out).length ? out : undefined;
}

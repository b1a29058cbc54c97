/**
 * A connection's target as a fingerprint (ConnectionHandle.target): what decides where, and as whom, its actions
 * run. An http connection's URL; an exec connection's binary and working directory; a postgres connection's URL
 * without its password (host, port, database, user and parameters such as `host=` stay); an mcp connection's
 * URL, or its command with its arguments and working directory. An exec connection's or a stdio MCP server's
 * environment too (`KUBECONFIG`, `AWS_PROFILE`, `PGHOST` point a command elsewhere as its arguments do), but only the
 * variables not named like credentials, with any password in a URL among them left out. Each as the configuration
 * file writes it (config/written-targets.ts): a `${VAR}` in it stays as written, so replicas whose environments put
 * in their own host or password share one target, and an edit of the file that points the connection elsewhere makes
 * another. Credentials (a password, header values, the values of secret-named variables, a key written in a URL's
 * query or path or on a command line) never enter it: the fingerprint is kept with every request, is quoted to the
 * requester when a run is refused for it, and must not test anyone's guess of one.
 */
import { canonicalJson, sha256Hex } from '../core/digest.ts';
import { argCredentialsEach, envSecretNamed, secretNamed, urlCredential, urlPathTokens } from '../config/held-secrets.ts';
import type { ConnectionConfig } from '../config/schema.ts';
import type { WrittenTarget } from '../config/written-targets.ts';

/** A postgres URL without the password in its user part or its parameters, as text (a `${VAR}` in it may not parse). */
function withoutPassword(url: string): string {
  // The password runs to the last @ before the host, as pg-connection-string reads it (a literal p@ss is one password).
  const noUserPassword = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):[^/?#]*@/i, '$1@');
  return noUserPassword.replace(/([?&])password=[^&#]*(&?)/gi, (_m, lead: string, trail: string) => (trail ? lead : ''));
}

/**
 * A command's environment as it points the command: names like credentials out (a URL under one, `DATABASE_DSN`, kept
 * without its credentials: it says where the command goes), passwords in URLs out; none: nothing.
 */
function pointing(env: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env ?? {})) {
    if (!secretNamed(name) && !envSecretNamed(name)) out[name] = withoutPassword(value);
    else if (URL_TEXT.test(value)) out[name] = urlKept(value);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * `text` with each of `secrets` (longest first) replaced: what a fingerprint keeps of a value a credential is written in.
 * A credential that is a URL (`--dsn postgresql://…@db-prod/app`, `SENTRY_DSN=https://<key>@o1.ingest…`) also says
 * where the server goes: it keeps that URL without the credentials in it, so a server re-pointed is another target.
 */
function without(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...new Set(secrets)].filter((v) => v !== '').sort((a, b) => b.length - a.length)) out = out.replaceAll(s, URL_TEXT.test(s) ? urlKept(s) : '[credential]');
  return out;
}

const URL_TEXT = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * A URL as a fingerprint keeps it: its user part's password out (a user alone, which may be the key), a query value
 * that is a key (`?api_key=…`, however it is percent-encoded) and a path segment that is one (a webhook's), each where
 * it is written and nowhere else its text recurs (a host, another parameter), so two URLs that differ by more than their
 * keys stay apart.
 */
function urlKept(url: string): string {
  const parts = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?([^/?#]*)([^?#]*)(\?[^#]*)?([\s\S]*)$/i.exec(url);
  const secrets = new Set([...urlCredential(url), ...urlPathTokens(url)]);
  if (!parts) return without(url, [...secrets]);
  const [, scheme, info, host, path, query, rest] = parts as unknown as [string, string, string | undefined, string, string, string | undefined, string];
  const userinfo = info === undefined ? '' : `${info.includes(':') ? info.slice(0, info.indexOf(':')) : ''}:[credential]@`;
  const isKey = (raw: string) => secrets.has(raw) || secrets.has(decoded(raw.replace(/\+/g, ' ')));
  const keptPath = path.split('/').map((seg) => (seg !== '' && isKey(seg) ? '[credential]' : seg)).join('/');
  const keptQuery = (query ?? '').replace(/([?&][^=&#]*=)([^&#]*)/g, (whole, lead: string, value: string) => (value !== '' && isKey(value) ? `${lead}[credential]` : whole));
  return `${scheme}${userinfo}${host}${keptPath}${keptQuery}${rest}`;
}

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A URL without the credentials written in it (urlKept). */
const urlWithout = (url: string | null) => (url === null ? null : urlKept(url));

/** Arguments without the credentials written in each: a secret-named flag's value, a header line's, a NAME=value setting's. */
const argsWithout = (args: readonly string[]) => {
  const each = argCredentialsEach(args);
  return args.map((a, i) => without(a, each[i] ?? []));
};

/**
 * @example
 * connectionTarget({ name: 'ops-api', kind: 'http', url: 'https://ops.example.com/api', … }); // 'sha256:…'
 */
export function connectionTarget(c: ConnectionConfig, written?: WrittenTarget): string {
  const url = written?.url ?? ('url' in c ? c.url : undefined) ?? null;
  const command = written?.command ?? ('command' in c ? c.command : undefined) ?? null;
  const cwd = written?.cwd ?? ('cwd' in c ? c.cwd : undefined) ?? null;
  // Only when there is one: a connection without an environment keeps the fingerprint it had before this was read.
  const env = pointing(written?.env ?? ('env' in c ? c.env : undefined));
  const where =
    c.kind === 'http'
      ? { kind: c.kind, url: urlWithout(url) }
      : c.kind === 'exec'
        ? { kind: c.kind, command, cwd, ...(env ? { env } : {}) }
        : c.kind === 'postgres'
          ? { kind: c.kind, url: url === null ? null : withoutPassword(url) }
          : { kind: c.kind, command, url: urlWithout(url), args: argsWithout(written?.args ?? ('args' in c ? c.args : [])), cwd, ...(env ? { env } : {}) };
  return `sha256:${sha256Hex(canonicalJson(where))}`;
}

/**
 * Every secret value the gateway holds by its configuration: what `${VAR}`
 * took from the environment (anywhere in the file), every connection's
 * headers, env and target secrets, values under secret-named keys written in
 * the file itself (a login's client secret, a chat token), PEM private keys
 * written in it under any key (a TLS key), passwords and
 * secret-named query values in URLs, values of secret-named flags in args,
 * and the values of the gateway's own environment variables named like
 * secrets even when the file never names them. A command run by an exec
 * connection (or a stdio MCP server) runs as the gateway's OS user and can
 * read the gateway's /proc/<pid>/environ and its configuration file: what it
 * prints is scrubbed of all of these, not only of its own connection's.
 * (Key material on disk changes at rotation: adapters/signer/key-material.ts.)
 */
import type { Config } from './schema.ts';

/** Names of keys (in the file) and environment variables whose values are credentials. */
const SECRET_NAME = /secret|token|passw|pwd|credential|private|api[-_]?key|access[-_]?key|authorization|cookie|signing|dsn|webhook/i;
/** Whether a key or environment variable of this name holds a credential. */
export function secretNamed(name: string): boolean {
  return SECRET_NAME.test(name);
}

// Names of things, not secrets: the columns whose values the audit log masks.
const NOT_SECRETS = new Set(['secretColumns']);

/** Query parameters that carry a key by convention, besides those named like a secret (`?key=`, `?sig=` of a signed URL). */
const KEY_PARAMETER = /^(?:key|sig|signature|auth|code|apikey)$/i;

/**
 * The password (or a lone user, which may be the token) of a URL, and the values of its query parameters named like
 * credentials (`https://mcp.example.com/mcp?api_key=…`, written in the file or not), if the text is such a URL.
 *
 * @example
 * urlCredential('https://mcp.example.com/mcp?api_key=k1234567&region=eu'); // ['k1234567', 'k1234567']
 */
export function urlCredential(text: string): string[] {
  // A scheme may lead another (`jdbc:postgresql://…`), which WHATWG's parser reads as a path with the same query.
  const user = /^(?:[a-z][a-z0-9+.-]*:)+\/\/[^/@\s]*@/i.test(text);
  if (!user && !/^(?:[a-z][a-z0-9+.-]*:)+\/\/[^\s?]*\?/i.test(text)) return [];
  try {
    const url = new URL(text);
    const out: string[] = [];
    const part = user ? url.password || url.username : '';
    if (part) out.push(part, decodeURIComponentSafe(part));
    for (const [name, value] of url.searchParams) if (value !== '' && (SECRET_NAME.test(name) || KEY_PARAMETER.test(name))) out.push(value, encodeURIComponent(value));
    return out;
  } catch {
    return [];
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A PEM private key (PKCS#8, RSA, EC, OpenSSH, encrypted): text the file may give under a plain `key:` (a TLS key). */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * The secret text of a PEM private key: its lines that are not armour, and all of them joined. A reader of the file
 * prints the lines as YAML indents them, which the value as parsed does not match whole.
 */
function pemBody(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('-----') && !/^[A-Za-z-]+:/.test(l));
  return lines.length > 1 ? [lines.join(''), ...lines] : lines;
}

/** Strings under secret-named keys, private keys and URL credentials anywhere, in a configuration value. */
function walk(value: unknown, named: boolean, out: string[]): void {
  if (typeof value === 'string') {
    if (named) out.push(value);
    if (PEM_PRIVATE_KEY.test(value)) out.push(value, ...pemBody(value));
    out.push(...urlCredential(value));
  } else if (Array.isArray(value)) {
    for (const v of value) walk(v, named, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (NOT_SECRETS.has(k)) continue;
      // Headers written for an exporter or a channel carry its credential under any name (Honeycomb's x-honeycomb-team).
      if (k === 'headers' && v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [h, hv] of Object.entries(v)) if (PLAIN_HEADER.test(h)) walk(hv, false, out); else walk(hv, true, out);
      } else walk(v, named || SECRET_NAME.test(k), out);
    }
  }
}

/**
 * Header names whose values describe content, client or API version, never a credential: an `Accept:
 * application/vnd.github+json` held as a secret took pieces of it (`applicati`) out of every output.
 */
const PLAIN_HEADER = /^(?:accept(?:-charset|-encoding|-language)?|content-type|content-language|user-agent|cache-control|pragma|prefer|x-requested-with|[a-z0-9-]*-version)$/i;
/** Environment variable names of locale, mode and paths (`NODE_ENV: production`), never a credential. */
const PLAIN_ENV = /^(?:NODE_ENV|LANG|LANGUAGE|LC_[A-Z]+|TZ|HOME|PATH|TERM|SHELL|USER|LOGNAME|TMPDIR|PWD)$/;

/** Where in the file a `${VAR}` is no secret: the policy, principals, roles, the log level, a connection's tags (`env: ${ENV}`), its plain headers and env. Scrubbing their values (`production`, `warning`) would garble every output. */
const NOT_SECRET_PLACES = /^(?:policy|principals|roles|log)\b|\.tags\b/;
const PLAIN_PLACE = /^connections\[\d+\]\.(headers|env)\.([^.]+)$/;

/**
 * Whether a `${VAR}` expanded at this path of the file may be a secret.
 *
 * @example
 * mayHoldSecret('connections[0].tags.env'); // false
 */
export function mayHoldSecret(path: string): boolean {
  const plain = PLAIN_PLACE.exec(path);
  if (plain && (plain[1] === 'headers' ? PLAIN_HEADER : PLAIN_ENV).test(plain[2]!)) return false;
  return !NOT_SECRET_PLACES.test(path);
}

/** The shell's working directories: `pwd` as in `MYSQL_PWD`, but a place, which every command's output may name. */
const PLACE_VARIABLES = new Set(['PWD', 'OLDPWD']);

/**
 * Environment variable names whose last word (after `_` or `-`) names a credential the way deployments spell them
 * besides SECRET_NAME's: `DB_PASS`, `SMTP_PASSPHRASE`, `OPENAI_KEY`, `GITHUB_PAT`, `PROXY_AUTH`, `JWT_HMAC`. The last
 * whole word only: `KEY_ID`, `AUTH_URL`, `JWT_ISSUER` name what describes a credential, and `PASSENV` or `KEYBOARD`
 * are other words. For the environment alone: in the file a `key` is a TLS key's path, and a value of the file the
 * gateway holds already when it sits under a connection's env or headers.
 */
const ENV_SECRET_WORD = /(?:^|[_-])(?:pass|passphrase|key|keys|pat|auth|hmac|jwt|salt)$/i;

/**
 * Whether an environment variable of this name holds a credential: SECRET_NAME, or its last word ENV_SECRET_WORD; not the
 * places named like one (PLACE_VARIABLES).
 *
 * @example
 * envSecretNamed('DB_PASS'); // true
 * envSecretNamed('PWD');     // false
 */
export function envSecretNamed(name: string): boolean {
  return (SECRET_NAME.test(name) || ENV_SECRET_WORD.test(name)) && !PLACE_VARIABLES.has(name);
}

/** Environment variables that name the host, the runtime and its versions: values that read like tokens (a pod's `HOSTNAME`), never a credential. */
const PLAIN_ENV_NAMES = /^(?:HOSTNAME|SHLVL|OLDPWD|_|NODE_VERSION|YARN_VERSION|NPM_VERSION)$/;

/**
 * Whether an environment value reads as a credential whatever its name: random text (10 or more characters, two
 * letters and two digits at least, or 12 letters of both cases), as keys and passwords are generated. Not a path,
 * a flag, a list or an address (`/usr/bin`, `--max-old-space-size=4096`, `tcp://10.0.0.1:443`, an ARN: a leading
 * `/`, `-` or `.`), nor a word with a number (`production-eu1`), which every output would lose. A value with a `:`
 * is read by its parts: `elastic:Xk9fQ2mZ7pL4` is a user and a password. A base64 or base64url key begins with `/`
 * or `-` one time in 32: such a value is one when the rest is a key's (baseKeyLike), which no path or flag is.
 */
function credentialLike(value: string): boolean {
  const v = value.trim();
  if (/\s/.test(v)) return false;
  // An address (urlCredential reads the credential in it): not its parts.
  if (/^(?:[a-z][a-z0-9+.-]*:)+\/\//i.test(v)) return false;
  if (v.includes(':')) return v.split(':').some((part) => part !== v && credentialLike(part));
  if (/^[-/]/.test(v)) return baseKeyLike(v);
  if (v.length < 10 || /^[.~]/.test(v)) return false;
  const digits = v.replace(/[^0-9]/g, '').length;
  const letters = v.replace(/[^A-Za-z]/g, '').length;
  return (digits >= 2 && letters >= 2) || (letters >= 12 && /[a-z]/.test(v) && /[A-Z]/.test(v));
}

/** A base64(url) key that begins with `/` or `-`: 16 or more of its characters, no `.`, both cases and 3 digits at least (no `--flag`, no `//host`). */
function baseKeyLike(v: string): boolean {
  if (v.length < 16 || /^(?:--|\/\/)/.test(v) || !/^[A-Za-z0-9+/_=-]+$/.test(v)) return false;
  return /[a-z]/.test(v) && /[A-Z]/.test(v) && v.replace(/[^0-9]/g, '').length >= 3;
}

/**
 * The values of an environment's variables named like secrets (envSecretNamed); any other value that reads as a
 * credential (credentialLike): names are a deployment's to choose (`DB_PASS_PROD`, `OPENAI_KEY_2`, `STRIPE_SK`), and
 * no list of secret words reads them all; and the credentials inside a value: a URL's (a JDBC one too), a libpq
 * connection string's password, a header line's (argCredentials).
 *
 * @example
 * environmentSecrets({ STRIPE_API_KEY: 'sk_live_…', DB_PASS: 'hunter22', HOME: '/root' }); // ['sk_live_…', 'hunter22']
 * environmentSecrets({ STRIPE_SK: 'sk_live_Op4As9Df2Gh7', APP_ENV: 'production-eu1' }); // ['sk_live_Op4As9Df2Gh7']
 */
export function environmentSecrets(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (envSecretNamed(name) || (!PLAIN_ENV.test(name) && !PLAIN_ENV_NAMES.test(name) && credentialLike(value))) out.push(value);
    out.push(...urlCredential(value), ...argCredentials([value]));
  }
  return out;
}

/**
 * Path segments of a connection's URL that look like a key rather than a name, written in the file as the service
 * handed the URL out (`https://actions.zapier.com/mcp/sk-ak-…/sse`, `https://hooks.slack.com/services/T0/B0/<token>`):
 * 16 characters or more of digits and letters of both cases, as random keys are; not a slug (`datasets-2024-archive`),
 * a hex id or a UUID, which an upstream names in its answers as a matter of course. As written and decoded.
 *
 * @example
 * urlPathTokens('https://hooks.example.com/services/T0123/Xk9fQ2mZ7pL4sR8vW1nB'); // ['Xk9fQ2mZ7pL4sR8vW1nB']
 */
export function urlPathTokens(text: string | undefined): string[] {
  if (!text || !/^https?:\/\//i.test(text)) return [];
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const raw of url.pathname.split('/')) {
    const seg = decodeURIComponentSafe(raw);
    if (seg.length >= 16 && /\d/.test(seg) && /[a-z]/.test(seg) && /[A-Z]/.test(seg) && !/^[0-9a-f-]+$/i.test(seg)) out.push(raw, seg);
  }
  return out;
}

/**
 * Credentials written on a command line: the value of a flag named like one, `--api-key=…` or `--api-key …`
 * (a `${VAR}` there is held already, config/target-secrets.ts; this is what the file itself spells out), by the
 * argument each is written in.
 *
 * @example
 * flagCredentials(['--api-key', 'sk_live_1', '--region', 'eu']); // [[], ['sk_live_1'], [], []]
 */
function flagCredentials(args: readonly string[]): string[][] {
  const out: string[][] = args.map(() => []);
  args.forEach((arg, i) => {
    const flag = /^--?([A-Za-z][A-Za-z0-9_.-]*)(?:=([\s\S]*))?$/.exec(arg);
    if (!flag || !SECRET_NAME.test(flag[1]!)) return;
    if (flag[2] !== undefined) out[i]!.push(flag[2]);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('-')) out[i + 1]!.push(args[i + 1]!);
  });
  return out;
}

/** A header line as mcp-remote takes one (`--header "Authorization: Bearer …"`). */
const HEADER_ARG = /^([A-Za-z][A-Za-z0-9_-]*)\s*:\s*(\S[\s\S]*)$/;
/** A keyword=value pair of a libpq connection string, its value single-quoted (with `\'` and `\\` escapes) or bare. */
const CONNINFO_PAIR = /(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']+))/g;
/** A `NAME=value` setting as `docker run -e` or `env` takes one (`GITHUB_PERSONAL_ACCESS_TOKEN=…`). */
const SETTING_ARG = /^([A-Za-z_][A-Za-z0-9_.-]*)=([\s\S]+)$/;

/**
 * Credentials written on a command line: a secret-named flag's value (flagCredentials), and an argument that is a header
 * line, a `NAME=value` setting or a libpq connection string's keyword whose name reads like a credential (alone, or as a flag's `=` value:
 * `--header=Authorization: Bearer …`), as MCP servers are commonly configured (`npx mcp-remote <url> --header …`,
 * `docker run -e GITHUB_PERSONAL_ACCESS_TOKEN=… image`). A server that quotes its command line quotes them.
 *
 * @example
 * argCredentials(['--header', 'Authorization: Bearer tok_1', '-e', 'DB_PASS=hunter22', '-e', 'LOG_LEVEL=debug']); // ['Bearer tok_1', 'hunter22']
 */
export function argCredentials(args: readonly string[]): string[] {
  return argCredentialsEach(args).flat();
}

/**
 * argCredentials by the argument each is written in (a flag's separate value in that value's own argument): what a
 * connection's fingerprint leaves out of each argument, and of no other that happens to spell the same text.
 *
 * @example
 * argCredentialsEach(['--token', 'tok_1', '--db', 'tok_1']); // [[], ['tok_1'], [], []]
 */
export function argCredentialsEach(args: readonly string[]): string[][] {
  const out = flagCredentials(args);
  args.forEach((arg, i) => {
    const flagValue = /^--?[A-Za-z][A-Za-z0-9_.-]*=([\s\S]*)$/.exec(arg)?.[1];
    for (const text of flagValue === undefined ? [arg] : [arg, flagValue]) {
      const header = HEADER_ARG.exec(text);
      if (header && SECRET_NAME.test(header[1]!)) out[i]!.push(header[2]!.trim());
      const setting = SETTING_ARG.exec(text);
      if (setting && (SECRET_NAME.test(setting[1]!) || ENV_SECRET_WORD.test(setting[1]!))) out[i]!.push(setting[2]!);
      // A libpq connection string (`host=db user=svc password=…`): each keyword's value, quoted or not.
      for (const m of text.matchAll(CONNINFO_PAIR)) if (SECRET_NAME.test(m[1]!)) out[i]!.push((m[2] ?? m[3]!).replace(/\\(.)/g, '$1'));
    }
  });
  return out;
}

/**
 * @example
 * heldSecrets(loadConfig('countersign.yaml')); // ['tok_live_…', 'hunter2', …]
 */
export function heldSecrets(config: Config): string[] {
  const out: string[] = [...(config.environmentSecrets ?? [])];
  for (const list of Object.values(config.connectionSecrets ?? {})) out.push(...list);
  for (const c of config.connections) {
    // A connection's own scrubber still takes all of its own values (adapters/executor/held-scrubber.ts `own`).
    if ('headers' in c && c.headers) for (const [k, v] of Object.entries(c.headers)) if (!PLAIN_HEADER.test(k)) out.push(v);
    if ('env' in c && c.env) for (const [k, v] of Object.entries(c.env)) if (!PLAIN_ENV.test(k)) out.push(v);
    if ('args' in c && c.args) out.push(...argCredentials(c.args));
    if ((c.kind === 'http' || c.kind === 'mcp') && c.url) out.push(...urlPathTokens(c.url));
  }
  // A webhook URL may be a key itself (`/services/T0/B0/<key>`), as a connection's may.
  for (const w of config.channels?.webhooks ?? []) out.push(...urlPathTokens(w.url));
  // writtenTargets and connectionSecrets are keyed by connection name: a connection named `token-tool` is no
  // credential, and neither are the command, directory and URL written for it (its secrets are added above).
  const { principals: _hashes, policy: _policy, writtenTargets: _targets, connectionSecrets: _secrets, ...rest } = config;
  walk(rest, false, out);
  // A private key from the environment too (`key: ${TLS_KEY}`), line by line as a reader of a file holding it prints it.
  for (const s of [...out]) if (PEM_PRIVATE_KEY.test(s)) out.push(...pemBody(s));
  return [...new Set(out.filter((s) => s.trim() !== ''))];
}

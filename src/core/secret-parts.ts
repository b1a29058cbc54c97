/**
 * Which parts of a connection's configured values (headers, env, secrets in
 * its url or args) are secrets to scrub: more than the value as written,
 * since an upstream that reads a credential may echo a piece of it alone.
 */
import { MIN_SECRET_LENGTH } from './scrub.ts';

// `name=value` in a list (a Cookie header, `Token token="…"`, Digest's parameters, a query, a libpq string): the value.
const PARAMETER = /(?:^|[;,&?\s])[^=;,&\s"]+\s*=\s*(?:"([^"]*)"|([^;,&\s"]+))/g;
// A URL's userinfo (`postgres://user:password@host`): the password, decoded as a parser gives it.
const USERINFO = /[a-z][a-z0-9+.-]*:\/\/([^:@/\s]*):([^@/\s]+)@/gi;

/**
 * A list's value that reads as a token: letters and digits both, digits only (8 or more: a numeric session id), or
 * letters of both cases (12 or more). Most settings beside a credential are words (`sslmode=require`,
 * `application_name=countersign`, `theme=dark`) or short numbers (`port=5432`), and every output they appear in would lose them.
 */
const tokenLike = (s: string) => (/[0-9]/.test(s) && /[A-Za-z]/.test(s)) || /^[0-9]{8,}$/.test(s) || (s.length >= 12 && /^[A-Za-z]+$/.test(s) && /[a-z]/.test(s) && /[A-Z]/.test(s));

const uriDecoded = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/**
 * The parts of configured values that are secrets: each value, the credential
 * after a scheme (`Bearer <token>`), for `Basic` the decoded `user:password`
 * and the password alone, each token-like value of a `name=value` list
 * (`session=…; theme=dark`: an upstream that parses its Cookie header echoes
 * one cookie's value alone) and the password of a URL's userinfo (a service that quotes
 * the database URL it was given, parsed). Values shorter than
 * MIN_SECRET_LENGTH are left out, as everywhere.
 *
 * @example
 * secretParts(['Basic dXNlcjpodW50ZXIy']); // ['Basic dXNlcjpodW50ZXIy', 'dXNlcjpodW50ZXIy', 'user:hunter2', 'hunter2']
 */
export function secretParts(values: readonly string[]): string[] {
  const parts = new Set<string>();
  for (const raw of values) {
    const v = raw.trim();
    const token = v.slice(v.lastIndexOf(' ') + 1);
    parts.add(v).add(token);
    if (/^basic\s/i.test(v)) {
      const decoded = Buffer.from(token, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      parts.add(decoded);
      if (colon !== -1) parts.add(decoded.slice(colon + 1));
    }
    for (const m of v.matchAll(PARAMETER)) {
      const value = m[1] ?? m[2] ?? '';
      if (tokenLike(value)) parts.add(value).add(uriDecoded(value));
    }
    for (const m of v.matchAll(USERINFO)) {
      const password = uriDecoded(m[2]!);
      parts.add(password).add(`${uriDecoded(m[1]!)}:${password}`);
    }
  }
  return [...parts].filter((p) => p.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

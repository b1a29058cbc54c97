/**
 * Canary secrets for leak sweeps: each a distinctive random string, and the
 * forms in which a careless surface would let it out (as is, URL-encoded,
 * base64, base64url, hex, and its first 8 distinctive characters, which is
 * what a truncating log line keeps). `findLeaks` names every canary form
 * found in a text, so a failing assertion says which secret leaked where.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Canary {
  readonly name: string;
  /** The forms searched for. */
  readonly forms: readonly string[];
}

/** A distinctive canary: a 4-letter code, then 16 random hex digits. */
export function canaryValue(code: string): string {
  return `${code}${randomBytes(8).toString('hex')}`;
}

/** The forms of `value`; `core` is the part that is its own (after a fixed `xoxb-`/`whsec_`/`cs_` prefix). */
export function canary(name: string, value: string, core = value): Canary {
  const b = Buffer.from(value, 'utf8');
  const forms = new Set([value, encodeURIComponent(value), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.toString('hex'), core.slice(0, 8)]);
  return { name, forms: [...forms].filter((f) => f.length >= 8) };
}

/** Canaries of raw key bytes: the encodings the bytes would travel in. */
export function keyBytesCanary(name: string, bytes: Buffer): Canary {
  return { name, forms: [bytes.toString('base64').slice(0, 24), bytes.toString('base64url').slice(0, 24), bytes.toString('hex').slice(0, 24)] };
}

/** The audit key directory's secrets: the Ed25519 signing key's seed and the HMAC key (its files' contents). */
export function keyDirCanaries(keyDir: string): Canary[] {
  const out: Canary[] = [];
  for (const file of readdirSync(keyDir, { recursive: true, withFileTypes: true })) {
    if (!file.isFile()) continue;
    const text = readFileSync(join(file.parentPath, file.name), 'utf8');
    if (text.includes('PRIVATE KEY')) {
      const d = createPrivateKey(text).export({ format: 'jwk' }).d!;
      out.push(keyBytesCanary(`signing key ${file.name}`, Buffer.from(d, 'base64url')));
    } else if (file.name.endsWith('hmac.key')) {
      out.push(keyBytesCanary(`hmac key ${file.name}`, Buffer.from(text.trim(), 'base64')));
    }
  }
  return out;
}

/** Every file under `dir`, read as bytes (latin1), by name. */
export function filesUnder(dir: string): { name: string; text: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => ({ name: f.name, text: readFileSync(join(f.parentPath, f.name), 'latin1') }));
}

/** Every canary form found in `text`, as `name: form`. */
export function findLeaks(text: string, canaries: readonly Canary[]): string[] {
  const lower = text.toLowerCase();
  const found: string[] = [];
  for (const c of canaries) for (const f of c.forms) if (text.includes(f) || (/^[0-9a-f]+$/.test(f) && lower.includes(f))) found.push(`${c.name}: ${f}`);
  return found;
}

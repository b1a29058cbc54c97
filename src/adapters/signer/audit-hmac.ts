/**
 * The per-deployment key for HMACs of sensitive values in the audit log,
 * kept beside the signing keys (outside the database), made on first use.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CountersignError } from '../../core/errors.ts';

function loadOrCreate(dir: string, create: boolean): Buffer {
  const file = join(dir, 'audit-hmac.key');
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CountersignError('CONFIG_INVALID', `${file} cannot be read`);
    if (!create) throw new CountersignError('CONFIG_INVALID', `${resolve(file)} does not exist`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, file); // fails if another process made one first: theirs wins, for everyone
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

/** The audit log's masks of sensitive values, and keys derived from the same per-deployment secret. */
export interface AuditHmac {
  (value: string): string;
  /**
   * A 32-byte key for `label`, the same on every replica of the deployment. HKDF (RFC 5869) over the key, not an
   * HMAC of the label under it: an agent can have any text masked into the log (a header value always is), so a key
   * that were the mask of a label could be read there.
   */
  derive(label: string): Buffer;
}

/**
 * @example
 * const mask = openAuditHmac('./.countersign/keys'); // { create: false }: only a key that exists
 * mask('4111 1111 1111 1111'); // 'hmac-sha256:6a1f…'
 * mask.derive('countersign oidc flow cookie'); // a 32-byte Buffer
 */
export function openAuditHmac(dir: string, opts: { create?: boolean } = {}): AuditHmac {
  const key = loadOrCreate(dir, opts.create ?? true);
  if (key.length < 32) throw new CountersignError('CONFIG_INVALID', `${join(dir, 'audit-hmac.key')} holds no 32-byte key`);
  const mask = (value: string) => `hmac-sha256:${createHmac('sha256', key).update(value, 'utf8').digest('hex')}`;
  return Object.assign(mask, { derive: (label: string) => Buffer.from(hkdfSync('sha256', key, 'countersign derived key', label, 32)) });
}

/**
 * Which configuration a key directory (the checkpoint signing keys and the
 * audit HMAC key) was made for: the config file's real path, in
 * `<dir>/made-for`, written once when the directory is first claimed and
 * replaced only by `countersign store adopt`. See service/store-owner.ts.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CountersignError } from '../../core/errors.ts';

const FILE = 'made-for';

/** The config `dir` was made for, or undefined when it names none (it is new, or older than this file). */
export function keyDirOwner(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, FILE), 'utf8').trim() || undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CountersignError('CONFIG_INVALID', `${join(dir, FILE)} cannot be read`);
  }
}

/**
 * The config `dir` belongs to: the one it names, else `config` when `claim`
 * (the directory is made if need be; of two processes claiming at once, the
 * first wins for both), else undefined.
 *
 * @example
 * claimKeyDir('./.countersign/keys', '/srv/countersign.yaml', { claim: true }); // '/srv/countersign.yaml', or the config that made it
 */
export function claimKeyDir(dir: string, config: string, opts: { claim: boolean }): string | undefined {
  const owner = keyDirOwner(dir);
  if (owner !== undefined || !opts.claim) return owner;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${config}\n`, { mode: 0o644 });
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  return keyDirOwner(dir);
}

/** `countersign store adopt`: `dir` now belongs to `config` (replaced whole, never half written). */
export function setKeyDirOwner(dir: string, config: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${config}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

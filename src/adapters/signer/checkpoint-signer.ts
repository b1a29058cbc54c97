/** The CheckpointSigner port over the on-disk Ed25519 keyring: the key's name is the log's origin. */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signNote } from '../../core/note.ts';
import type { CheckpointSigner } from '../../core/ports.ts';
import { openKeyring } from './ed25519-file.ts';

/**
 * @example
 * const signer = createCheckpointSigner('./.countersign/keys', 'countersign.example.com/prod');
 */
export function createCheckpointSigner(dir: string, origin: string): CheckpointSigner {
  const keyring = openKeyring(dir, origin);
  const lastPath = lastSignedPath(dir);
  return {
    origin,
    sign(text) {
      return { note: signNote(text, [{ name: keyring.name, privateKey: keyring.current.privateKey }]), keyId: keyring.current.keyId };
    },
    verifierKeys: () => keyring.verifiers().map((v) => v.verifierKey),
    lastSigned: () => readLast(lastPath),
    recordSigned(checkpoint) {
      const last = readLast(lastPath);
      if (last && last.size >= checkpoint.size) return;
      const tmp = `${lastPath}.${randomBytes(6).toString('hex')}.tmp`;
      writeFileSync(tmp, `${JSON.stringify({ size: checkpoint.size, root: checkpoint.root })}\n`, { mode: 0o600 });
      renameSync(tmp, lastPath);
    },
  };
}

const lastSignedPath = (dir: string): string => join(dir, 'last-checkpoint.json');

/**
 * The newest checkpoint signed with the keys in `dir`, as recorded beside them (null when none was): what `audit
 * verify` holds a store to, so a store put back to an older backup, its later checkpoints gone too, does not verify.
 *
 * @example
 * const last = lastSignedIn('./.countersign/keys'); // { size: 1234, root: '9f…' } | null
 */
export function lastSignedIn(dir: string): { size: number; root: string } | null {
  return readLast(lastSignedPath(dir));
}

/** The recorded checkpoint, or null when none was recorded; a file that does not read as one is refused (fail closed). */
function readLast(path: string): { size: number; root: string } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const v = JSON.parse(text) as { size?: unknown; root?: unknown };
  if (!Number.isSafeInteger(v.size) || typeof v.root !== 'string' || !/^[0-9a-f]{64}$/.test(v.root)) throw new Error(`${path} does not hold a checkpoint's size and root`);
  return { size: v.size as number, root: v.root };
}

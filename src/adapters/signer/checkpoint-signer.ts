/** The CheckpointSigner port over the on-disk Ed25519 keyring: the key's name is the log's origin. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CountersignError } from '../../core/errors.ts';
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
      // Read, compared and replaced under a lock: two worker processes signing at once would otherwise each compare
      // with what was there before either wrote, and the later rename could put back the smaller checkpoint.
      withLock(`${lastPath}.lock`, () => {
        const last = readLast(lastPath);
        if (last && last.size >= checkpoint.size) return;
        writeDurably(dir, lastPath, `${JSON.stringify({ size: checkpoint.size, root: checkpoint.root })}\n`);
      });
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

/** How long a record waits for another process's before it fails (a record takes milliseconds). */
const LOCK_WAIT_MS = 30_000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn` while holding `lock` across the worker processes that share the key directory: a write transaction on a
 * SQLite file there, so the lock is the operating system's (fcntl), held for the process and dropped when it dies.
 * A lock file made with O_EXCL and taken over once old instead had no safe takeover: two processes that both found it
 * left by a process that died could each remove it, one removing the lock the other had just made, and both then
 * replaced the record at once. The file stays (removing a lock file another process has open parts the two).
 */
function withLock(lock: string, fn: () => void): void {
  // Made owner-only like every file here. An empty file (what an older version's lock left) is an empty database;
  // nothing is ever written to it.
  closeSync(openSync(lock, 'a', 0o600));
  // Waited for in short sleeps of our own: SQLite's busy handler sleeps up to 100 ms at a time, long past the release.
  const db = new Database(lock, { timeout: 0 });
  try {
    for (let tries = 0, since = Date.now(); ; tries++) {
      try {
        db.exec('BEGIN IMMEDIATE');
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() - since > LOCK_WAIT_MS) throw e;
        Atomics.wait(pause, 0, 0, Math.min(1 + tries, 20));
      }
    }
    try {
      fn();
    } finally {
      db.exec('ROLLBACK');
    }
  } finally {
    db.close();
  }
}

/**
 * Replaces `path` whole: written to a new file, flushed, then renamed over it, the directory flushed too. Without the
 * flushes a crash of the host soon after could leave the new name on an empty file, and nothing would sign again.
 */
function writeDurably(dir: string, path: string, text: string): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  let d: number | undefined;
  try {
    d = openSync(dir, 'r');
    fsyncSync(d);
  } catch (e) {
    // Windows opens no directory for a flush (EISDIR, EPERM): the rename is what it offers.
    if (!['EISDIR', 'EPERM', 'EINVAL'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    if (d !== undefined) closeSync(d);
  }
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
  const v = parsed(text);
  if (!v || !Number.isSafeInteger(v.size) || typeof v.root !== 'string' || !/^[0-9a-f]{64}$/.test(v.root)) {
    throw new CountersignError(
      'AUDIT_INTEGRITY_FAILED',
      // Named as the docs name it, not by its full path: an export over HTTP can carry this message to a client.
      "last-checkpoint.json in the audit key directory (audit.keyDir) does not hold a checkpoint's size and root (a write cut short by a crash, or changed by hand); remove it once `countersign audit verify` passes without it: the next checkpoint signed records it again",
    );
  }
  return { size: v.size as number, root: v.root };
}

/** The JSON object in `text`, or null (reported by the caller with the file's name, not as a bare parse error). */
function parsed(text: string): { size?: unknown; root?: unknown } | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as { size?: unknown; root?: unknown }) : null;
  } catch {
    return null;
  }
}

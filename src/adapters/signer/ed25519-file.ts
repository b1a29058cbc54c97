/**
 * The checkpoint signing key, on disk beside (never inside) the database.
 *
 *   <dir>/current.key          the active Ed25519 private key, PKCS#8 PEM, mode 0600
 *   <dir>/keys/<key ID>.pub    the verifier key of every key ever used
 *
 * Rotation replaces current.key but keeps every public key, so a checkpoint
 * signed before a rotation still opens afterwards. Files are written to a
 * temporary name, flushed and renamed, so a crash never leaves half a key.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CountersignError } from '../../core/errors.ts';
import { ed25519PublicKey, isValidKeyName, parseVerifierKey, verifierKey, type NoteVerifier } from '../../core/note.ts';

/** A public key of the keyring, in the shape `openNote` takes, with its verifier key string. */
export interface KeyringVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly verifierKey: string;
}

/** The log's signing keys: one current private key, and every public key ever used. */
export interface Keyring {
  readonly name: string;
  /** The active key; `keyId` is 8 lowercase hex digits. */
  readonly current: { readonly keyId: string; readonly verifierKey: string; readonly privateKey: KeyObject };
  /** Every key ever used under this directory (the current one included). */
  verifiers(): KeyringVerifier[];
  /** Makes a new current key; the old public key stays in `verifiers()`, the old private key is gone. */
  rotate(): void;
}

const PUB_FILE = /^[0-9a-f]{8}\.pub$/;

const configError = (message: string) => new CountersignError('CONFIG_INVALID', message);

/**
 * Writes a whole file or nothing: a temporary name, fsync, then rename over
 * `path` (or, when `exclusive`, a hard link that fails if `path` exists).
 */
function writeWhole(path: string, data: string, mode: number, exclusive: boolean): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (exclusive) linkSync(tmp, path);
    else renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  if (exclusive) unlinkSync(tmp);
  syncDir(dirname(path));
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a directory; the file itself is already flushed.
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function identify(name: string, privateKey: KeyObject): Keyring['current'] {
  const vkey = verifierKey(name, ed25519PublicKey(privateKey));
  return { keyId: vkey.split('+')[1] ?? '', verifierKey: vkey, privateKey };
}

/**
 * Every public key recorded under a keyring directory, read only: a verifier
 * must never create a key where it expected one.
 *
 * @example
 * const keys = readVerifiers('/var/lib/countersign/signing'); // [] when none was ever made
 */
export function readVerifiers(dir: string): KeyringVerifier[] {
  const keysDir = join(dir, 'keys');
  let files: string[];
  try {
    files = readdirSync(keysDir);
  } catch {
    return [];
  }
  return files
    .filter((file) => PUB_FILE.test(file))
    .sort()
    .map((file) => {
      const path = join(keysDir, file);
      const text = readFileSync(path, 'utf8').trim();
      let parsed: NoteVerifier;
      try {
        parsed = parseVerifierKey(text);
      } catch (e) {
        throw configError(`${path} is not a verifier key: ${(e as Error).message}`);
      }
      if (`${Buffer.from(parsed.keyId).toString('hex')}.pub` !== file) throw configError(`${path} holds a key with another key ID`);
      return { ...parsed, verifierKey: verifierKey(parsed.name, parsed.publicKey) };
    });
}

/**
 * Opens the keyring in `dir`, creating the directory (0700) and a first key
 * (0600) if there is none. `name` is the key name on signature lines.
 *
 * @example
 * const keyring = openKeyring('/var/lib/countersign/signing', 'countersign.example/audit');
 * signNote(text, [{ name: keyring.name, privateKey: keyring.current.privateKey }]);
 */
export function openKeyring(dir: string, name: string): Keyring {
  if (!isValidKeyName(name)) {
    throw configError(`signing key name ${JSON.stringify(name)} must be non-empty with no space, '+' or control character`);
  }
  const keysDir = join(dir, 'keys');
  const keyPath = join(dir, 'current.key');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });

  /** Records a public key; the file name is its key ID, so a different key there is a collision. */
  function record(key: Keyring['current']): void {
    const path = join(keysDir, `${key.keyId}.pub`);
    const existing = readIfExists(path);
    if (existing === undefined) writeWhole(path, `${key.verifierKey}\n`, 0o644, true);
    else if (existing.trim() !== key.verifierKey) throw configError(`${path} holds a different key with the same key ID`);
  }

  function load(pem: string): Keyring['current'] {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: pem, format: 'pem' });
    } catch {
      throw configError(`${keyPath} is not a PEM private key`); // never echo the file's content
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw configError(`${keyPath} is not an Ed25519 key`);
    return identify(name, privateKey);
  }

  function generate(): Keyring['current'] {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = identify(name, privateKey);
    record(key); // the public key is on disk before anything can be signed with the private one
    return key;
  }

  function create(): Keyring['current'] {
    const key = generate();
    const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    try {
      writeWhole(keyPath, pem, 0o600, true);
      return key;
    } catch (e) {
      // Another process created the first key between our read and our write: use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      return load(readFileSync(keyPath, 'utf8'));
    }
  }

  const pem = readIfExists(keyPath);
  let current = pem === undefined ? create() : load(pem);
  record(current);

  return {
    name,
    get current() {
      return current;
    },
    verifiers() {
      const all = readVerifiers(dir);
      if (!all.some((v) => v.verifierKey === current.verifierKey)) {
        all.push({ ...parseVerifierKey(current.verifierKey), verifierKey: current.verifierKey });
      }
      return all;
    },
    rotate() {
      const next = generate();
      writeWhole(keyPath, next.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600, false);
      current = next;
    },
  };
}

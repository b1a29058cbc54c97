import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { isCountersignError } from '../../core/errors.ts';
import { formatCheckpoint, openNote, parseCheckpoint, parseVerifierKey, signNote } from '../../core/note.ts';
import { openKeyring, type Keyring } from './ed25519-file.ts';

const NAME = 'countersign.example/audit';
const posix = process.platform !== 'win32';
const dirs: string[] = [];

function freshDir(): string {
  const base = mkdtempSync(join(tmpdir(), 'countersign-keyring-'));
  dirs.push(base);
  return join(base, 'signing'); // does not exist yet: openKeyring makes it
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;
const signCheckpoint = (k: Keyring, size: number) =>
  signNote(formatCheckpoint({ origin: NAME, size, rootHash: new Uint8Array(32).fill(size) }), [{ name: k.name, privateKey: k.current.privateKey }]);

describe('openKeyring', () => {
  it('creates the directory 0700 and a PKCS#8 Ed25519 key 0600 on first use', () => {
    const dir = freshDir();
    const k = openKeyring(dir, NAME);
    expect(readFileSync(join(dir, 'current.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(k.current.privateKey.asymmetricKeyType).toBe('ed25519');
    if (posix) {
      expect(mode(dir)).toBe(0o700);
      expect(mode(join(dir, 'current.key'))).toBe(0o600);
    }
    expect(k.current.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(readFileSync(join(dir, 'keys', `${k.current.keyId}.pub`), 'utf8')).toBe(`${k.current.verifierKey}\n`);
    expect(parseVerifierKey(k.current.verifierKey).name).toBe(NAME);
    expect(readdirSync(dir).sort()).toEqual(['current.key', 'keys']); // no temporary file left behind
  });

  it('reopens the same key', () => {
    const dir = freshDir();
    const first = openKeyring(dir, NAME);
    const again = openKeyring(dir, NAME);
    expect(again.current.verifierKey).toBe(first.current.verifierKey);
    const signed = signCheckpoint(first, 3);
    expect(openNote(signed, again.verifiers()).verifiedKeys).toEqual([`${NAME}+${first.current.keyId}`]);
  });

  it('rotates to a new key and keeps the old verifier, so an old checkpoint still opens', () => {
    const dir = freshDir();
    const k = openKeyring(dir, NAME);
    const old = k.current;
    const before = signCheckpoint(k, 5);
    k.rotate();
    expect(k.current.verifierKey).not.toBe(old.verifierKey);
    if (posix) expect(mode(join(dir, 'current.key'))).toBe(0o600);
    const after = signCheckpoint(k, 6);

    const reopened = openKeyring(dir, NAME);
    expect(reopened.current.verifierKey).toBe(k.current.verifierKey);
    const verifiers = reopened.verifiers();
    expect(verifiers.map((v) => v.verifierKey).sort()).toEqual([old.verifierKey, k.current.verifierKey].sort());
    expect(parseCheckpoint(openNote(before, verifiers).text).size).toBe(5);
    expect(openNote(before, verifiers).verifiedKeys).toEqual([`${NAME}+${old.keyId}`]);
    expect(openNote(after, verifiers).verifiedKeys).toEqual([`${NAME}+${k.current.keyId}`]);
  });

  it('does not show the private key when the keyring is printed or serialized', () => {
    const dir = freshDir();
    const k = openKeyring(dir, NAME);
    const pemBody = readFileSync(join(dir, 'current.key'), 'utf8').split('\n')[1] ?? '';
    const seed = Buffer.from(pemBody, 'base64').subarray(-32).toString('base64');
    for (const shown of [JSON.stringify(k), JSON.stringify(k.current), inspect(k, { depth: 5 }), JSON.stringify(k.verifiers())]) {
      expect(shown).not.toContain(pemBody);
      expect(shown).not.toContain(seed);
    }
  });

  it('refuses a bad key name, a current.key that is not an Ed25519 PEM, and a tampered .pub', () => {
    const expectConfigError = (fn: () => unknown, message: RegExp) => {
      let caught: unknown;
      try {
        fn();
      } catch (e) {
        caught = e;
      }
      expect(isCountersignError(caught, 'CONFIG_INVALID'), String(caught)).toBe(true);
      expect((caught as Error).message).toMatch(message);
    };
    expectConfigError(() => openKeyring(freshDir(), 'has space'), /key name/);

    const dir = freshDir();
    const k = openKeyring(dir, NAME);
    writeFileSync(join(dir, 'keys', `${k.current.keyId}.pub`), 'garbage\n');
    expectConfigError(() => k.verifiers(), /is not a verifier key/);
    writeFileSync(join(dir, 'current.key'), 'not a key');
    expectConfigError(() => openKeyring(dir, NAME), /is not a PEM private key/);
  });
});

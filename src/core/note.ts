/**
 * Signed notes (c2sp.org/signed-note) and transparency-log checkpoints
 * (c2sp.org/tlog-checkpoint), Ed25519 only. The bytes are exactly those of
 * golang.org/x/mod/sumdb/note, so anyone can check our checkpoints with the
 * standard tools; signatures by other keys (a witness's cosignature, a
 * rotated-out key) are carried and ignored, as the spec requires.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { CountersignError } from './errors.ts';

/** A public key that may have signed a note. */
export interface NoteVerifier {
  readonly name: string;
  /** 4 bytes, big-endian, as on the signature line. */
  readonly keyId: Uint8Array;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** A key that signs a note; `privateKey` is an Ed25519 private KeyObject. */
export interface NoteSigner {
  readonly name: string;
  readonly privateKey: KeyObject;
}

export interface OpenedNote {
  /** The note text, with its final newline. */
  readonly text: string;
  /** Names of the known keys whose signatures verified, in order, each once. */
  readonly verifiedBy: string[];
  /** The same keys as `<name>+<key ID hex>`, which tells a rotated key from the current one. */
  readonly verifiedKeys: string[];
}

/** A tree head: origin, size and RFC 6962 root. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  /** 32 bytes. */
  readonly rootHash: Uint8Array;
  /** Opaque extra lines (the spec advises against them). */
  readonly extensions?: readonly string[];
}

const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 '; // em dash, space
const ED25519_SIG_BYTES = 64;
// The spec asks verifiers to cap signatures and accept at least 16; Go caps at 100.
const MAX_SIGNATURES = 100;
// Control characters other than newline, or a lone surrogate (not valid UTF-8).
const BAD_CHARS = /[\u0000-\u0009\u000b-\u001f]|\p{Cs}/u;
const BAD_NAME_CHARS = /[\p{White_Space}+\u0000-\u001f]|\p{Cs}/u;

const invalid = (message: string) => new CountersignError('INVALID_REQUEST', message);
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const toBase64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** Standard base64 (RFC 4648 §4) with padding, canonical only; undefined otherwise. */
function fromBase64(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? new Uint8Array(bytes) : undefined;
}

/**
 * Whether `name` may name a key: non-empty, no Unicode space, no '+', no control character.
 *
 * @example
 * isValidKeyName('countersign.example/audit'); // true
 */
export function isValidKeyName(name: string): boolean {
  return name !== '' && !BAD_NAME_CHARS.test(name);
}

function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) {
    throw invalid(`key name ${JSON.stringify(name)} must be non-empty with no space, '+' or control character`);
  }
}

/**
 * The key ID of an Ed25519 key (c2sp.org/signed-note §Ed25519 signatures):
 * SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4].
 *
 * @example
 * Buffer.from(keyId('PeterNeumann', pub)).toString('hex'); // 'c74f20a3'
 */
export function keyId(name: string, publicKey: Uint8Array): Uint8Array {
  assertKeyName(name);
  if (publicKey.length !== 32) throw invalid(`an Ed25519 public key is 32 bytes, not ${publicKey.length}`);
  const digest = createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, ALG_ED25519)).update(publicKey).digest();
  return new Uint8Array(digest.subarray(0, 4));
}

/**
 * The verifier key string `<name>+<key ID hex>+<base64(0x01 || public key)>`.
 *
 * @example
 * verifierKey('PeterNeumann', pub); // 'PeterNeumann+c74f20a3+ARpc2QcU…'
 */
export function verifierKey(name: string, publicKey: Uint8Array): string {
  const id = keyId(name, publicKey);
  return `${name}+${toHex(id)}+${toBase64(Uint8Array.of(ALG_ED25519, ...publicKey))}`;
}

/**
 * Parses a verifier key string, checking the key ID against the name and key.
 *
 * @example
 * parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW').name; // 'PeterNeumann'
 */
export function parseVerifierKey(s: string): NoteVerifier {
  const first = s.indexOf('+');
  const second = first < 0 ? -1 : s.indexOf('+', first + 1);
  if (second < 0) throw invalid('a verifier key has the form <name>+<key ID>+<base64 key>');
  const name = s.slice(0, first);
  const idHex = s.slice(first + 1, second);
  assertKeyName(name);
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw invalid('the key ID of a verifier key must be 8 hex digits');
  const raw = fromBase64(s.slice(second + 1));
  if (raw === undefined) throw invalid('the key of a verifier key must be canonical standard base64');
  if (raw[0] !== ALG_ED25519 || raw.length !== 33) throw invalid('only Ed25519 verifier keys (0x01 and 32 bytes) are supported');
  const publicKey = raw.slice(1);
  const id = keyId(name, publicKey);
  if (toHex(id) !== idHex.toLowerCase()) throw invalid(`key ID ${idHex} does not match the name and key of the verifier key`);
  return { name, keyId: id, publicKey };
}

/** The raw 32-byte public key of an Ed25519 private or public KeyObject. */
export function ed25519PublicKey(key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType !== 'ed25519') throw invalid('the key is not an Ed25519 key');
  const { x } = createPublicKey(key).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(x ?? '', 'base64url'));
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
  } catch {
    throw invalid('a verifier has an invalid Ed25519 public key');
  }
}

/**
 * Signs `text` (non-empty, ending in a newline, with no blank line) with each
 * signer, returning the whole signed note.
 *
 * @example
 * signNote('hello\n', [{ name: 'example.com/log', privateKey }]); // 'hello\n\n— example.com/log …=\n'
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n')) throw invalid('note text must be non-empty and end with a newline');
  if (text.startsWith('\n') || text.includes('\n\n')) throw invalid('note text must not contain a blank line');
  if (BAD_CHARS.test(text)) throw invalid('note text must be valid UTF-8 with no control character but newline');
  if (signers.length === 0) throw invalid('a note needs at least one signer');
  const msg = Buffer.from(text, 'utf8');
  const seen = new Set<string>();
  const lines = signers.map(({ name, privateKey }) => {
    if (privateKey.type !== 'private') throw invalid(`the key for ${name} is not a private key`);
    const id = keyId(name, ed25519PublicKey(privateKey));
    const label = `${name}+${toHex(id)}`;
    if (seen.has(label)) throw invalid(`key ${label} is given twice`);
    seen.add(label);
    const signature = sign(null, msg, privateKey);
    return `${SIG_PREFIX}${name} ${toBase64(Buffer.concat([id, signature]))}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

function verifierIndex(verifiers: readonly NoteVerifier[]): Map<string, { raw: Uint8Array; key: KeyObject }> {
  const index = new Map<string, { raw: Uint8Array; key: KeyObject }>();
  for (const v of verifiers) {
    if (v.keyId.length !== 4) throw invalid(`verifier ${v.name} has a key ID of ${v.keyId.length} bytes, not 4`);
    if (v.publicKey.length !== 32) throw invalid(`verifier ${v.name} has a public key of ${v.publicKey.length} bytes, not 32`);
    const label = `${v.name}+${toHex(v.keyId)}`;
    const had = index.get(label);
    if (had && !Buffer.from(had.raw).equals(v.publicKey)) throw invalid(`two different verifiers are both ${label}`);
    if (!had) index.set(label, { raw: v.publicKey, key: publicKeyObject(v.publicKey) });
  }
  return index;
}

/**
 * Verifies a signed note against known keys and returns its text. Signatures
 * by unknown keys are ignored; one that fails from a known key rejects the
 * note, and so does a note no known key signed.
 *
 * @example
 * openNote(signed, [parseVerifierKey(vkey)]).text; // 'If you think cryptography…\n'
 */
export function openNote(signedNote: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  let note: string;
  if (typeof signedNote === 'string') note = signedNote;
  else {
    try {
      note = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(signedNote);
    } catch {
      throw invalid('a signed note must be valid UTF-8');
    }
  }
  if (BAD_CHARS.test(note)) throw invalid('a signed note must be valid UTF-8 with no control character but newline');
  // The text ends at the last blank line (c2sp.org/signed-note §Format).
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw invalid('a signed note needs a blank line between its text and its signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw invalid('a signed note must end with signature lines, each ending in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw invalid(`a signed note may carry at most ${MAX_SIGNATURES} signatures`);

  const known = verifierIndex(verifiers);
  const msg = Buffer.from(text, 'utf8');
  const verifiedBy: string[] = [];
  const verifiedKeys: string[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith(SIG_PREFIX)) throw invalid(`signature line ${i + 1} does not start with an em dash and a space`);
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    if (!isValidKeyName(name)) throw invalid(`signature line ${i + 1} has an invalid key name`);
    const raw = space < 0 ? undefined : fromBase64(rest.slice(space + 1));
    if (raw === undefined || raw.length < 5) throw invalid(`signature line ${i + 1} (${name}) is not base64 of a key ID and a signature`);
    const label = `${name}+${toHex(raw.subarray(0, 4))}`;
    const verifier = known.get(label);
    if (!verifier) return; // an unknown key (a witness, another log): the spec says ignore it
    if (raw.length !== 4 + ED25519_SIG_BYTES) throw invalid(`the signature by ${label} is ${raw.length} bytes, not 4 + 64`);
    if (!verify(null, msg, verifier.key, raw.subarray(4))) throw invalid(`the signature by ${label} does not verify`);
    if (!verifiedBy.includes(name)) verifiedBy.push(name);
    if (!verifiedKeys.includes(label)) verifiedKeys.push(label);
  });
  if (verifiedKeys.length === 0) throw invalid('no known key signed this note');
  return { text, verifiedBy, verifiedKeys };
}

/**
 * The note text of a checkpoint: origin, tree size, base64 root hash, then
 * any extension lines, each ending in a newline.
 *
 * @example
 * formatCheckpoint({ origin: 'example.com/log', size: 3, rootHash }); // 'example.com/log\n3\n…=\n'
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  if (origin === '' || origin.includes('\n') || BAD_CHARS.test(origin)) throw invalid('a checkpoint origin must be one non-empty line');
  if (!Number.isSafeInteger(size) || size < 0) throw invalid('a tree size must be a non-negative safe integer');
  if (rootHash.length !== 32) throw invalid(`a root hash is 32 bytes, not ${rootHash.length}`);
  for (const line of extensions) {
    if (line === '' || line.includes('\n') || BAD_CHARS.test(line)) throw invalid('a checkpoint extension must be one non-empty line');
  }
  return [origin, String(size), toBase64(rootHash), ...extensions].map((line) => `${line}\n`).join('');
}

/**
 * Parses checkpoint note text (as `openNote` returns it), strictly.
 *
 * @example
 * parseCheckpoint('example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n').size; // 0
 */
export function parseCheckpoint(text: string): Checkpoint & { readonly extensions: readonly string[] } {
  if (!text.endsWith('\n')) throw invalid('checkpoint text must end with a newline');
  if (BAD_CHARS.test(text)) throw invalid('checkpoint text must be valid UTF-8 with no control character but newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) {
    throw invalid('a checkpoint has at least three lines: origin, tree size and root hash');
  }
  if (lines.includes('')) throw invalid('checkpoint lines must not be empty');
  if (!/^(?:0|[1-9][0-9]*)$/.test(sizeLine)) throw invalid('the tree size must be decimal with no sign or leading zero');
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw invalid('the tree size is larger than this implementation supports (2^53 - 1)');
  const rootHash = fromBase64(rootLine);
  if (rootHash === undefined || rootHash.length !== 32) throw invalid('the root hash must be canonical base64 of 32 bytes');
  return { origin, size, rootHash, extensions };
}

/**
 * Opens a signed checkpoint: its signature by one of `verifiers` (openNote), its text (parseCheckpoint), and a
 * signature by a key named for its origin. A log's key is named for its origin, and a note signs only its text: a key
 * that signed another log under another name (a key directory copied, an origin renamed) has a signature that
 * verifies relabelled with this log's key name and ID. Such a note is refused.
 *
 * @example
 * openCheckpoint(note, [parseVerifierKey(vkey)]).size; // 42
 */
export function openCheckpoint(signedNote: string, verifiers: readonly NoteVerifier[]): ReturnType<typeof parseCheckpoint> & { readonly verifiedKeys: string[] } {
  const opened = openNote(signedNote, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  if (!opened.verifiedBy.includes(checkpoint.origin)) {
    throw invalid(`the checkpoint is for origin ${checkpoint.origin}, but no key of that name signed it (signed as ${opened.verifiedBy.join(', ')})`);
  }
  return { ...checkpoint, verifiedKeys: opened.verifiedKeys };
}

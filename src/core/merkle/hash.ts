/**
 * RFC 6962 §2.1 hashing with SHA-256. Leaves and interior nodes get different
 * one-byte prefixes, so a leaf can never be passed off as a node (the second
 * preimage attack on plain Merkle trees). Node hashing reuses one scratch
 * buffer: verifying a large bundle hashes millions of nodes, and this keeps
 * each to a single allocation (the digest itself).
 */
import { hash } from 'node:crypto';

/** Length in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** The hash's bytes as a plain Uint8Array view (a Buffer's `slice` does not copy; a Uint8Array's does). */
function digest(data: Uint8Array | string): Uint8Array {
  const b = hash('sha256', data, 'buffer');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * MTH({}) = SHA-256 of the empty string (RFC 6962 §2.1). Shared: never mutate it.
 *
 * @example
 * toHex(EMPTY_ROOT); // 'e3b0c442…b855'
 */
export const EMPTY_ROOT: Uint8Array = digest(new Uint8Array(0));

const MAX_KEPT_SCRATCH = 4096;
let leafScratch = new Uint8Array(256);

/**
 * RFC 6962 §2.1: leaf hash = SHA-256(0x00 || leaf). A string is hashed as its
 * UTF-8 bytes (as TextEncoder writes them).
 *
 * @example
 * toHex(leafHash('')); // '6e340b9c…a01d'
 */
export function leafHash(leaf: Uint8Array | string): Uint8Array {
  if (typeof leaf === 'string') return digest(`\u0000${leaf}`);
  const length = leaf.length + 1;
  // Big leaves get a one-off buffer, so one large event does not pin memory.
  const buf = length <= leafScratch.length ? leafScratch : new Uint8Array(length);
  if (length <= MAX_KEPT_SCRATCH && buf !== leafScratch) leafScratch = buf;
  buf[0] = 0x00;
  buf.set(leaf, 1);
  return digest(buf.subarray(0, length));
}

const nodeScratch = new Uint8Array(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;

/**
 * RFC 6962 §2.1: node hash = SHA-256(0x01 || left || right).
 *
 * @example
 * nodeHash(leafHash('a'), leafHash('b')); // MTH(['a', 'b'])
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) throw new TypeError('a Merkle node joins two 32-byte hashes');
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return digest(nodeScratch);
}

/**
 * True for a value shaped like a tree hash (a 32-byte Uint8Array).
 *
 * @example
 * isHash(new Uint8Array(32)); // true
 */
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

/**
 * Byte equality of two hashes (not constant time: tree hashes are public).
 *
 * @example
 * equalHash(rootAt(src, 8), frontier.root()); // true
 */
export function equalHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Lower-case hex of any bytes.
 *
 * @example
 * toHex(Uint8Array.of(0, 255)); // '00ff'
 */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HASH_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Parses exactly one hash written as 64 hex digits; anything else throws.
 *
 * @example
 * hashFromHex('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328').length; // 32
 */
export function hashFromHex(hex: string): Uint8Array {
  if (!HASH_HEX.test(hex)) throw new TypeError('a tree hash is 64 hex digits');
  const out = new Uint8Array(HASH_SIZE);
  for (let i = 0; i < HASH_SIZE; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

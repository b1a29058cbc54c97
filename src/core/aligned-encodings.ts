/**
 * A secret inside a larger encoded blob: the characters of its base64 or
 * base32 encoding that depend on the secret alone, at each byte alignment it
 * may start at, so the scrubber (scrub.ts) recognises it wherever it lies.
 */

/** The characters of base64(x) that depend on x alone, when x starts `k` bytes into the encoded data. */
export function base64Aligned(bytes: Buffer, k: number, url: boolean): string {
  const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString(url ? 'base64url' : 'base64');
  return encoded.slice(Math.ceil((4 * k) / 3), Math.floor((4 * (k + bytes.length)) / 3));
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 of `bytes` after `k` zero bytes, keeping only the characters that depend on `bytes` alone. */
export function base32Aligned(bytes: Buffer, k: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of Buffer.concat([Buffer.alloc(k), bytes])) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.slice(Math.ceil((8 * k) / 5), Math.floor((8 * (k + bytes.length)) / 5));
}

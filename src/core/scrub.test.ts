import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createSecretScrubber } from './scrub.ts';
import { secretParts } from './secret-parts.ts';

const TOKEN = 'tok_live/Xy9+Qz7=abc123';
const PASSWORD = 'hunter2-s3cret';
const BASIC = `Basic ${Buffer.from(`svc-user:${PASSWORD}`).toString('base64')}`;
const scrubber = createSecretScrubber(secretParts([`Bearer ${TOKEN}`, BASIC]));

function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  return (bits.match(/.{1,5}/g) ?? []).map((c) => alphabet[Number.parseInt(c.padEnd(5, '0'), 2)]).join('');
}

/** Every way an echo might write `s` that the scrubber must see through. */
function encodings(s: string): Record<string, string> {
  const b64 = (x: string) => Buffer.from(x).toString('base64');
  return {
    raw: s,
    json: JSON.stringify(s).slice(1, -1),
    jsonSlash: s.replaceAll('/', '\\/'),
    unicodeEscapes: [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
    someUnicodeEscapes: [...s].map((c, i) => (i % 3 ? c : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)).join(''),
    percent: encodeURIComponent(s),
    percentAll: [...Buffer.from(s)].map((b) => `%${b.toString(16)}`).join(''),
    percentAllUpper: [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase()}`).join(''),
    doublePercent: encodeURIComponent(encodeURIComponent(s)),
    html: [...s].map((c) => `&#${c.charCodeAt(0)};`).join(''),
    htmlHex: [...s].map((c) => `&#x${c.charCodeAt(0).toString(16)};`).join(''),
    base64: b64(s),
    base64url: Buffer.from(s).toString('base64url'),
    base64Offset1: b64(`x${s}yz`),
    base64Offset2: b64(`xy${s}z`),
    base64InJson: b64(JSON.stringify({ headers: { authorization: s } })),
    base64OfEscaped: b64(`{"a":"${s.replaceAll('/', '\\/')}"}`),
    base64Wrapped: b64(`${'pad '.repeat(30)}${s}${' pad'.repeat(30)}`).replace(/(.{76})/g, '$1\n'),
    hex: Buffer.from(s).toString('hex'),
    hexUpper: Buffer.from(s).toString('hex').toUpperCase(),
    hexInBlob: Buffer.from(`1${s}2`).toString('hex'),
    upperCase: s.toUpperCase(),
    reversed: [...s].reverse().join(''),
    byteArray: JSON.stringify([...Buffer.from(s)]),
    byteArrayPretty: JSON.stringify({ type: 'Buffer', data: [...Buffer.from(s)] }, null, 2),
    byteListSpaced: [...Buffer.from(s)].join(' '),
    byteListHex: [...Buffer.from(s)].map((b) => `0x${b.toString(16)}`).join(';'),
    hexPairs: [...Buffer.from(s)].map((b) => b.toString(16).padStart(2, '0')).join(' '),
    hexPairsColon: [...Buffer.from(s)].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':'),
    octalEscapes: [...Buffer.from(s)].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join(''),
    percentU: [...s].map((c) => `%u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
    quotedPrintable: [...Buffer.from(s)].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
    base32: base32(Buffer.from(`ab${s}`)),
    base32Lower: base32(Buffer.from(`abc${s}`)).toLowerCase(),
  };
}

describe('createSecretScrubber', () => {
  it('derives the parts of a Basic credential: the header, the token, user:password and the password', () => {
    expect(secretParts([BASIC])).toEqual(expect.arrayContaining([BASIC, `svc-user:${PASSWORD}`, PASSWORD]));
  });

  for (const secret of [TOKEN, PASSWORD, BASIC]) {
    for (const [name, form] of Object.entries(encodings(secret))) {
      it(`finds ${secret.slice(0, 8)}… written as ${name}`, () => {
        const body = `{"echo":"before ${form} after","n":1}`;
        const { text, clean } = scrubber.scrub(body);
        expect(clean).toBe(true);
        expect(text).toContain('[redacted]');
        for (const f of Object.values(encodings(secret))) expect(text).not.toContain(f);
        expect(text).toContain('before');
      });
    }
  }

  it('leaves text without secrets alone', () => {
    const body = '{"ok":true,"path":"/a%20b","html":"&amp;","esc":"\\u00e9"}';
    expect(scrubber.scrub(body)).toEqual({ text: body, clean: true });
  });

  it('scrubs keys and values of a value, at any depth', () => {
    const out = scrubber.scrubValue({ content: [{ type: 'text', text: `got ${TOKEN}` }], [PASSWORD]: { x: [Buffer.from(PASSWORD).toString('base64')] } });
    expect(JSON.stringify(out)).not.toContain(TOKEN);
    expect(JSON.stringify(out)).not.toContain(PASSWORD);
    expect(JSON.stringify(out)).not.toContain(Buffer.from(PASSWORD).toString('base64'));
  });

  it('a body read up to a limit that falls inside a secret keeps none of its beginning, in any form', () => {
    const starting = ['raw', 'json', 'jsonSlash', 'unicodeEscapes', 'percent', 'percentAllUpper', 'html', 'base64', 'base64url', 'hex', 'hexUpper', 'byteListSpaced', 'hexPairs', 'octalEscapes', 'percentU'];
    const all = encodings(TOKEN);
    for (const name of starting) {
      const text = `${'x'.repeat(50)}${all[name]}`;
      for (let at = 50; at <= text.length - 1; at++) {
        // The body as read stops at `at` (the read limit): scrubbed with its end cut back.
        const out = scrubber.scrubEnded(`${'x'.repeat(5000)}${text.slice(0, at)}`).text;
        expect(out.length).toBeGreaterThan(4000);
        expect(out.replace(/^x*/, '').replaceAll('[redacted]', ''), `${name} cut at ${at}`).toBe('');
      }
    }
  });

  it('what a cut leaves does not depend on whether the text ends in the beginning of a secret', () => {
    const pad = 'x'.repeat(2000);
    for (const guess of [TOKEN.slice(0, 3), TOKEN.slice(0, 12), `Bearer ${TOKEN.slice(0, 5)}`, TOKEN.slice(4, 9)]) {
      const wrong = guess.replace(/.$/, (c) => (c === '#' ? '!' : '#'));
      expect(scrubber.scrubEnded(pad + guess).text.length).toBe(scrubber.scrubEnded(pad + wrong).text.length);
      expect(scrubber.clip(pad + guess + 'more', pad.length + guess.length)).toBe(pad + guess);
    }
  });

  it('looks for pieces of a token at every 4th character: any 12 in a row are found, a piece from elsewhere is not', () => {
    for (let i = 0; i + 12 <= TOKEN.length; i++) expect(scrubber.scrub(`a ${TOKEN.slice(i, i + 12)} b`).text).toContain('[redacted]');
    const pieces = Array.from({ length: TOKEN.length - 9 }, (_, i) => scrubber.scrub(TOKEN.slice(i, i + 9)).text === '[redacted]');
    expect(pieces.filter(Boolean).length).toBe(Math.ceil((TOKEN.length - 8) / 4));
  });

  it('a password inside a Basic credential answers no more guesses than a token: its pieces are those of user:password', () => {
    const password = 'Zq8Lm2Xv4Pw7Hs9Kd3Rt6Yb';
    const basic = createSecretScrubber(secretParts([`Basic ${Buffer.from(`svc-user:${password}`).toString('base64')}`]));
    const redacted = (t: string) => basic.scrub(`a ${t} b`).text.includes('[redacted]');
    let learned = 0;
    for (let known = 8; known < password.length; known++) {
      // The 8 characters before the one it guesses: a piece, if one starts there.
      const c = password[known]!;
      if (redacted(password.slice(known - 8, known) + c) !== redacted(password.slice(known - 8, known) + (c === '#' ? '!' : '#'))) learned++;
    }
    expect(learned).toBeLessThanOrEqual(Math.ceil((password.length - 8) / 4));
    for (let i = 0; i + 12 <= password.length; i++) expect(redacted(password.slice(i, i + 12))).toBe(true);
  });

  it('sees no secret in a gzip stream: the caller must decode first', () => {
    expect(scrubber.scrub(gzipSync(TOKEN).toString('latin1')).text).not.toContain('[redacted]');
  });
});

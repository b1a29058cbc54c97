import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCountersignError } from './errors.ts';
import {
  ed25519PublicKey,
  formatCheckpoint,
  keyId,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  signNote,
  verifierKey,
} from './note.ts';

// Vectors from golang.org/x/mod/sumdb/note (example_test.go, note_test.go).
// EnochRoot is the key GenerateKey makes from an all-zero random reader there.
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
// The worked example of c2sp.org/signed-note (revision d4c16da5), signed by another implementation.
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE = 'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const fromSeed = (seed: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
const peterKey = fromSeed(Buffer.from(GO_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1));
const enochKey = fromSeed(new Uint8Array(32));
const newKey = (): KeyObject => generateKeyPairSync('ed25519').privateKey;
const verifierOf = (name: string, key: KeyObject) => parseVerifierKey(verifierKey(name, ed25519PublicKey(key)));

function rejects(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isCountersignError(e, 'INVALID_REQUEST'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected a rejection matching ${message}`);
}

describe('interop with golang.org/x/mod/sumdb/note and the C2SP example', () => {
  it("opens Go's signed note with Go's verifier key", () => {
    const opened = openNote(GO_TEXT + '\n' + PETER_SIG, [parseVerifierKey(PETER_VKEY)]);
    expect(opened).toEqual({ text: GO_TEXT, verifiedBy: ['PeterNeumann'], verifiedKeys: ['PeterNeumann+c74f20a3'] });
  });

  it("signs byte for byte what Go's note.Sign prints (Ed25519 is deterministic)", () => {
    expect(signNote(GO_TEXT, [{ name: 'PeterNeumann', privateKey: peterKey }])).toBe(GO_TEXT + '\n' + PETER_SIG);
    expect(signNote(GO_TEXT, [{ name: 'PeterNeumann', privateKey: peterKey }, { name: 'EnochRoot', privateKey: enochKey }]))
      .toBe(GO_TEXT + '\n' + PETER_SIG + ENOCH_SIG);
  });

  it("derives Go's verifier keys from the private keys", () => {
    expect(verifierKey('PeterNeumann', ed25519PublicKey(peterKey))).toBe(PETER_VKEY);
    expect(verifierKey('EnochRoot', ed25519PublicKey(enochKey))).toBe(ENOCH_VKEY);
  });

  it("opens Go's doubly signed note with either or both keys", () => {
    const note = GO_TEXT + '\n' + PETER_SIG + ENOCH_SIG;
    expect(openNote(note, [parseVerifierKey(ENOCH_VKEY)]).verifiedBy).toEqual(['EnochRoot']);
    expect(openNote(note, [parseVerifierKey(PETER_VKEY), parseVerifierKey(ENOCH_VKEY)]).verifiedBy).toEqual(['PeterNeumann', 'EnochRoot']);
  });

  it('opens the signed-note spec example', () => {
    expect(openNote(SPEC_NOTE, [parseVerifierKey(SPEC_VKEY)]).text).toBe('This is an example message.\n');
  });
});

describe('keys', () => {
  it('computes the key ID as SHA-256(name || 0x0A || 0x01 || key)[:4]', () => {
    const pub = ed25519PublicKey(peterKey);
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from('PeterNeumann\n'), Buffer.from([1]), pub])).digest().subarray(0, 4);
    expect(Buffer.from(keyId('PeterNeumann', pub)).toString('hex')).toBe(expected.toString('hex'));
    expect(expected.toString('hex')).toBe('c74f20a3');
  });

  it('parses a verifier key into name, key ID and public key, and prints it back', () => {
    const v = parseVerifierKey(PETER_VKEY);
    expect(v.name).toBe('PeterNeumann');
    expect(Buffer.from(v.keyId).toString('hex')).toBe('c74f20a3');
    expect(verifierKey(v.name, v.publicKey)).toBe(PETER_VKEY);
  });

  it('rejects every substring and every one-character change of a verifier key (as Go tests)', () => {
    for (let i = 0; i < PETER_VKEY.length; i++) {
      for (let j = i + 1; j <= PETER_VKEY.length; j++) {
        if (i !== 0 || j !== PETER_VKEY.length) rejects(() => parseVerifierKey(PETER_VKEY.slice(i, j)), /./);
      }
      const changed = PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1);
      rejects(() => parseVerifierKey(changed), /./);
    }
    rejects(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='), /base64|Ed25519/);
    rejects(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), /Ed25519/);
  });

  it('refuses key names that are empty or hold a space, a plus or a control character', () => {
    const pub = ed25519PublicKey(newKey());
    for (const name of ['', 'a b', 'a+b', 'a\tb', 'a\u00a0b', 'a\u2028b', 'a\u0001b']) rejects(() => verifierKey(name, pub), /key name/);
    rejects(() => verifierKey('ok', pub.subarray(1)), /32 bytes/);
  });
});

describe('signNote and openNote', () => {
  const line = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => !/[\u0000-\u001f]/.test(s));

  it('round-trips any text of non-empty lines', () => {
    const key = newKey();
    const v = verifierOf('countersign.example/log', key);
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 5 }), (lines) => {
        const text = lines.map((l) => `${l}\n`).join('');
        expect(openNote(signNote(text, [{ name: v.name, privateKey: key }]), [v]).text).toBe(text);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects the note if any character of the text changes', () => {
    const v = parseVerifierKey(PETER_VKEY);
    for (let i = 0; i < GO_TEXT.length; i++) {
      if (GO_TEXT[i] === '\n') continue;
      const tampered = GO_TEXT.slice(0, i) + (GO_TEXT[i] === 'X' ? 'Y' : 'X') + GO_TEXT.slice(i + 1);
      rejects(() => openNote(tampered + '\n' + PETER_SIG, [v]), /PeterNeumann\+c74f20a3 does not verify/);
    }
  });

  it('rejects a signature that a key with the same name and key ID does not verify', () => {
    const impostor = { ...parseVerifierKey(PETER_VKEY), publicKey: ed25519PublicKey(newKey()) };
    rejects(() => openNote(GO_TEXT + '\n' + PETER_SIG, [impostor]), /does not verify/);
  });

  it('rejects a note signed only by unknown keys, even one sharing the name', () => {
    const other = verifierOf('PeterNeumann', newKey());
    rejects(() => openNote(GO_TEXT + '\n' + PETER_SIG + ENOCH_SIG, [other]), /no known key/);
    rejects(() => openNote(GO_TEXT + '\n' + PETER_SIG, []), /no known key/);
  });

  it('accepts a note with one known and one unknown signer, and ignores a cosignature of another size', () => {
    const mine = newKey();
    const v = verifierOf('countersign.example/log', mine);
    const signed = signNote('tree\n', [{ name: 'witness.example', privateKey: newKey() }, { name: v.name, privateKey: mine }]);
    expect(openNote(signed, [v]).verifiedBy).toEqual([v.name]);
    const cosig = `— witness.example ${Buffer.alloc(4 + 8 + 64, 7).toString('base64')}\n`;
    expect(openNote(signed + cosig, [v]).verifiedBy).toEqual([v.name]);
  });

  it('splits text from signatures at the last blank line, so the text may hold one (spec §Format)', () => {
    const text = 'first\n\nsecond\n';
    const id = keyId('PeterNeumann', ed25519PublicKey(peterKey));
    const sig = Buffer.concat([id, sign(null, Buffer.from(text), peterKey)]).toString('base64');
    expect(openNote(`${text}\n— PeterNeumann ${sig}\n`, [parseVerifierKey(PETER_VKEY)]).text).toBe(text);
  });

  it('takes the note as bytes too, and rejects bytes that are not UTF-8', () => {
    const v = parseVerifierKey(PETER_VKEY);
    expect(openNote(Buffer.from(GO_TEXT + '\n' + PETER_SIG), [v]).text).toBe(GO_TEXT);
    rejects(() => openNote(Buffer.concat([Buffer.from([0xff]), Buffer.from(GO_TEXT + '\n' + PETER_SIG)]), [v]), /UTF-8/);
  });

  it('rejects malformed notes, naming the problem', () => {
    const v = [parseVerifierKey(PETER_VKEY)];
    const peterRaw = Buffer.from(PETER_SIG.slice(15, -1), 'base64');
    rejects(() => openNote(GO_TEXT, v), /blank line/);
    rejects(() => openNote(GO_TEXT + '\n', v), /end with signature lines/);
    rejects(() => openNote(GO_TEXT + '\n' + PETER_SIG.slice(0, -1), v), /end with signature lines/);
    rejects(() => openNote('\u0001' + GO_TEXT + '\n' + PETER_SIG, v), /control character/);
    rejects(() => openNote('\ud800' + GO_TEXT + '\n' + PETER_SIG, v), /UTF-8/);
    rejects(() => openNote(GO_TEXT + '\n' + PETER_SIG + 'Unexpected line.\n', v), /line 2 does not start with an em dash/);
    rejects(() => openNote(GO_TEXT + '\n' + PETER_SIG.replace('—', '-'), v), /em dash/);
    rejects(() => openNote(GO_TEXT + '\n— Bad Name x08go/ZJku\n', v), /not base64/);
    rejects(() => openNote(GO_TEXT + '\n— PeterNeumann x08go/ZJku!\n', v), /not base64/);
    rejects(() => openNote(GO_TEXT + '\n— PeterNeumann\n', v), /not base64/);
    rejects(() => openNote(GO_TEXT + '\n— PeterNeumann ' + peterRaw.subarray(0, 67).toString('base64') + '\n', v), /67 bytes, not 4 \+ 64/);
    rejects(() => openNote(GO_TEXT + '\n' + PETER_SIG.repeat(101), v), /at most 100/);
  });

  it('refuses to sign text that is empty, unterminated, has a blank line or control characters', () => {
    const s = [{ name: 'PeterNeumann', privateKey: peterKey }];
    rejects(() => signNote('', s), /end with a newline/);
    rejects(() => signNote('abc', s), /end with a newline/);
    rejects(() => signNote('a\n\nb\n', s), /blank line/);
    rejects(() => signNote('\n', s), /blank line/);
    rejects(() => signNote('a\rb\n', s), /control character/);
    rejects(() => signNote('a\n', []), /at least one signer/);
    rejects(() => signNote('a\n', [s[0]!, s[0]!]), /given twice/);
    rejects(() => signNote('a\n', [{ name: 'a b', privateKey: peterKey }]), /key name/);
  });
});

describe('checkpoints', () => {
  const root = createHash('sha256').update('').digest();

  it('formats origin, size and base64 root, one per line', () => {
    expect(formatCheckpoint({ origin: 'example.com/log', size: 0, rootHash: root }))
      .toBe('example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n');
    expect(formatCheckpoint({ origin: 'o', size: 12, rootHash: root, extensions: ['x y'] })).toMatch(/^o\n12\n.{44}\nx y\n$/);
  });

  it('parses the tlog-checkpoint spec example and prints it back unchanged', () => {
    const text = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const cp = parseCheckpoint(text);
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(formatCheckpoint(cp)).toBe(text);
  });

  it('round-trips any checkpoint', () => {
    fc.assert(
      fc.property(fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.array(fc.constantFrom('ext', 'a b', 'Timestamp: 1'), { maxLength: 2 }),
        (size, rootHash, extensions) => {
          const cp = parseCheckpoint(formatCheckpoint({ origin: 'example.com/log', size, rootHash, extensions }));
          expect(cp).toEqual({ origin: 'example.com/log', size, rootHash, extensions });
        }),
    );
  });

  it('rejects sizes with leading zeros or signs, roots that are not 32 bytes, and empty lines', () => {
    const r = root.toString('base64');
    for (const size of ['01', '00', '-1', '+1', ' 1', '1.0', '1e3', '0x10', '']) rejects(() => parseCheckpoint(`o\n${size}\n${r}\n`), /./);
    rejects(() => parseCheckpoint(`o\n9007199254740992\n${r}\n`), /2\^53/);
    rejects(() => parseCheckpoint(`o\n1\n${root.subarray(1).toString('base64')}\n`), /32 bytes/);
    rejects(() => parseCheckpoint(`o\n1\n${r.slice(0, -1)}\n`), /32 bytes/);
    rejects(() => parseCheckpoint(`o\n1\n${r}`), /newline/);
    rejects(() => parseCheckpoint(`o\n1\n`), /three lines/);
    rejects(() => parseCheckpoint(`o\n1\n${r}\n\n`), /empty/);
    rejects(() => parseCheckpoint(`\n1\n${r}\n`), /empty/);
    rejects(() => formatCheckpoint({ origin: 'o', size: -1, rootHash: root }), /tree size/);
    rejects(() => formatCheckpoint({ origin: 'o\nx', size: 1, rootHash: root }), /origin/);
    rejects(() => formatCheckpoint({ origin: 'o', size: 1, rootHash: root, extensions: [''] }), /extension/);
  });

  it('signs a checkpoint as a note that opens back to the same tree head', () => {
    const key = newKey();
    const v = verifierOf('countersign.example/log', key);
    const signed = signNote(formatCheckpoint({ origin: v.name, size: 7, rootHash: root }), [{ name: v.name, privateKey: key }]);
    const cp = parseCheckpoint(openNote(signed, [v]).text);
    expect(cp.size).toBe(7);
    expect(Buffer.from(cp.rootHash).equals(root)).toBe(true);
  });
});

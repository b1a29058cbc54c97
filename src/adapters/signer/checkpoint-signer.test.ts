import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCheckpointSigner, lastSignedIn } from './checkpoint-signer.ts';

const ORIGIN = 'countersign.example/audit';
const ROOT = 'ab'.repeat(32);
const dirs: string[] = [];

function keyDir(): string {
  const base = mkdtempSync(join(tmpdir(), 'countersign-last-'));
  dirs.push(base);
  return join(base, 'keys');
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the newest checkpoint recorded beside the key', () => {
  it('is read back as written, and its write leaves no file behind but the record and its lock', () => {
    const dir = keyDir();
    const signer = createCheckpointSigner(dir, ORIGIN);
    expect(lastSignedIn(dir)).toBeNull();
    signer.recordSigned({ size: 7, root: ROOT });
    signer.recordSigned({ size: 5, root: 'cd'.repeat(32) });
    expect(lastSignedIn(dir)).toEqual({ size: 7, root: ROOT });
    expect(readdirSync(dir).filter((f) => f.includes('last-checkpoint')).sort()).toEqual(['last-checkpoint.json', 'last-checkpoint.json.lock']);
  });

  it.each([
    ['empty (a write torn by a crash)', ''],
    ['cut short', '{"size":7,"ro'],
    ['of another shape', '{"size":"7"}'],
  ])('is refused when %s, naming the file and what to do', (_name, text) => {
    const dir = keyDir();
    const signer = createCheckpointSigner(dir, ORIGIN);
    writeFileSync(join(dir, 'last-checkpoint.json'), text);
    for (const read of [() => lastSignedIn(dir), () => signer.lastSigned()]) {
      expect(read).toThrow(/^last-checkpoint\.json in the audit key directory \(audit\.keyDir\) does not hold .* remove it/);
    }
  });
});

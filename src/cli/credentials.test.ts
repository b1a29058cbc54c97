import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearerFor, saveToken } from './credentials.ts';

let dir: string;
let saved: string | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cs-credentials-'));
  saved = process.env['COUNTERSIGN_CREDENTIALS'];
  process.env['COUNTERSIGN_CREDENTIALS'] = join(dir, 'credentials.json');
});

afterEach(() => {
  if (saved === undefined) delete process.env['COUNTERSIGN_CREDENTIALS'];
  else process.env['COUNTERSIGN_CREDENTIALS'] = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('the saved credentials file', () => {
  it('is written for its user alone, replacing a file that was readable by others before it ever holds the token', () => {
    const path = join(dir, 'credentials.json');
    writeFileSync(path, '{}\n', { mode: 0o644 });
    saveToken('https://gw.example', { token: 'csl_secret', expiresAt: null, issuer: 'https://idp.example' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(bearerFor('https://gw.example', undefined)).toBe('csl_secret');
  });

  it('never follows a link planted where it goes: the token lands in the file, not where the link points', () => {
    const path = join(dir, 'credentials.json');
    const elsewhere = join(dir, 'elsewhere.json');
    writeFileSync(elsewhere, 'decoy', { mode: 0o644 });
    symlinkSync(elsewhere, path);
    saveToken('https://gw.example', { token: 'csl_secret', expiresAt: null, issuer: 'https://idp.example' });
    expect(readFileSync(elsewhere, 'utf8')).toBe('decoy');
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

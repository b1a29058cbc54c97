import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditHmac } from './audit-hmac.ts';

const dirs: string[] = [];
const keyDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cs-hmac-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the audit HMAC key', () => {
  it('derives a key no mask in the audit log gives away', () => {
    const dir = keyDir();
    const hmac = openAuditHmac(dir);
    const label = 'countersign oidc flow cookie';
    const derived = hmac.derive(label);
    expect(derived).toHaveLength(32);
    // An agent can have any value masked into the log (a header value always is): the derived key is none of them.
    for (const v of [label, `${label} key`, `${label} v1`, '', derived.toString('hex')]) {
      const masked = hmac(v);
      expect(masked).not.toContain(derived.toString('hex'));
    }
    expect(hmac(label)).not.toBe(`hmac-sha256:${derived.toString('hex')}`);
  });

  it('derives the same key on every replica of the deployment, another for another label', () => {
    const dir = keyDir();
    expect(openAuditHmac(dir).derive('a').equals(openAuditHmac(dir).derive('a'))).toBe(true);
    expect(openAuditHmac(dir).derive('a').equals(openAuditHmac(dir).derive('b'))).toBe(false);
    expect(openAuditHmac(keyDir()).derive('a').equals(openAuditHmac(dir).derive('a'))).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { createSecretScrubber } from './scrub.ts';
import { secretParts } from './secret-parts.ts';

describe('secretParts', () => {
  it('takes each long enough value of a name=value list: a Cookie header, a token parameter, a query', () => {
    expect(secretParts(['session=sess-9Qz4Lm; theme=dark'])).toEqual(expect.arrayContaining(['sess-9Qz4Lm']));
    expect(secretParts(['session=sess-9Qz4Lm; theme=dark'])).not.toContain('dark');
    // A numeric session id, and one of letters of both cases, read as tokens too; a port or a word does not.
    expect(secretParts(['sid=83920193746155; auth=qTrWxYzAbCdEfGhK; port=5432; mode=production'])).toEqual(expect.arrayContaining(['83920193746155', 'qTrWxYzAbCdEfGhK']));
    expect(secretParts(['sid=83920193746155; auth=qTrWxYzAbCdEfGhK; port=5432; mode=production'])).not.toContain('production');
    expect(secretParts(['Token token="abc123xyz", realm="api"'])).toEqual(expect.arrayContaining(['abc123xyz']));
    expect(secretParts(['https://h/x?user=svc&key=k3y%2Fpart'])).toEqual(expect.arrayContaining(['k3y%2Fpart', 'k3y/part']));
  });

  it('takes the password of a URL, as written and as a parser decodes it, and user:password', () => {
    expect(secretParts(['postgres://svc:pg-7Kw2x@db.internal:5432/app'])).toEqual(expect.arrayContaining(['pg-7Kw2x', 'svc:pg-7Kw2x']));
    expect(secretParts(['--db=mysql://root:p%40ss%2Fw0rd@h/x'])).toEqual(expect.arrayContaining(['p@ss/w0rd', 'root:p@ss/w0rd']));
  });

  it('so a scrubber finds a cookie or a URL password quoted alone', () => {
    const s = createSecretScrubber(secretParts(['session=sess-9Qz4Lm; theme=dark', 'postgres://svc:pg-7Kw2x@db/app']));
    expect(s.scrub('{"cookies":{"session":"sess-9Qz4Lm","theme":"dark"},"password":"pg-7Kw2x"}').text).toBe('{"cookies":{"session":"[redacted]","theme":"dark"},"password":"[redacted]"}');
  });

  it('leaves out the words beside a credential (settings, not tokens), which every output would lose', () => {
    const parts = secretParts(['postgres://svc:pg-7Kw2x@db/app?sslmode=require&application_name=countersign', 'session=sess-9Qz4Lm; locale=english']);
    for (const word of ['require', 'countersign', 'english']) expect(parts).not.toContain(word);
  });

  it('leaves base64 padding and short values out', () => {
    expect(secretParts(['Bearer YWJjZGVmZ2g=='])).toEqual(['Bearer YWJjZGVmZ2g==', 'YWJjZGVmZ2g==']);
  });
});

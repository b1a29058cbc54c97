import { describe, expect, it } from 'vitest';
import { CountersignError } from '../core/errors.ts';
import { parseConfig } from './load.ts';

const conn = (extra: string) => `connections:\n  - { name: db, kind: postgres, url: "postgres://u@h/d"${extra} }\n`;
const cache = (text: string) => {
  const c = parseConfig(text, 'countersign.yaml', {}).connections[0];
  return c?.kind === 'postgres' ? c.sessionCheckCache : 'not postgres';
};

describe('a postgres connection\'s sessionCheckCache', () => {
  it('is off unless asked for; true means the countersign schema', () => {
    expect(cache(conn(''))).toBe(false);
    expect(cache(conn(', sessionCheckCache: false'))).toBe(false);
    expect(cache(conn(', sessionCheckCache: true'))).toEqual({ schema: 'countersign' });
    expect(cache(conn(', sessionCheckCache: { schema: ops }'))).toEqual({ schema: 'ops' });
  });

  it('refuses a schema name that is not a plain lower-case identifier', () => {
    try {
      parseConfig(conn(', sessionCheckCache: { schema: "Ops; DROP" }'), 'countersign.yaml', {});
      throw new Error('expected the config to be refused');
    } catch (e) {
      expect((e as CountersignError).code).toBe('CONFIG_INVALID');
      expect((e as CountersignError).message).toContain('sessionCheckCache');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { CountersignError } from '../core/errors.ts';
import { parseConfig } from './load.ts';

function problems(text: string): string {
  try {
    parseConfig(text, 'countersign.yaml', {});
  } catch (e) {
    expect((e as CountersignError).code).toBe('CONFIG_INVALID');
    return (e as CountersignError).message;
  }
  throw new Error('expected the config to be refused');
}

describe('server.heap', () => {
  it('defaults to 8 MB semi-spaces and 30 % old-space growth, and takes other values', () => {
    expect(parseConfig('{}', 'countersign.yaml', {}).server.heap).toEqual({ maxSemiSpaceMb: 8, oldSpaceGrowthPercent: 30 });
    expect(parseConfig('server: { heap: { maxSemiSpaceMb: 16 } }', 'countersign.yaml', {}).server.heap).toEqual({ maxSemiSpaceMb: 16, oldSpaceGrowthPercent: 30 });
    expect(parseConfig('server: { heap: { oldSpaceGrowthPercent: 0 } }', 'countersign.yaml', {}).server.heap).toEqual({ maxSemiSpaceMb: 8, oldSpaceGrowthPercent: 0 });
  });

  it('refuses sizes out of range, fractions and unknown keys, naming the path', () => {
    expect(problems('server: { heap: { maxSemiSpaceMb: 0 } }')).toContain('server.heap.maxSemiSpaceMb: a whole number of MB from 1 to 64');
    expect(problems('server: { heap: { maxSemiSpaceMb: 128 } }')).toContain('server.heap.maxSemiSpaceMb: a whole number of MB from 1 to 64');
    expect(problems('server: { heap: { maxSemiSpaceMb: 2.5 } }')).toContain('server.heap.maxSemiSpaceMb: a whole number of MB from 1 to 64');
    expect(problems('server: { heap: { oldSpaceGrowthPercent: -1 } }')).toContain('server.heap.oldSpaceGrowthPercent: a whole percentage from 0 to 300');
    expect(problems('server: { heap: { oldSpaceGrowthPercent: 500 } }')).toContain('server.heap.oldSpaceGrowthPercent: a whole percentage from 0 to 300');
    expect(problems('server: { heap: { maxOldSpaceMb: 128 } }')).toContain('server.heap');
  });
});

import { expect, it } from 'vitest';
import { listingProblem } from './tool.ts';

const defs = (...names: string[]) => names.map((name) => ({ name, inputSchema: {} }));

it('refuses a name listed twice, and names one under compatibility normalisation and case', () => {
  expect(listingProblem(defs('a', 'a'))).toBe('lists the tool "a" twice');
  expect(listingProblem(defs('greet', 'gr\uFF45et'))).toContain('one name once normalised');
  expect(listingProblem(defs('greet', 'Greet'))).toContain('one name once normalised');
});

it('refuses names told apart only by characters no reader sees (zero-width, soft hyphen, variation selectors)', () => {
  expect(listingProblem(defs('delete_all', 'delete\u200b_all'))).toContain('one name once normalised');
  expect(listingProblem(defs('read_file', 'read\u00ad_file'))).toContain('one name once normalised');
  expect(listingProblem(defs('run', 'ru\u200dn\ufe0f'))).toContain('one name once normalised');
});

it('lets distinct names through', () => {
  expect(listingProblem(defs('read_file', 'write_file', 'read-file', 'readfile'))).toBeNull();
});

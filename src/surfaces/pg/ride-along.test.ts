import { describe, expect, it } from 'vitest';
import type { WirePart } from '../../core/ports.ts';
import { strayPart } from './ride-along.ts';

const raw = new Uint8Array();
const parse = (statement: string): WirePart => ({ raw, kind: 'parse', statement });
const bind = (statement: string): WirePart => ({ raw, kind: 'bind', statement });
const describeS = (statement: string): WirePart => ({ raw, kind: 'describe', statement });
const describeP: WirePart = { raw, kind: 'describe' };
const close: WirePart = { raw, kind: 'close' };
const execute: WirePart = { raw, kind: 'execute' };

describe('strayPart: what may ride along with an Execute', () => {
  it('takes what drivers send: the Parse, Describe and Bind of the statement executed, Describes of portals, Closes', () => {
    expect(strayPart([parse(''), bind(''), describeP, execute])).toBeUndefined();
    expect(strayPart([close, parse('a'), describeS('a'), bind('a'), describeP, describeS('a'), execute])).toBeUndefined();
    // A statement prepared earlier, bound again; a portal bound earlier, continued.
    expect(strayPart([describeS('a'), bind('a'), execute])).toBeUndefined();
    expect(strayPart([describeP, execute])).toBeUndefined();
  });

  it('finds a Parse or Describe of another statement, an earlier Parse of the bound one, and one after the Bind', () => {
    const lit = parse('lit');
    expect(strayPart([lit, parse(''), bind(''), execute])).toBe(lit);
    const first = parse('');
    expect(strayPart([first, parse(''), bind(''), execute])).toBe(first);
    const after = parse('');
    expect(strayPart([parse(''), bind(''), after, execute])).toBe(after);
    const other = describeS('other');
    expect(strayPart([parse(''), other, bind(''), execute])).toBe(other);
    const old = describeS('a');
    expect(strayPart([old, parse('a'), bind('a'), execute])).toBe(old);
    // No Bind: a portal bound earlier runs, and no statement's Parse or Describe goes with it.
    const alone = describeS('');
    expect(strayPart([alone, execute])).toBe(alone);
  });
});

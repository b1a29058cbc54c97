import { describe, expect, it } from 'vitest';
import { paramFormat, paramText } from './params.ts';

describe('bound parameters as text', () => {
  it('reads text as it is, and the binary forms of bool, int2, int4, int8, float4, float8, bytea, text and varchar', () => {
    expect(paramText(Buffer.from('héllo'), 0, 0)).toBe('héllo');
    expect(paramText(Buffer.from([1]), 1, 16)).toBe('t');
    expect(paramText(Buffer.from([0]), 1, 16)).toBe('f');
    expect(paramText(Buffer.from([0xff, 0xfe]), 1, 21)).toBe('-2');
    expect(paramText(Buffer.from([0, 0, 1, 0]), 1, 23)).toBe('256');
    expect(paramText(Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0]), 1, 20)).toBe('-9223372036854775808');
    expect(paramText(Buffer.from('psycopg'), 1, 25)).toBe('psycopg');
    expect(paramText(Buffer.from('v'), 1, 1043)).toBe('v');
    const f8 = Buffer.alloc(8);
    f8.writeDoubleBE(0.1);
    expect(paramText(f8, 1, 701)).toBe('0.1');
    f8.writeDoubleBE(-0);
    expect(paramText(f8, 1, 701)).toBe('-0');
    f8.writeDoubleBE(-Infinity);
    expect(paramText(f8, 1, 701)).toBe('-Infinity');
    const f4 = Buffer.alloc(4);
    f4.writeFloatBE(1.5);
    expect(paramText(f4, 1, 700)).toBe('1.5');
    expect(paramText(Buffer.from([0xde, 0xad]), 1, 17)).toBe('\\xdead');
  });

  it('refuses a binary value of an unknown or unspecified type, or of the wrong size', () => {
    expect(paramText(Buffer.from([0, 0, 0, 1]), 1, 0)).toBeUndefined();
    expect(paramText(Buffer.from([0, 0, 0, 1]), 1, 701)).toBeUndefined();
    expect(paramText(Buffer.from([0, 0, 0, 1]), 1, 1082)).toBeUndefined();
    expect(paramText(Buffer.from([0, 1]), 1, 23)).toBeUndefined();
    expect(paramText(Buffer.from([2]), 1, 16)).toBeUndefined();
    expect(paramText(Buffer.from([0xc3]), 1, 25)).toBeUndefined();
    expect(paramText(Buffer.from([0x61, 0]), 1, 25)).toBeUndefined();
  });

  it('takes the format of each parameter from the Bind format codes', () => {
    expect(paramFormat([], 2)).toBe(0);
    expect(paramFormat([1], 2)).toBe(1);
    expect(paramFormat([0, 1], 1)).toBe(1);
  });
});

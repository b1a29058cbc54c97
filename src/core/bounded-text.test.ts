import { describe, expect, it } from 'vitest';
import { boundedJson, cutText, PRETTY_DEPTH, previewText } from './bounded-text.ts';

describe('bounded JSON', () => {
  it('pretty-prints small values exactly as JSON.stringify does', () => {
    const v = { a: [1, 'two', null, { b: true }], c: {}, d: [] };
    expect(boundedJson(v, 16_384)).toEqual({ text: JSON.stringify(v, null, 2), cut: false });
  });

  it('stays within its bound for 5,000 levels of nesting, whose naive pretty print is quadratic', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 5000; i++) deep = { k: deep };
    const out = boundedJson(deep, 16_384);
    expect(out.cut).toBe(true);
    expect(out.text.length).toBeLessThanOrEqual(16_384);
    // Past PRETTY_DEPTH it goes on compact: no line is indented deeper than that.
    const widest = Math.max(...out.text.split('\n').map((l) => l.length - l.trimStart().length));
    expect(widest).toBeLessThanOrEqual(2 * PRETTY_DEPTH);
  });

  it('never ends inside a surrogate pair', () => {
    expect(cutText('a😀b', 2)).toEqual({ text: 'a', cut: true });
    expect(boundedJson('😀'.repeat(100), 10).text).toBe(`"${'😀'.repeat(4)}`);
  });
});

describe('previewText', () => {
  it('stops at the character or the line limit, whichever comes first', () => {
    expect(previewText('a\nb\nc', 300, 2)).toEqual({ text: 'a\nb', cut: true });
    expect(previewText('a\nb', 300, 2)).toEqual({ text: 'a\nb', cut: false });
    expect(previewText('abcdef\ng', 3, 8)).toEqual({ text: 'abc', cut: true });
  });
});

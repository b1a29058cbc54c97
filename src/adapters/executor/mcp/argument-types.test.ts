import { describe, expect, it } from 'vitest';
import { argumentTypeMismatch } from './argument-types.ts';

const schema = {
  type: 'object',
  properties: {
    force: { type: 'boolean' },
    keep: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
    ratio: { type: 'number' },
    tags: { type: 'array', items: { type: 'string' } },
    opts: { type: 'object', properties: { depth: { type: ['integer', 'string'] } } },
    free: {},
    either: { anyOf: [{ type: 'string' }, { $ref: '#/$defs/x' }] },
    model: { $ref: '#/$defs/Opts' },
    maybe: { anyOf: [{ $ref: '#/$defs/Opts' }, { type: 'null' }] },
    elsewhere: { $ref: 'https://example.com/schema.json' },
  },
  $defs: { Opts: { type: 'object', properties: { dry: { type: 'boolean' }, inner: { $ref: '#/$defs/Opts' } } } },
};

describe('argument types against the declared inputSchema', () => {
  it('lets values of the declared types through, and whatever the schema does not type', () => {
    expect(argumentTypeMismatch(schema, { force: false, keep: null, ratio: 2, tags: ['a'], opts: { depth: 'all' }, free: [1], either: 7, other: 'x' })).toBeNull();
    expect(argumentTypeMismatch(schema, { keep: 3, ratio: 0.5, opts: { depth: 2 } })).toBeNull();
  });

  it('names the first value of another type, at any depth', () => {
    expect(argumentTypeMismatch(schema, { force: 'true' })).toEqual({ path: 'arguments.force', is: 'string', declared: ['boolean'] });
    expect(argumentTypeMismatch(schema, { force: 1 })).toMatchObject({ path: 'arguments.force', is: 'number' });
    expect(argumentTypeMismatch(schema, { keep: 2.5 })).toMatchObject({ path: 'arguments.keep', declared: ['integer', 'null'] });
    expect(argumentTypeMismatch(schema, { tags: ['a', 1] })).toMatchObject({ path: 'arguments.tags[1]' });
    expect(argumentTypeMismatch(schema, { opts: { depth: true } })).toMatchObject({ path: 'arguments.opts.depth' });
    expect(argumentTypeMismatch(schema, { opts: 'all' })).toMatchObject({ path: 'arguments.opts', is: 'string' });
    // A nested model by its local reference (pydantic's $defs), however deep it nests itself; null where it may be.
    expect(argumentTypeMismatch(schema, { model: { dry: 'false' } })).toMatchObject({ path: 'arguments.model.dry', declared: ['boolean'] });
    expect(argumentTypeMismatch(schema, { model: { inner: { inner: { dry: 1 } } } })).toMatchObject({ path: 'arguments.model.inner.inner.dry' });
    expect(argumentTypeMismatch(schema, { model: { dry: true }, maybe: null, elsewhere: 'x' })).toBeNull();
    expect(argumentTypeMismatch(schema, { maybe: { dry: 'yes' } })).toMatchObject({ path: 'arguments.maybe.dry', declared: ['boolean'] });
    expect(argumentTypeMismatch(schema, { maybe: 'x' })).toMatchObject({ path: 'arguments.maybe', declared: ['object', 'null'] });
    // In another case, as policy reads the name (folded) and a case-insensitive reader binds it.
    expect(argumentTypeMismatch(schema, { FORCE: 'true' })).toMatchObject({ path: 'arguments.FORCE', declared: ['boolean'] });
  });
});

import { describe, expect, it } from 'vitest';
import { argumentNameInOtherCase, argumentTypeMismatch, jsonTextArgument } from './argument-types.ts';

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

  it('reads the members of mappings, tuples and optional lists as pydantic lists them', () => {
    const containers = {
      type: 'object',
      properties: {
        flags: { type: 'object', additionalProperties: { type: 'boolean' } },
        named: { type: 'object', properties: { dry: { type: 'boolean' } }, additionalProperties: { type: 'integer' } },
        pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'boolean' }], items: { type: 'integer' } },
        legacy: { type: 'array', items: [{ type: 'string' }, { type: 'boolean' }], additionalItems: { type: 'null' } },
        limits: { anyOf: [{ type: 'object', additionalProperties: { type: 'integer' } }, { type: 'null' }] },
        checks: { anyOf: [{ type: 'array', items: { type: 'boolean' } }, { type: 'null' }] },
        open: { type: 'object', additionalProperties: true },
      },
    };
    expect(argumentTypeMismatch(containers, { flags: { force: true }, named: { dry: false, n: 2 }, pair: ['a', true, 3], legacy: ['a', false, null], limits: { cpu: 2 }, checks: [true], open: { x: 'y' } })).toBeNull();
    expect(argumentTypeMismatch(containers, { flags: { force: 'true' } })).toEqual({ path: 'arguments.flags.force', is: 'string', declared: ['boolean'] });
    expect(argumentTypeMismatch(containers, { named: { dry: 1 } })).toMatchObject({ path: 'arguments.named.dry', declared: ['boolean'] });
    expect(argumentTypeMismatch(containers, { named: { n: '2' } })).toMatchObject({ path: 'arguments.named.n', declared: ['integer'] });
    expect(argumentTypeMismatch(containers, { pair: ['a', 'yes'] })).toMatchObject({ path: 'arguments.pair[1]', declared: ['boolean'] });
    expect(argumentTypeMismatch(containers, { pair: ['a', true, '3'] })).toMatchObject({ path: 'arguments.pair[2]', declared: ['integer'] });
    expect(argumentTypeMismatch(containers, { legacy: ['a', 'on'] })).toMatchObject({ path: 'arguments.legacy[1]', declared: ['boolean'] });
    expect(argumentTypeMismatch(containers, { legacy: ['a', true, 0] })).toMatchObject({ path: 'arguments.legacy[2]', declared: ['null'] });
    expect(argumentTypeMismatch(containers, { limits: { cpu: '64' } })).toMatchObject({ path: 'arguments.limits.cpu', declared: ['integer'] });
    expect(argumentTypeMismatch(containers, { checks: [true, 'no'] })).toMatchObject({ path: 'arguments.checks[1]', declared: ['boolean'] });
    // Every branch of an allOf, as older pydantic wraps a described nested model; one that refers to itself ends.
    const wrapped = { type: 'object', properties: { opts: { allOf: [{ $ref: '#/$defs/Opts' }], description: 'options' }, loop: { $ref: '#/$defs/Loop' } }, $defs: { Opts: { type: 'object', properties: { force: { type: 'boolean' } } }, Loop: { allOf: [{ $ref: '#/$defs/Loop' }] } } };
    expect(argumentTypeMismatch(wrapped, { opts: { force: true }, loop: { x: 1 } })).toBeNull();
    expect(argumentTypeMismatch(wrapped, { opts: { force: 'true' } })).toMatchObject({ path: 'arguments.opts.force', declared: ['boolean'] });
    expect(argumentTypeMismatch(wrapped, { opts: 'x' })).toMatchObject({ path: 'arguments.opts', declared: ['object'] });
  });

  it('finds JSON text where the tool takes more than a plain string, as FastMCP pre-parses it', () => {
    const fast = {
      type: 'object',
      properties: {
        paths: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], title: 'Paths' },
        filter: { anyOf: [{ type: 'string' }, { type: 'null' }], title: 'Filter' },
        anything: { title: 'Anything' },
        bare: { title: 'bare', type: 'string' },
        content: { title: 'Content', type: 'string' },
      },
    };
    expect(jsonTextArgument(fast, { paths: '["/a"]' })).toBe('arguments.paths');
    expect(jsonTextArgument(fast, { paths: ' \n{"a":1}' })).toBe('arguments.paths');
    expect(jsonTextArgument(fast, { filter: 'null' })).toBe('arguments.filter');
    expect(jsonTextArgument(fast, { anything: '[1]' })).toBe('arguments.anything');
    // An unannotated parameter (FastMCP titles it by its own name) takes anything; Python reads NaN in a list.
    expect(jsonTextArgument(fast, { bare: '{"mode":"apply"}' })).toBe('arguments.bare');
    expect(jsonTextArgument(fast, { paths: '[NaN, "/srv/s"]' })).toBe('arguments.paths');
    // What json.loads reads as a string, a number or a boolean, or not at all, is kept by FastMCP as the string.
    for (const text of ['/a', '"[1]"', '5', 'true', '[draft] notes', 'nothing', '{oops']) expect(jsonTextArgument(fast, { paths: text, filter: text })).toBeNull();
    // A plain string keeps any text, and names the tool does not list are the upstream's.
    expect(jsonTextArgument(fast, { content: '{"a":[1,null]}', other: '[1]' })).toBeNull();
  });
});

describe('argumentNameInOtherCase', () => {
  const schema = { type: 'object', properties: { dryRun: { type: 'boolean' }, opts: { $ref: '#/$defs/Opts' }, tags: { type: 'object', additionalProperties: { type: 'boolean' } } }, $defs: { Opts: { type: 'object', properties: { force: { type: 'boolean' } } } } };
  it('finds a declared name written in another case, at any depth the schema describes', () => {
    expect(argumentNameInOtherCase(schema, { DRYRUN: true })).toEqual({ path: 'arguments.DRYRUN', declared: 'dryRun' });
    expect(argumentNameInOtherCase(schema, { dryrun: true })).toEqual({ path: 'arguments.dryrun', declared: 'dryRun' });
    expect(argumentNameInOtherCase(schema, { dryRun: true, opts: { Force: true } })).toEqual({ path: 'arguments.opts.Force', declared: 'force' });
  });
  it('leaves names written as declared, and names the schema does not declare', () => {
    expect(argumentNameInOtherCase(schema, { dryRun: false, opts: { force: true }, extra: 1, tags: { Prod: true } })).toBeNull();
  });
});

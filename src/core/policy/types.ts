/**
 * The declared shape of what a condition reads, in a small type language
 * that both checks at load derive from: the field-path check (which names the
 * known fields and suggests the closest) and CEL's own type check. Where the
 * gateway controls a value (facts, the connection, the principal's view) its
 * fields are declared; what an agent or an issuer controls (input, claims) is
 * `dyn`, of any shape.
 */

export type VarType =
  | { readonly kind: 'scalar'; readonly cel: 'string' | 'bool' | 'int' | 'double' | 'timestamp' }
  | { readonly kind: 'dyn' }
  | { readonly kind: 'list'; readonly of: VarType }
  /** A map with string keys. */
  | { readonly kind: 'map'; readonly of: VarType }
  | { readonly kind: 'object'; readonly name: string; readonly fields: Readonly<Record<string, VarType>> }
  /** The type, or null. */
  | { readonly kind: 'nullable'; readonly of: VarType };

export const STRING: VarType = { kind: 'scalar', cel: 'string' };
export const BOOL: VarType = { kind: 'scalar', cel: 'bool' };
export const TIMESTAMP: VarType = { kind: 'scalar', cel: 'timestamp' };
export const DYN: VarType = { kind: 'dyn' };
export const listOf = (of: VarType): VarType => ({ kind: 'list', of });
export const mapOf = (of: VarType): VarType => ({ kind: 'map', of });
export const nullable = (of: VarType): VarType => ({ kind: 'nullable', of });

/**
 * An object type. `fields` is usually written `satisfies FieldsOf<T>` so that
 * a field added to the TypeScript interface without a declaration here (or the
 * reverse) does not compile.
 *
 * @example
 * objectType('HttpFacts', { method: STRING, path: STRING, query: mapOf(listOf(STRING)) } satisfies FieldsOf<HttpFacts>);
 */
export const objectType = (name: string, fields: Readonly<Record<string, VarType>>): VarType => ({ kind: 'object', name, fields });

/** Exactly one declaration per field of T. */
export type FieldsOf<T> = { readonly [K in keyof T]-?: VarType };

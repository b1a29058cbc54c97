/**
 * The digest binds an approval to one exact action: SHA-256 over the RFC 8785
 * canonical JSON of the principal, the connection and the input. The reason is
 * left out on purpose: it explains the action but does not change what runs.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { Action } from './action.ts';
import type { ConnectionInfo } from './connection.ts';
import type { Principal } from './principal.ts';

// The package is CommonJS (`module.exports = fn`) but its typings declare an ES
// default export, which NodeNext resolution reads as the module object.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** RFC 8785 (JCS) canonical form of a JSON value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * @example
 * actionDigest(principal, connection, action); // 'sha256:9f2c…'
 */
export function actionDigest(principal: Principal, connection: ConnectionInfo, action: Action): string {
  const bound = {
    principal: { id: principal.id, kind: principal.kind, actsFor: principal.actsFor },
    connection: { name: connection.name, kind: connection.kind },
    operation: action.operation,
    input: action.input,
  };
  return `sha256:${sha256Hex(canonicalJson(bound))}`;
}

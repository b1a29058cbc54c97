/**
 * Error texts with the values they quote left out. A CEL error quotes the value
 * it failed on; a PostgreSQL error the input it could not read (`invalid input
 * syntax for type integer: "s3cret"`) or a row's key (`Key (email)=(x@y.z)`).
 * Either may be a value the audit log masks or a reviewer may not read; the
 * kind of failure says enough. Every quoted span goes, names included: an
 * allow-list of safe quotes would have to know every message.
 */

/**
 * The first line of `text`, every "…", `…` and key or row value in it replaced by an ellipsis.
 *
 * @example
 * withoutQuotedValues('invalid input syntax for type integer: "s3cret"'); // 'invalid input syntax for type integer: "…"'
 * withoutQuotedValues('Key (email)=(a@b.c) already exists.'); // 'Key (…)=(…)'
 */
export function withoutQuotedValues(text: string): string {
  return (text.split('\n')[0] ?? '')
    .replace(/"(?:[^"\\]|\\.)*"?/g, '"…"')
    .replace(/`[^`]*`?/g, '`…`')
    // [\s\S]* reaches the end from the first match, so no other start is tried: `.*$` failed on a \r or \u2028 from
    // every `Key (` before it, quadratic on a long error text, and left the value in.
    .replace(/\bKey \([\s\S]*$/, 'Key (…)=(…)')
    .replace(/\bFailing row contains \([\s\S]*$/, 'Failing row contains (…)');
}

/**
 * A connection's target as a fingerprint (ConnectionHandle.target): what decides where, and as whom, its actions
 * run. An http connection's URL; an exec connection's binary and working directory; a postgres connection's URL
 * without its password (host, port, database, user and parameters such as `host=` stay); an mcp connection's
 * command or URL. Credentials (passwords, header values, environment values) are left out: the fingerprint is
 * stored with every request and must not help anyone guess one. Changing them is not moving the target.
 */
import { canonicalJson, sha256Hex } from '../core/digest.ts';
import type { ConnectionConfig } from '../config/schema.ts';

function postgresWithoutPassword(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.searchParams.delete('password');
    return u.toString();
  } catch {
    // The schema takes only postgres:// URLs; one the URL parser refuses is kept out rather than stored.
    return 'unparsed';
  }
}

/**
 * @example
 * connectionTarget({ name: 'ops-api', kind: 'http', url: 'https://ops.example.com/api', … }); // 'sha256:…'
 */
export function connectionTarget(c: ConnectionConfig): string {
  const where =
    c.kind === 'http'
      ? { kind: c.kind, url: c.url }
      : c.kind === 'exec'
        ? { kind: c.kind, command: c.command, cwd: c.cwd ?? null }
        : c.kind === 'postgres'
          ? { kind: c.kind, url: postgresWithoutPassword(c.url) }
          : { kind: c.kind, command: c.command ?? null, url: c.url ?? null };
  return `sha256:${sha256Hex(canonicalJson(where))}`;
}

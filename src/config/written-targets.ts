/**
 * Each connection's target as the configuration file writes it: its `url`, `command`, `cwd` and `args` before `${VAR}`
 * expansion. Replicas and workers of one file share it whatever their environment puts in (a per-replica host, a
 * password), and an edit of the file that points a connection elsewhere changes it (adapters/connection-target.ts).
 */
import type { ConnectionConfig } from './schema.ts';

/** The fields of a connection that say where it runs, as written. */
export interface WrittenTarget {
  readonly url?: string;
  readonly command?: string;
  readonly cwd?: string;
  /** An mcp command's arguments: `npx server --db prod` and `--db staging` are two targets. */
  readonly args?: readonly string[];
  /** A command's environment (exec, stdio mcp): `KUBECONFIG: /etc/kube/prod.yaml` points it elsewhere. */
  readonly env?: Readonly<Record<string, string>>;
}

const FIELDS = ['url', 'command', 'cwd'] as const;

/**
 * By connection name, the target fields as written in `raw` (the parsed document before expansion), whose
 * `connections` the schema has accepted as `connections`, in the same order.
 *
 * @example
 * writtenTargets({ connections: [{ name: 'db', url: 'postgres://${DB_HOST}/orders' }] }, config.connections); // { db: { url: 'postgres://${DB_HOST}/orders' } }
 */
export function writtenTargets(raw: unknown, connections: readonly ConnectionConfig[]): Record<string, WrittenTarget> {
  const written = raw !== null && typeof raw === 'object' ? (raw as { connections?: unknown }).connections : undefined;
  const out: Record<string, WrittenTarget> = {};
  connections.forEach((c, i) => {
    const entry: unknown = Array.isArray(written) ? written[i] : undefined;
    const target: { -readonly [K in keyof WrittenTarget]: WrittenTarget[K] } = {};
    const fields = entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>) : {};
    for (const f of FIELDS) {
      const v = fields[f];
      if (typeof v === 'string') target[f] = v;
    }
    if (Array.isArray(fields['args']) && fields['args'].every((a) => typeof a === 'string')) target.args = fields['args'] as string[];
    const env = fields['env'];
    if (env !== null && typeof env === 'object' && !Array.isArray(env) && Object.values(env).every((v) => typeof v === 'string')) target.env = env as Record<string, string>;
    out[c.name] = target;
  });
  return out;
}

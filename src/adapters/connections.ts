/**
 * Builds a connection handle per configured connection, each from its kind's adapter. The SQL executor (pg, the
 * parser, the wire relay) loads only when a `postgres` connection is configured.
 */
import { argCredentials, urlPathTokens } from '../config/held-secrets.ts';
import type { ConnectionInfo } from '../core/connection.ts';
import { toolAcceptors } from '../core/mcp/acceptors.ts';
import type { ConnectionHandle, Connections } from '../core/ports.ts';
import type { ConnectionConfig } from '../config/schema.ts';
import { connectionTarget } from './connection-target.ts';
import type { WrittenTarget } from '../config/written-targets.ts';

/** The SQL executor with its parser loaded (module loads are cached, so every postgres connection shares them). */
async function sqlExecutor(): Promise<typeof import('./executor/sql/index.ts')> {
  const sql = await import('./executor/sql/index.ts');
  await sql.loadSqlParser();
  return sql;
}

/**
 * `traceHeaders`: the W3C trace context to send with an HTTP upstream call (tracing on). `secrets`: values of an mcp
 * connection's args or url, or an http connection's url, that came from the environment (Config.connectionSecrets),
 * scrubbed like its env and headers. `heldSecrets`: every secret the gateway holds (config/held-secrets.ts and its key
 * files), scrubbed too from what the commands of exec connections and stdio MCP servers print, which run as the
 * gateway's OS user and can read them. `written`: each connection's target fields as the file writes them (Config.writtenTargets).
 */
export async function createConnections(
  configs: readonly ConnectionConfig[],
  opts: { traceHeaders?: () => Record<string, string>; secrets?: Readonly<Record<string, readonly string[]>>; heldSecrets?: () => readonly string[]; written?: Readonly<Record<string, WrittenTarget>> } = {},
): Promise<Connections & { close(): Promise<void> }> {
  const handles = new Map<string, ConnectionHandle & { close?: () => Promise<void> }>();
  for (const c of configs) {
    switch (c.kind) {
      // Each kind's executor is loaded at its first connection (like postgres's above): a process whose config has
      // none of a kind does not load its client (undici for http, the MCP SDK's for mcp).
      case 'http': {
        const { createHttpConnection } = await import('./executor/http/connection.ts');
        handles.set(c.name, createHttpConnection({ ...c, ...(opts.traceHeaders ? { traceHeaders: opts.traceHeaders } : {}), secrets: [...(opts.secrets?.[c.name] ?? []), ...urlPathTokens(c.url)] }));
        break;
      }
      case 'exec': {
        const { createExecConnection } = await import('./executor/exec/connection.ts');
        handles.set(c.name, createExecConnection({ ...c, ...(opts.heldSecrets ? { heldSecrets: opts.heldSecrets } : {}) }));
        break;
      }
      case 'postgres': {
        const sql = await sqlExecutor();
        handles.set(
          c.name,
          sql.createPostgresConnection({
            name: c.name,
            url: c.url,
            tags: c.tags,
            statementTimeoutMs: c.statementTimeoutMs,
            maxRows: c.maxRows,
            secretColumns: c.secretColumns,
            readOnlyFunctions: c.readOnlyFunctions,
            poolSize: c.poolSize,
            preview: c.preview,
            undo: c.undo,
            sessionCheckCache: c.sessionCheckCache,
          }),
        );
        break;
      }
      case 'mcp': {
        // Nothing starts or connects here: the first listing (at the gateway's start) does.
        const { createMcpConnection } = await import('./executor/mcp/connection.ts');
        const common = {
          name: c.name,
          tags: c.tags,
          timeoutMs: c.timeoutMs,
          waitSeconds: c.waitSeconds,
          acceptors: toolAcceptors(c.pinning),
          // A credential the file writes on the server's command line (a header line, a NAME=value setting) is its own too.
          secrets: [...(opts.secrets?.[c.name] ?? []), ...urlPathTokens(c.url), ...argCredentials(c.args)],
        };
        handles.set(
          c.name,
          createMcpConnection(
            c.command !== undefined
              ? { ...common, command: c.command, args: c.args, env: c.env, ...(c.cwd ? { cwd: c.cwd } : {}), ...(opts.heldSecrets ? { heldSecrets: opts.heldSecrets } : {}) }
              : { ...common, url: c.url ?? '', headers: c.headers },
          ),
        );
        break;
      }
    }
  }
  // Each handle carries its target, which a request records at submission and must find again when it runs.
  for (const c of configs) Object.assign(handles.get(c.name) ?? {}, { target: connectionTarget(c, opts.written?.[c.name]) });
  const infos: ConnectionInfo[] = [...handles.values()].map((h) => h.info);
  return {
    get: (name) => handles.get(name),
    list: () => infos,
    async close() {
      await Promise.all([...handles.values()].map((h) => h.close?.()));
    },
  };
}

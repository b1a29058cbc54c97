/**
 * `countersign connections install-ddl-epoch <connection>`: prints the SQL
 * that installs the DDL counter a postgres connection's `sessionCheckCache`
 * reads (README "Session check cache"), for its schema and granted to the
 * role of its URL. It only prints: a superuser of the database runs it
 * (`… | psql -v ON_ERROR_STOP=1 <database>`), since only a superuser may
 * create event triggers and the gateway's own role should not be one.
 */
import { installDdlEpochSql } from '../adapters/executor/sql/guard-cache.ts';
import { loadConfig } from '../config/load.ts';
import { UsageError } from './usage-error.ts';
import type { CliIo } from './io.ts';

export function installDdlEpochCommand(path: string, name: string, io: CliIo): number {
  const config = loadConfig(path, io.env);
  const c = config.connections.find((x) => x.name === name);
  if (!c || c.kind !== 'postgres') throw new UsageError(`${name} is not a postgres connection of ${path}`);
  const schema = c.sessionCheckCache ? c.sessionCheckCache.schema : 'countersign';
  const role = decodeURIComponent(new URL(c.url).username);
  const note = c.sessionCheckCache ? '' : `-- ${name} has no sessionCheckCache yet: add \`sessionCheckCache: true\` to it after running this.\n`;
  io.stdout.write(`-- The DDL counter of ${name}'s session check cache; run as a superuser on its database.\n${note}${installDdlEpochSql(schema, role || undefined)}\n`);
  return 0;
}

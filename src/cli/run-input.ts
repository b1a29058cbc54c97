/**
 * What `countersign run` submits, from its flags: exactly one of `--sql`,
 * `--http`, `--tool` or an argv after `--`, shaped as the gateway's input for
 * that kind of connection (core/action.ts). The gateway checks the input
 * against the connection's kind; this only refuses what cannot be meant.
 */
import { readFileSync } from 'node:fs';
import type { ActionRequest } from '../surfaces/sdk/client.ts';
import { UsageError } from './usage-error.ts';

export interface RunInputOptions {
  sql?: string;
  /** METHOD and PATH. */
  http?: string[];
  body?: string;
  header?: string[];
  tool?: string;
  args?: string;
  reason?: string;
}

/** Reads `--body`: `@file` is the file, `@-` standard input, anything else the text itself. */
function bodyText(body: string, readStdin: () => string): string {
  if (body === '@-') return readStdin();
  if (!body.startsWith('@')) return body;
  try {
    return readFileSync(body.slice(1), 'utf8');
  } catch (e) {
    throw new UsageError(`--body ${body}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** A JSON object or array is sent as JSON (the gateway sets content-type: application/json unless a header does); anything else as text. */
function bodyValue(text: string): unknown {
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object') return v;
  } catch {
    /* text */
  }
  return text;
}

function headers(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list) {
    const at = h.indexOf(':');
    const name = at > 0 ? h.slice(0, at).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`--header ${JSON.stringify(h)}: expected NAME:VALUE`);
    if (Object.keys(out).some((k) => k.toLowerCase() === name.toLowerCase())) throw new UsageError(`--header ${name} is given twice`);
    out[name] = h.slice(at + 1).trim();
  }
  return out;
}

/**
 * The action to submit, or a UsageError saying what is wrong.
 *
 * @example
 * runAction('orders-db', [], { sql: 'select 1', reason: 'health check' }); // { connection: 'orders-db', input: { sql: 'select 1' }, reason: 'health check' }
 */
export function runAction(connection: string, argv: readonly string[], o: RunInputOptions, readStdin: () => string = () => readFileSync(0, 'utf8')): ActionRequest {
  const given = [o.sql !== undefined && '--sql', o.http !== undefined && '--http', o.tool !== undefined && '--tool', argv.length > 0 && 'a command after --'].filter((x): x is string => typeof x === 'string');
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? 'say what to run: --sql "…" (postgres), --http METHOD PATH (http), --tool NAME (mcp) or -- argv… (exec)'
        : `give exactly one of --sql, --http, --tool or a command after --, not ${given.join(' and ')}`,
    );
  }
  if (o.http === undefined && (o.body !== undefined || o.header !== undefined)) throw new UsageError('--body and --header go with --http');
  if (o.tool === undefined && o.args !== undefined) throw new UsageError('--args goes with --tool');
  const reason = o.reason?.trim();
  if (!reason) throw new UsageError('say why with --reason "…" (or COUNTERSIGN_REASON): reviewers read it');

  let input: unknown;
  if (o.sql !== undefined) {
    if (!o.sql.trim()) throw new UsageError('--sql: the statement is empty');
    input = { sql: o.sql };
  } else if (o.http !== undefined) {
    if (o.http.length !== 2) throw new UsageError(`--http takes METHOD PATH (two words), not ${o.http.length}: --http GET /invoices`);
    const [method, path] = o.http as [string, string];
    if (!/^[A-Za-z]+$/.test(method)) throw new UsageError(`--http ${method}: not an HTTP method`);
    if (!path.startsWith('/')) throw new UsageError(`--http ${method} ${path}: the path starts with /`);
    input = {
      method: method.toUpperCase(),
      path,
      ...(o.header?.length ? { headers: headers(o.header) } : {}),
      ...(o.body !== undefined ? { body: bodyValue(bodyText(o.body, readStdin)) } : {}),
    };
  } else if (o.tool !== undefined) {
    let args: unknown = {};
    if (o.args !== undefined) {
      try {
        args = JSON.parse(o.args);
      } catch {
        throw new UsageError('--args: not JSON; give the tool\'s arguments as an object: --args \'{"path": "/tmp/x"}\'');
      }
      if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new UsageError('--args: a JSON object of the tool\'s arguments');
    }
    input = { tool: o.tool, arguments: args };
  } else {
    input = { args: [...argv] };
  }
  return { connection, input, reason };
}
